"""The profile tools, resources and the recall prompt through the SDK's in-process client (offline
extractor, HashEmbedder)."""

from __future__ import annotations

import json

import pytest
from mcp import Client
from mcp_types import Implementation

from mem_mcp.extraction.offline import OfflineExtractor
from mem_mcp.server import build_server
from mem_mcp.service import MemoryService

from fakes import HashEmbedder

PROFILE_TOOLS = {
    "create_profile_schema",
    "list_profile_schemas",
    "get_profile_schema",
    "update_profile_schema",
    "delete_profile_schema",
    "get_user_profile",
}
BASIC = [
    {"name": "年龄", "description": "用户年龄"},
    {"name": "爱好", "description": "用户的兴趣爱好"},
    {"name": "职业", "description": "用户职业"},
    {"name": "居住地", "description": "用户目前居住的城市", "default_value": "未知"},
]
SEED = [
    {"role": "user", "content": "我今年28岁，是一名软件工程师。周末喜欢踢足球。"},
    {"role": "assistant", "content": "很高兴认识你!"},
]


@pytest.fixture
def server(memory_settings):
    settings = memory_settings.model_copy(update={"tools": "all"})  # the schema tools are operator tools
    service = MemoryService(settings, embedder=HashEmbedder(), extractor=OfflineExtractor())
    yield build_server(settings, service)
    service.close()


def _client(server):
    return Client(server, mode="legacy", client_info=Implementation(name="claude-ai", version="1"))


async def ok(client, tool, args):
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content[0].text
    return result.structured_content


async def test_profile_tools_are_listed_with_descriptions_and_bounds(server):
    async with _client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert PROFILE_TOOLS <= set(tools)
    for name in PROFILE_TOOLS:
        assert tools[name].description and len(tools[name].description) > 40, name
        assert tools[name].output_schema, name
    create = tools["create_profile_schema"].input_schema
    assert create["required"] == ["name", "attributes"] and create["properties"]["attributes"]["maxItems"] == 100
    add = tools["add_memories"].input_schema["properties"]
    assert {"profile_schema_id", "profile_schema"} <= set(add)
    update = tools["update_profile_schema"].input_schema["properties"]
    assert {"profile_schema_id", "name", "description", "attribute_operations"} <= set(update)


async def test_schema_crud_profile_and_history_over_mcp(server):
    async with _client(server) as client:
        schema = await ok(client, "create_profile_schema", {"name": "用户基础画像", "attributes": BASIC})
        sid = schema["profile_schema_id"]
        assert [a["name"] for a in schema["attributes"]] == ["年龄", "爱好", "职业", "居住地"]
        listed = await ok(client, "list_profile_schemas", {})
        assert listed["total"] == 1 and listed["profile_schemas"][0]["attribute_count"] == 4

        added = await ok(client, "add_memories", {"messages": SEED, "profile_schema_id": sid})
        assert {(e["name"], e["value"]) for e in added["profile_events"]} == {
            ("年龄", "28岁"),
            ("职业", "软件工程师"),
            ("爱好", "踢足球"),
        }
        # The seed's spelling works too.
        await ok(
            client, "add_memories", {"messages": [{"role": "user", "content": "我搬到上海了"}], "profile_schema": sid}
        )
        await ok(
            client,
            "add_memories",
            {"messages": [{"role": "user", "content": "我搬到杭州了"}], "profile_schema_id": sid},
        )

        profile = await ok(client, "get_user_profile", {"profile_schema_id": sid, "include_history": True})
        attrs = {a["name"]: a for a in profile["attributes"]}
        assert attrs["年龄"]["value"] == "28岁" and attrs["爱好"]["value"] == "踢足球"
        assert attrs["居住地"]["value"] == "杭州" and attrs["居住地"]["default_value"] == "未知"
        assert [h["value"] for h in attrs["居住地"]["history"]] == ["上海", "杭州"]

        ids = {a["name"]: a["attribute_id"] for a in schema["attributes"]}
        updated = await ok(
            client,
            "update_profile_schema",
            {
                "profile_schema_id": sid,
                "attribute_operations": [{"op": "add", "name": "宠物"}, {"op": "delete", "attribute_id": ids["爱好"]}],
            },
        )
        assert [a["name"] for a in updated["attributes"]] == ["年龄", "职业", "居住地", "宠物"]
        fresh = await ok(client, "get_user_profile", {"profile_schema_id": sid})
        pet = next(a for a in fresh["attributes"] if a["name"] == "宠物")
        # Unknown: no value, no updated_at, no history key at all.
        assert set(pet) == {"attribute_id", "name", "description", "source"}
        assert (await ok(client, "get_profile_schema", {"profile_schema_id": sid}))["attributes"] == updated[
            "attributes"
        ]

        gone = await ok(client, "delete_profile_schema", {"profile_schema_id": sid})
        assert gone["deleted"] and gone["values_deleted"] == 4  # 年龄, 职业, 居住地 x2
        assert (await ok(client, "list_profile_schemas", {}))["total"] == 0


