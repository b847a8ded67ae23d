"""The tool surface a model sees (issue 12), through the SDK's in-process client and over HTTP: the
default (core) tool set and its token budget, the compact search answer, typed refusals of unknown
tools and arguments (each in the request log), and a data directory that cannot be used.

Token figures are characters / 4 of what a model is given: per tool, the JSON of its name, description
and input schema (Claude's tool definition); per result, the text content.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_types import Implementation

from mem_mcp.config import Settings
from mem_mcp.server import build_server, http_app
from mem_mcp.server.tools import CORE
from mem_mcp.service import MemoryService

from fakes import HashEmbedder, NoopExtractor
from mcp_http import LiveServer, http_client

#: Issue 12's budgets.
MAX_CORE_TOOL_TOKENS = 3000
MAX_TOKENS_PER_HIT = 150

SHORT_MEMORIES = [
    "The user prefers green tea",
    "The user lives in Lisbon",
    "用户对花生过敏",
    "The user's daughter is called Mia",
    "The user drinks tea every morning",
    "The user is learning Portuguese",
]


def tokens_of(obj: Any) -> float:
    text = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return len(text) / 4


def model_view(tool: Any) -> dict[str, Any]:
    return {"name": tool.name, "description": tool.description, "input_schema": tool.input_schema}


@pytest.fixture
def service(settings: Settings):
    svc = MemoryService(settings, embedder=HashEmbedder(), extractor=NoopExtractor())
    yield svc
    svc.close()


def client_of(server: Any) -> Client:
    return Client(server, mode="legacy", client_info=Implementation(name="claude-ai", version="1"))


async def test_the_default_tool_set_fits_the_budget(settings: Settings, service: MemoryService) -> None:
    async with client_of(build_server(settings, service)) as client:
        core = (await client.list_tools()).tools
    assert (
        {t.name for t in core}
        == CORE
        == {
            "add_memories",
            "search_memories",
            "list_memories",
            "get_memory",
            "update_memory",
            "delete_memory",
            "memory_history",
            "get_user_profile",
        }
    )
    total = sum(tokens_of(model_view(t)) for t in core)
    assert total <= MAX_CORE_TOOL_TOKENS, f"core tool definitions cost {total:.0f} tokens"
    for tool in core:
        schema = json.dumps(tool.input_schema)
        assert '"title"' not in schema and "$defs" not in schema and '{"type": "null"}' not in schema, tool.name
        assert tool.output_schema and tool.output_schema["type"] == "object", tool.name
    descriptions = {t.name: t.description for t in core}
    # The descriptions are prompts: when to save (in the user's language), search first, update/delete by id.
    assert "user's own language" in descriptions["add_memories"] and "unasked" in descriptions["add_memories"]
    assert "before answering" in descriptions["search_memories"] and "update_memory" in descriptions["search_memories"]
    assert "search_memories" in descriptions["update_memory"] and "search_memories" in descriptions["delete_memory"]

    everything = settings.model_copy(update={"tools": "all"})
    async with client_of(build_server(everything, service)) as client:
        all_tools = (await client.list_tools()).tools
    assert len(all_tools) == 24 and CORE < {t.name for t in all_tools}


async def test_a_search_answer_costs_little_per_hit(settings: Settings, service: MemoryService) -> None:
    async with client_of(build_server(settings, service)) as client:
        ids = []
        for text in SHORT_MEMORIES:
            added = await client.call_tool("add_memories", {"text": text, "tags": ["t"] if "tea" in text else None})
            ids.append(added.structured_content["events"][0]["memory_id"])
        found = await client.call_tool("search_memories", {"query": "tea Lisbon 花生 Mia Portuguese", "top_k": 5})
        full = await client.call_tool("search_memories", {"query": "tea", "top_k": 5, "detail": "full"})
    hits = found.structured_content["results"]
    assert len(hits) == 5
    text = found.content[0].text
    assert json.loads(text) == found.structured_content  # the text is the same data, compact
    per_hit = tokens_of(text) / len(hits)
    assert per_hit <= MAX_TOKENS_PER_HIT, f"{per_hit:.0f} tokens per hit"
    for hit in hits:
        assert text.count(hit["id"]) == 1  # no memory repeated
        assert set(hit) <= {"id", "text", "type", "score", "created_at", "updated_at", "tags", "metadata"}
    assert "null" not in text and "vector" not in text and "row_key" not in text and '"tags":[]' not in text
    # Full detail on request: every field, and the groups by kind as ids.
    detailed = full.structured_content
    assert {"scope", "status", "version", "source"} <= set(detailed["results"][0])
    assert detailed["groups"] and all(i in ids for group in detailed["groups"].values() for i in group)


async def test_a_memory_list_is_compact_unless_asked_for_detail(settings: Settings, service: MemoryService) -> None:
    async with client_of(build_server(settings, service)) as client:
        for text in SHORT_MEMORIES:
            await client.call_tool("add_memories", {"text": text, "tags": ["t"] if "tea" in text else None})
        listed = await client.call_tool("list_memories", {"limit": 5})
        full = await client.call_tool("list_memories", {"limit": 5, "detail": "full"})
    page = listed.structured_content
    assert page["total"] == len(SHORT_MEMORIES) and len(page["memories"]) == 5
    text = listed.content[0].text
    assert json.loads(text) == page
    per_memory = tokens_of(text) / len(page["memories"])
    assert per_memory <= MAX_TOKENS_PER_HIT, f"{per_memory:.0f} tokens per listed memory"
    for memory in page["memories"]:
        assert set(memory) <= {"id", "text", "type", "created_at", "updated_at", "tags", "metadata"}
    assert "null" not in text and "vector" not in text and '"tags":[]' not in text
    assert [m["id"] for m in full.structured_content["memories"]] == [m["id"] for m in page["memories"]]
    assert {"scope", "status", "version", "source"} <= set(full.structured_content["memories"][0])


async def _refused(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    res = await client.call_tool(tool, args)
    assert res.is_error and res.structured_content is None, res
    error = res.meta["error"]
    assert res.content[0].text == f"{error['code']}: {error['message']}"
    return error


async def test_refusals_are_typed_name_the_field_and_are_logged(settings: Settings, service: MemoryService) -> None:
    async with client_of(build_server(settings, service)) as client:
        err = await _refused(client, "add_memories", {"text": "The user likes jazz", "tag": ["music"]})
        assert err["code"] == "INVALID_ARGUMENT" and err["field"] == "tag" and "did you mean `tags`" in err["message"]
        err = await _refused(client, "add_memories", {"text": "a", "messages": [{"role": "user", "content": "b"}]})
        assert err["code"] == "INVALID_ARGUMENT" and err["field"] == "messages"
        err = await _refused(client, "search_memories", {"query": "x", "messages": [{"role": "user", "content": "y"}]})
        assert err["field"] == "messages"
        err = await _refused(client, "search_memories", {"query": "tea", "top_k": 500})
        assert err["code"] == "INVALID_ARGUMENT" and err["field"] == "top_k"
        err = await _refused(client, "list_requests", {})
        assert err["code"] == "PERMISSION_DENIED" and "MEM_MCP_TOOLS=all" in err["message"]
        err = await _refused(client, "no_such_tool", {})
        assert err["code"] == "NOT_FOUND" and "add_memories" in err["message"]
    assert service.list_memories(scope={"agent_id": "*", "run_id": "*"}).total == 0  # nothing was written
    log = [r for r in service.list_requests(limit=50).requests if r.operation != "ListMemories"]
    refused = sorted((r.operation, r.error_code) for r in log)
    assert refused == sorted(
        [
            ("AddMemories", "INVALID_ARGUMENT"),
            ("AddMemories", "INVALID_ARGUMENT"),
            ("SearchMemories", "INVALID_ARGUMENT"),
            ("SearchMemories", "INVALID_ARGUMENT"),
            ("ListRequests", "PERMISSION_DENIED"),
            ("NoSuchTool", "NOT_FOUND"),
        ]
    )
    assert {r.actor for r in log} == {"claude-ai"}  # logged under the calling client


async def test_an_unusable_data_dir_is_the_error_of_every_call(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings = Settings(data_dir=blocker / "data", _env_file=None)
    async with client_of(build_server(settings)) as client:
        for tool, args in [
            ("search_memories", {"query": "tea"}),
            ("add_memories", {"text": "x"}),
            ("list_memories", {}),
        ]:
            err = await _refused(client, tool, args)
            assert err["code"] == "DATA_DIR_UNAVAILABLE" and str(blocker / "data") in err["message"]
            assert "MEM_MCP_DATA_DIR" in err["message"]
        blocker.unlink()  # fixed while the server runs: the next call works
        ok = await client.call_tool("add_memories", {"text": "The user likes tea"})
        assert not ok.is_error, ok.content


async def test_http_tokens_list_the_core_set_and_admins_everything(
    settings: Settings, service: MemoryService, tokens
) -> None:  # noqa: F811
    with LiveServer(http_app(settings, "streamable-http", service, tokens=tokens["store"])) as srv:
        async with http_client(f"{srv.base}/mcp", tokens["alice"]) as alice:
            assert {t.name for t in (await alice.list_tools()).tools} == CORE
            assert (await alice.call_tool("memory_stats", {})).meta["error"]["code"] == "PERMISSION_DENIED"
        async with http_client(f"{srv.base}/mcp", tokens["admin"]) as admin:
            assert len((await admin.list_tools()).tools) == 24
            assert not (await admin.call_tool("memory_stats", {})).is_error
