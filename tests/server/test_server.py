"""The MCP adapter through the SDK's in-process client (HashEmbedder; the stdio e2e tests use the real
model). Asserts on tool listings, isError, structuredContent, resources and prompts."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp_types import Implementation

from mem_mcp.server import build_server
from mem_mcp.service import MemoryService

from fakes import HashEmbedder, NoopExtractor

TOOLS = {
    "get_request",
    "retry_request",
    "create_memory_store",
    "get_memory_store",
    "list_memory_stores",
    "update_memory_store",
    "delete_memory_store",
    "add_memories",
    "search_memories",
    "list_memories",
    "get_memory",
    "update_memory",
    "delete_memory",
    "memory_history",
    "list_messages",
    "list_requests",
    "export_memories",
    "memory_stats",
    "create_profile_schema",
    "list_profile_schemas",
    "get_profile_schema",
    "update_profile_schema",
    "delete_profile_schema",
    "get_user_profile",
}


@pytest.fixture
def server(memory_settings):
    # Every tool (MEM_MCP_TOOLS=all): this module covers the operator tools too; test_server_tools.py the default set.
    settings = memory_settings.model_copy(update={"tools": "all"})
    service = MemoryService(settings, embedder=HashEmbedder(), extractor=NoopExtractor())
    yield build_server(settings, service)
    service.close()


def _client(server):
    return Client(server, mode="legacy", client_info=Implementation(name="claude-ai", version="1"))


async def test_tools_are_listed_with_descriptions_and_schemas(server):
    async with _client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description and len(tool.description) > 30, tool.name
        assert tool.output_schema, tool.name
    search = tools["search_memories"].input_schema["properties"]
    assert {
        "query",
        "messages",
        "top_k",
        "min_score",
        "types",
        "filter",
        "order_by",
        "offset",
        "rerank",
        "include_superseded",
        "store",
        "scope",
    } <= set(search)
    assert (search["top_k"].get("minimum"), search["top_k"].get("maximum")) == (1, 50)  # the bounds, not the prose
    # The bounds come from models.py's aliases, the ones the service checks: search paging stops at 10,000.
    from mem_mcp.models import SearchOffset, TopK

    assert search["offset"].get("maximum") == SearchOffset.__metadata__[0].metadata[1].le == 10_000
    assert TopK.__metadata__[0].metadata[1].le == 50
    assert {"text", "messages", "metadata", "sync", "store", "scope"} <= set(
        tools["add_memories"].input_schema["properties"]
    )


async def test_add_search_update_history_delete_over_mcp(server):
    async with _client(server) as client:
        added = await client.call_tool("add_memories", {"text": "用户喜欢喝咖啡", "metadata": {"source": "chat"}})
        assert not added.is_error
        event = added.structured_content["events"][0]
        assert event["event"] == "ADD"

        found = await client.call_tool("search_memories", {"query": "咖啡"})
        hit = found.structured_content["results"][0]
        assert hit["text"] == "用户喜欢喝咖啡" and 0 <= hit["score"] <= 1 and hit["metadata"] == {"source": "chat"}
        assert "scope" not in hit and "tags" not in hit  # the compact shape; detail="full" has every field
        memory = (await client.call_tool("get_memory", {"memory_id": hit["id"]})).structured_content
        # The connection filled the scope: the client's name as agent, a per-connection run.
        assert memory["scope"]["agent_id"] == "claude-ai" and memory["scope"]["run_id"].startswith("run-")

        scope = memory["scope"]
        upd = await client.call_tool("update_memory", {"memory_id": memory["id"], "text": "用户只喝茶", "scope": scope})
        assert upd.structured_content["events"][0]["old_text"] == "用户喜欢喝咖啡"
        hist = await client.call_tool("memory_history", {"memory_id": memory["id"], "scope": scope})
        assert [e["event"] for e in hist.structured_content["entries"]] == ["ADD", "UPDATE"]
        got = await client.call_tool("get_memory", {"memory_id": memory["id"]})  # same connection: default scope fits
        assert got.structured_content["text"] == "用户只喝茶"

        deleted = await client.call_tool("delete_memory", {"memory_id": memory["id"], "scope": scope})
        assert deleted.structured_content["events"][0]["event"] == "DELETE"
        listed = await client.call_tool("list_memories", {})
        assert listed.structured_content["total"] == 0

        log = await client.call_tool("list_requests", {"operation": "AddMemories"})
        assert log.structured_content["requests"][0]["actor"] == "claude-ai"


@pytest.mark.parametrize(
    ("tool", "args", "code", "field"),
    [
        ("add_memories", {"text": "   "}, "EMPTY_TEXT", "text"),
        ("add_memories", {"text": "x" * 9000}, "TEXT_TOO_LONG", "text"),
        ("add_memories", {"text": "ok", "store": "nope"}, "STORE_NOT_FOUND", "store"),
        ("search_memories", {"query": "x", "top_k": 0}, "INVALID_ARGUMENT", "top_k"),
        ("search_memories", {"query": "x", "top_k": 1000}, "INVALID_ARGUMENT", "top_k"),
        ("search_memories", {"query": "x", "filter": {"colour": "red"}}, "INVALID_FILTER", "filter.colour"),
        ("search_memories", {"query": "x", "filter": {"type": {"$like": "a"}}}, "INVALID_FILTER", None),
        ("get_memory", {"memory_id": "m", "scope": {"tenant_id": "*"}}, "INVALID_SCOPE", "scope.tenant_id"),
        ("delete_memory", {"memory_id": "m", "scope": {"agent_id": "a*"}}, "INVALID_SCOPE", "scope.agent_id"),
        ("get_memory", {"memory_id": "mem_missing"}, "MEMORY_NOT_FOUND", "memory_id"),
        ("add_memories", {"messages": [{"role": "robot", "content": "hi"}]}, "INVALID_ARGUMENT", None),
    ],
)
async def test_bad_input_is_a_typed_tool_error_and_writes_nothing(server, tool, args, code, field):
    async with _client(server) as client:
        result = await client.call_tool(tool, args)
        assert result.is_error
        error = result.meta["error"]
        assert error["code"] == code
        assert result.content[0].text.startswith(code)
        if field:
            assert error["field"] == field
        assert (await client.call_tool("list_memories", {})).structured_content["total"] == 0


async def test_stores_over_mcp(server):
    async with _client(server) as client:
        made = await client.call_tool("create_memory_store", {"name": "work", "description": "job"})
        assert made.structured_content["name"] == "work"
        names = [s["name"] for s in (await client.call_tool("list_memory_stores", {})).structured_content["stores"]]
        assert names == ["default", "work"]
        await client.call_tool("add_memories", {"text": "uses vim", "store": "work"})
        assert (await client.call_tool("get_memory_store", {"store": "work"})).structured_content["memory_count"] == 1
        upd = await client.call_tool("update_memory_store", {"store": "work", "short_term_ttl": 3})
        assert upd.structured_content["short_term_ttl"] == 3
        gone = await client.call_tool("delete_memory_store", {"store": "work"})
        assert gone.structured_content["memories_deleted"] == 1


async def test_messages_resources_and_prompt(server):
    async with _client(server) as client:
        await client.call_tool("add_memories", {"messages": [{"role": "user", "content": "hello"}]})
        msgs = await client.call_tool("list_messages", {})
        assert [m["content"] for m in msgs.structured_content["messages"]] == ["hello"]

        added = await client.call_tool("add_memories", {"text": "The user is allergic to peanuts"})
        mid = added.structured_content["events"][0]["memory_id"]
        uris = {str(r.uri) for r in (await client.list_resources()).resources}
        assert {"memory://stores", "memory://recent"} <= uris
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        assert {"memory://stores/{store}", "memory://stores/{store}/memories/{memory_id}"} <= templates
        recent = await client.read_resource("memory://recent")
        assert "peanuts" in recent.contents[0].text
        one = await client.read_resource(f"memory://stores/default/memories/{mid}")
        assert "peanuts" in one.contents[0].text

        prompt = await client.get_prompt("recall_user_context", {"topic": "peanuts allergy"})
        assert "allergic to peanuts" in prompt.messages[0].content.text