@pytest.mark.parametrize(
    ("tool", "args", "code", "field"),
    [
        (
            "create_profile_schema",
            {"name": "s", "attributes": [{"name": "姓名"}, {"name": "名字"}]},
            "DUPLICATE_ATTRIBUTE",
            "attributes",
        ),
        ("create_profile_schema", {"name": "s", "attributes": []}, "EMPTY_SCHEMA", "attributes"),
        ("create_profile_schema", {"name": "s", "attributes": [{"description": "no name"}]}, "INVALID_ARGUMENT", None),
        ("get_profile_schema", {"profile_schema_id": "ps_missing"}, "PROFILE_SCHEMA_NOT_FOUND", "profile_schema_id"),
        ("get_user_profile", {"profile_schema_id": "ps_missing"}, "PROFILE_SCHEMA_NOT_FOUND", "profile_schema_id"),
        (
            "add_memories",
            {"messages": SEED, "profile_schema_id": "ps_missing"},
            "PROFILE_SCHEMA_NOT_FOUND",
            "profile_schema_id",
        ),
        (
            "update_profile_schema",
            {"profile_schema_id": "ps_missing", "name": "x"},
            "PROFILE_SCHEMA_NOT_FOUND",
            "profile_schema_id",
        ),
    ],
)
async def test_bad_profile_input_is_a_typed_tool_error(server, tool, args, code, field):
    async with _client(server) as client:
        result = await client.call_tool(tool, args)
        assert result.is_error
        error = result.meta["error"]
        assert error["code"] == code and result.content[0].text.startswith(code)
        if field:
            assert error["field"] == field
        assert (await client.call_tool("list_messages", {})).structured_content["messages"] == []


async def test_synonym_error_says_why(server):
    async with _client(server) as client:
        result = await client.call_tool(
            "create_profile_schema", {"name": "s", "attributes": [{"name": "年龄"}, {"name": "岁数"}]}
        )
        message = result.meta["error"]["message"]
        assert "年龄" in message and "岁数" in message and "extraction" in message


async def test_unknown_attribute_id_over_mcp(server):
    async with _client(server) as client:
        sid = (await ok(client, "create_profile_schema", {"name": "s", "attributes": BASIC}))["profile_schema_id"]
        result = await client.call_tool(
            "update_profile_schema",
            {"profile_schema_id": sid, "attribute_operations": [{"op": "delete", "attribute_id": "attr_nope"}]},
        )
        assert result.is_error and result.meta["error"]["code"] == "ATTRIBUTE_NOT_FOUND"


async def test_profile_resources_and_the_recall_prompt(server):
    async with _client(server) as client:
        sid = (await ok(client, "create_profile_schema", {"name": "用户基础画像", "attributes": BASIC}))[
            "profile_schema_id"
        ]
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        assert {
            "memory://profiles/{profile_schema_id}",
            "memory://profiles/{profile_schema_id}/{tenant_id}",
        } <= templates

        empty = await client.get_prompt("recall_user_context", {"topic": "工作"})
        assert "no saved memories" in empty.messages[0].content.text

        await ok(client, "add_memories", {"messages": SEED, "profile_schema_id": sid})
        own = json.loads((await client.read_resource(f"memory://profiles/{sid}")).contents[0].text)
        assert own["tenant_id"] == "default"
        assert {a["name"]: a.get("value") for a in own["attributes"]} == {
            "年龄": "28岁",
            "爱好": "踢足球",
            "职业": "软件工程师",
            "居住地": None,
        }
        other = json.loads((await client.read_resource(f"memory://profiles/{sid}/bob")).contents[0].text)
        assert other["tenant_id"] == "bob" and all("value" not in a for a in other["attributes"])
        same = json.loads((await client.read_resource(f"memory://profiles/{sid}/default")).contents[0].text)
        assert same["attributes"] == own["attributes"]

        prompt = (await client.get_prompt("recall_user_context", {"topic": "工作"})).messages[0].content.text
        assert "The user's profile:" in prompt
        assert "- 年龄: 28岁" in prompt and "- 职业: 软件工程师" in prompt and "- 爱好: 踢足球" in prompt
        assert "居住地" not in prompt  # unknown attributes are left out
