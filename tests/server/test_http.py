"""MCP over real HTTP on 127.0.0.1: uvicorn serving ``http_app`` on a free port in a thread, driven by
the SDK's streamable HTTP and SSE clients with bearer tokens. Covers tenant isolation (whatever scope,
wildcard, filter or id a caller sends), roles, 401s, rate limits, the audit log, /healthz, stateless
mode, and graceful shutdown. The service uses HashEmbedder; tests/e2e/test_e2e_http.py runs the real model
through `mem-mcp serve`."""

from __future__ import annotations

import asyncio
import time
from typing import Iterator

import httpx2
import pytest
from mcp import Client

from mem_mcp.server import build_server, http_app
from mem_mcp.service import MemoryService

from fakes import HashEmbedder, NoopExtractor
from mcp_http import LiveServer, call, error_code, http_client, sse_mcp_client


@pytest.fixture
def settings(settings):
    """Every tool listed (MEM_MCP_TOOLS=all): this module checks tenant and role fences on all of them;
    test_server_tools.py covers which tools each token lists by default."""
    return settings.model_copy(update={"tools": "all"})


@pytest.fixture
def service(settings) -> Iterator[MemoryService]:
    svc = MemoryService(settings, embedder=HashEmbedder(), extractor=NoopExtractor())
    yield svc
    svc.close()


@pytest.fixture
def live(settings, service, tokens) -> Iterator[LiveServer]:
    with LiveServer(http_app(settings, "streamable-http", service, tokens=tokens["store"])) as srv:
        yield srv


# -- authentication --------------------------------------------------------------------------------


async def test_without_token_or_with_a_wrong_one_the_answer_is_401_with_a_clear_message(live, tokens):
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    async with httpx2.AsyncClient() as http:
        none = await http.post(f"{live.base}/mcp", json=body)
        wrong = await http.post(
            f"{live.base}/mcp",
            json=body,
            headers={"Authorization": "Bearer mmcp_0123456789ab_nope-nope-nope-nope-nope"},
        )
        tampered = tokens["alice"][:-2] + ("AA" if not tokens["alice"].endswith("AA") else "BB")
        bad = await http.post(f"{live.base}/mcp", json=body, headers={"Authorization": f"Bearer {tampered}"})
    assert none.status_code == wrong.status_code == bad.status_code == 401
    assert "needs a bearer token" in none.json()["error_description"]
    assert "mem-mcp token create" in none.json()["error_description"]
    assert "not valid" in wrong.json()["error_description"]
    assert "not valid" in bad.json()["error_description"]
    with pytest.raises(Exception):
        async with http_client(f"{live.base}/mcp", None) as client:
            await client.list_tools()


async def test_a_revoked_token_is_refused_by_the_running_server(live, tokens):
    async with http_client(f"{live.base}/mcp", tokens["bob"]) as client:
        assert not (await call(client, "search_memories", {"detail": "full", "query": "x"}))["is_error"]
    tokens["store"].revoke(tokens["bob_id"])
    time.sleep(1.1)  # the file is re-read at most once a second
    async with httpx2.AsyncClient() as http:
        res = await http.post(
            f"{live.base}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={"Authorization": f"Bearer {tokens['bob']}"},
        )
    assert res.status_code == 401


def test_tokens_are_stored_hashed(settings, tokens):
    text = settings.token_path.read_text()
    for name in ("alice", "bob", "admin"):
        assert tokens[name] not in text
        assert tokens[name].split("_", 2)[2] not in text
    assert tokens["alice_id"] in text


async def test_health_endpoint_reports_store_availability_without_a_token(live):
    async with httpx2.AsyncClient() as http:
        res = await http.get(f"{live.base}/healthz")
    assert res.status_code == 200
    data = res.json()
    assert data["status"] == "ok" and data["stores"] >= 1
    assert "tenant" not in str(data)


# -- tenant isolation ------------------------------------------------------------------------------


async def test_a_tenant_never_sees_or_touches_another_tenants_memories(live, tokens):
    url = f"{live.base}/mcp"
    async with http_client(url, tokens["alice"]) as alice:
        added = await call(alice, "add_memories", {"text": "用户对花生过敏，住在杭州"})
        mid = added["events"][0]["memory_id"]
        memory = (await call(alice, "search_memories", {"detail": "full", "query": "花生过敏"}))["results"][0]
        scope = memory["scope"]
        assert memory["id"] == mid and scope["tenant_id"] == "alice"

    async with http_client(url, tokens["bob"]) as bob:
        await call(bob, "add_memories", {"text": "The user likes hiking"})
        # Search and list, with wildcards on everything a caller may wildcard.
        found = await call(
            bob,
            "search_memories",
            {"detail": "full", "query": "花生过敏 杭州", "scope": {"agent_id": "*", "run_id": "*"}},
        )
        assert all(h["scope"]["tenant_id"] == "bob" for h in found["results"])
        assert all("花生" not in h["text"] for h in found["results"])
        listed = await call(
            bob, "list_memories", {"scope": {"agent_id": "*", "run_id": "*"}, "limit": 500, "detail": "full"}
        )
        assert listed["total"] == 1 and listed["memories"][0]["scope"]["tenant_id"] == "bob"
        # Naming alice's tenant or app explicitly, or a tenant wildcard, is refused.
        for bad_scope in ({"tenant_id": "alice"}, {"tenant_id": "*"}, {"app_id": "other"}):
            for tool, args in [
                ("search_memories", {"detail": "full", "query": "花生"}),
                ("list_memories", {}),
                ("export_memories", {}),
                ("get_memory", {"memory_id": mid}),
                ("update_memory", {"memory_id": mid, "text": "hacked"}),
                ("delete_memory", {"memory_id": mid}),
                ("memory_history", {"memory_id": mid}),
                ("list_requests", {}),
            ]:
                res = await call(
                    bob,
                    tool,
                    {**args, "scope": {**scope, **bad_scope}} if "memory_id" in args else {**args, "scope": bad_scope},
                )
                assert error_code(res) == "INVALID_SCOPE", (tool, bad_scope, res)
        # A filter cannot reach the tenant either.
        res = await call(bob, "search_memories", {"detail": "full", "query": "花生", "filter": {"tenant_id": "alice"}})
        assert error_code(res) == "INVALID_FILTER"
        # The guessed id, in bob's own scope, is simply not there.
        own = {**scope, "tenant_id": "bob"}
        for tool, args in [
            ("get_memory", {"memory_id": mid}),
            ("update_memory", {"memory_id": mid, "text": "hacked"}),
            ("delete_memory", {"memory_id": mid}),
            ("memory_history", {"memory_id": mid}),
        ]:
            for s in (own, None):
                res = await call(bob, tool, {**args, **({"scope": s} if s else {})})
                assert error_code(res) == "MEMORY_NOT_FOUND", (tool, s, res)
        with pytest.raises(Exception):
            await bob.read_resource(f"memory://stores/default/memories/{mid}")
        recent = await bob.read_resource("memory://recent")
        assert "花生" not in recent.contents[0].text
        exported = await call(bob, "export_memories", {})
        assert exported["count"] == 1 and "花生" not in exported["jsonl"] and "hiking" in exported["jsonl"]
        stats = await call(bob, "memory_stats", {})
        assert stats["memories_active"] == 1

    async with http_client(url, tokens["alice"]) as alice:
        got = await call(alice, "get_memory", {"memory_id": mid, "scope": scope})
        assert got["text"] == "用户对花生过敏，住在杭州" and got["version"] == 1


async def test_background_jobs_are_fenced_by_tenant(live, tokens):
    url = f"{live.base}/mcp"
    async with http_client(url, tokens["alice"]) as alice:
        res = await call(
            alice, "add_memories", {"messages": [{"role": "user", "content": "我住在杭州"}], "sync": False}
        )
        request_id = res["request_id"]
    async with http_client(url, tokens["bob"]) as bob:
        for tool in ("get_request", "retry_request"):
            assert error_code(await call(bob, tool, {"request_id": request_id})) == "REQUEST_NOT_FOUND"
    async with http_client(url, tokens["alice"]) as alice:
        assert not (await call(alice, "get_request", {"request_id": request_id}))["is_error"]


# -- roles -----------------------------------------------------------------------------------------


async def test_read_tokens_cannot_write_and_only_admins_manage_stores(live, tokens):
    url = f"{live.base}/mcp"
    async with http_client(url, tokens["alice"]) as alice:
        await call(alice, "add_memories", {"text": "The user drinks green tea"})
        assert error_code(await call(alice, "create_memory_store", {"name": "work"})) == "PERMISSION_DENIED"
        assert error_code(await call(alice, "delete_memory_store", {"store": "default"})) == "PERMISSION_DENIED"
    async with http_client(url, tokens["alice_reader"]) as reader:
        found = await call(reader, "search_memories", {"detail": "full", "query": "tea"})
        assert found["results"] and found["results"][0]["text"] == "The user drinks green tea"
        mem = found["results"][0]
        denied = await call(reader, "add_memories", {"text": "The user likes coffee"})
        assert error_code(denied) == "PERMISSION_DENIED"
        assert "write" in denied["error"]["message"] and "operator" in denied["error"]["message"]
        for tool, args in [
            ("update_memory", {"memory_id": mem["id"], "text": "x", "scope": mem["scope"]}),
            ("delete_memory", {"memory_id": mem["id"], "scope": mem["scope"]}),
        ]:
            assert error_code(await call(reader, tool, args)) == "PERMISSION_DENIED"
    async with http_client(url, tokens["alice"]) as alice:
        page = await call(alice, "list_memories", {"detail": "full"})
        assert page["total"] == 1 and page["memories"][0]["version"] == 1
    async with http_client(url, tokens["admin"]) as admin:
        assert not (await call(admin, "create_memory_store", {"name": "work"}))["is_error"]
        # An admin may act on another tenant explicitly, and list across tenants.
        listed = await call(admin, "list_memories", {"scope": {"tenant_id": "*"}, "detail": "full"})
        assert listed["total"] == 1 and listed["memories"][0]["scope"]["tenant_id"] == "alice"


# -- rate limits and audit --------------------------------------------------------------------------


async def test_rate_limits_answer_too_many_requests_with_retry_after(live, tokens):
    async with http_client(f"{live.base}/mcp", tokens["limited"]) as client:
        results = [await call(client, "search_memories", {"detail": "full", "query": "anything"}) for _ in range(3)]
        assert [error_code(r) for r in results] == [None, None, "TOO_MANY_REQUESTS"]
        err = results[2]["error"]
        assert 0 < err["details"]["retry_after_s"] <= 30.0
        assert err["details"]["limit_per_minute"] == 2 and "Wait" in err["message"]
        # Other operations have their own (larger) limit.
        assert not (await call(client, "list_memories", {}))["is_error"]
        log = await call(client, "list_requests", {"outcome": "TOO_MANY_REQUESTS"})
        assert [r["operation"] for r in log["requests"]] == ["SearchMemories"]
        assert log["requests"][0]["token_id"] == tokens["limited_id"]


async def test_the_request_log_records_who_did_what(live, tokens):
    url = f"{live.base}/mcp"
    async with http_client(url, tokens["alice"]) as alice:
        await call(alice, "add_memories", {"text": "The user plays chess"})
        await call(alice, "search_memories", {"detail": "full", "query": "chess"})
        await call(alice, "create_memory_store", {"name": "nope"})
    async with http_client(url, tokens["bob"]) as bob:
        await call(bob, "search_memories", {"detail": "full", "query": "chess"})
        bob_log = await call(bob, "list_requests", {"limit": 100})
        assert {r["scope"]["tenant_id"] for r in bob_log["requests"]} == {"bob"}
        assert error_code(await call(bob, "list_requests", {"scope": {"tenant_id": "*"}})) == "INVALID_SCOPE"
    async with http_client(url, tokens["alice"]) as alice:
        log = (await call(alice, "list_requests", {"limit": 100}))["requests"]
        ops = [(r["operation"], r["outcome"], r.get("error_code")) for r in log]  # null fields are left out
        assert ("AddMemories", "ok", None) in ops and ("SearchMemories", "ok", None) in ops
        assert ("CreateMemoryStore", "error", "PERMISSION_DENIED") in ops
        for r in log:
            assert r["token_id"] == tokens["alice_id"] and tokens["alice"] not in str(r)
            assert r["scope"]["tenant_id"] == "alice" and r["duration_ms"] >= 0
        assert r["actor"] == "http-tester"
        only_errors = (await call(alice, "list_requests", {"outcome": "error"}))["requests"]
        assert [r["operation"] for r in only_errors] == ["CreateMemoryStore"]
        adds = (await call(alice, "list_requests", {"operation": "AddMemories"}))["requests"]
        assert len(adds) == 1
        future = (await call(alice, "list_requests", {"since": "2999-01-01T00:00:00Z"}))["requests"]
        assert future == []
        past = (await call(alice, "list_requests", {"until": "2000-01-01T00:00:00Z"}))["requests"]
        assert past == []
    async with http_client(url, tokens["admin"]) as admin:
        everyone = (await call(admin, "list_requests", {"scope": {"tenant_id": "*"}, "limit": 1000}))["requests"]
        assert {"alice", "bob"} <= {r["scope"]["tenant_id"] for r in everyone}
        by_token = (await call(admin, "list_requests", {"scope": {"tenant_id": "*"}, "token_id": tokens["bob_id"]}))[
            "requests"
        ]
        assert by_token and {r["token_id"] for r in by_token} == {tokens["bob_id"]}


# -- transports ------------------------------------------------------------------------------------


async def test_http_serves_the_same_tools_resources_and_prompts_as_stdio(live, tokens, settings, service):
    async with Client(build_server(settings, service), mode="legacy") as local:
        want_tools = {t.name for t in (await local.list_tools()).tools}
        want_prompts = {p.name for p in (await local.list_prompts()).prompts}
        want_templates = {t.uri_template for t in (await local.list_resource_templates()).resource_templates}
    async with http_client(f"{live.base}/mcp", tokens["alice"]) as client:
        assert {t.name for t in (await client.list_tools()).tools} == want_tools
        assert {p.name for p in (await client.list_prompts()).prompts} == want_prompts
        assert {t.uri_template for t in (await client.list_resource_templates()).resource_templates} == want_templates
        prompt = await client.get_prompt("recall_user_context", {"topic": "food"})
        assert prompt.messages


async def test_sse_transport_with_tokens_and_isolation(settings, service, tokens):
    with LiveServer(http_app(settings, "sse", service, tokens=tokens["store"])) as srv:
        async with httpx2.AsyncClient() as http:
            assert (await http.get(f"{srv.base}/sse")).status_code == 401
            assert (await http.get(f"{srv.base}/healthz")).status_code == 200
        async with sse_mcp_client(f"{srv.base}/sse", tokens["alice"]) as alice:
            assert "add_memories" in {t.name for t in (await alice.list_tools()).tools}
            added = await call(alice, "add_memories", {"text": "用户养了一只猫"})
            got = await call(alice, "list_memories", {"detail": "full"})
            assert got["memories"][0]["id"] == added["events"][0]["memory_id"]
            assert got["memories"][0]["scope"]["tenant_id"] == "alice"
        async with sse_mcp_client(f"{srv.base}/sse", tokens["bob"]) as bob:
            found = await call(bob, "search_memories", {"detail": "full", "query": "猫"})
            assert found["results"] == []
        async with sse_mcp_client(f"{srv.base}/sse", tokens["alice"]) as alice:
            found = await call(alice, "search_memories", {"detail": "full", "query": "猫"})
            assert found["results"][0]["text"] == "用户养了一只猫"


async def test_stateless_http_mode(settings, service, tokens):
    stateless = settings.model_copy(update={"stateless_http": True})
    with LiveServer(http_app(stateless, "streamable-http", service, tokens=tokens["store"])) as srv:
        async with http_client(f"{srv.base}/mcp", tokens["alice"]) as alice:
            await call(alice, "add_memories", {"text": "The user's name is Alice"})
        async with http_client(f"{srv.base}/mcp", tokens["alice"]) as alice:
            found = await call(alice, "search_memories", {"detail": "full", "query": "name"})
            assert found["results"][0]["text"] == "The user's name is Alice"


async def test_concurrent_clients_writes_are_all_acknowledged_and_present(live, tokens, service):
    async def worker(name: str, n: int) -> list[str]:
        ids = []
        async with http_client(f"{live.base}/mcp", tokens[name]) as client:
            for i in range(n):
                res = await call(client, "add_memories", {"text": f"{name} fact number {i}"})
                ids.append(res["events"][0]["memory_id"])
        return ids

    results = await asyncio.gather(worker("alice", 8), worker("bob", 8))
    for ids, tenant in zip(results, ("alice", "bob")):
        assert len(set(ids)) == 8
        page = service.list_memories(scope={"tenant_id": tenant}, limit=100)
        assert {m.id for m in page.memories} == set(ids)


async def test_two_servers_share_one_data_directory(settings, service, tokens):
    """Two server processes' worth of state (separate services and databases) on one data directory,
    as behind a load balancer: a write through one is read through the other at once."""
    other = MemoryService(settings, embedder=HashEmbedder(), extractor=NoopExtractor())
    try:
        stateless = settings.model_copy(update={"stateless_http": True})
        with (
            LiveServer(http_app(stateless, "streamable-http", service, tokens=tokens["store"])) as a,
            LiveServer(http_app(stateless, "streamable-http", other, tokens=tokens["store"])) as b,
        ):
            async with http_client(f"{a.base}/mcp", tokens["alice"]) as via_a:
                added = await call(via_a, "add_memories", {"text": "用户在两台服务器之间切换"})
            async with http_client(f"{b.base}/mcp", tokens["alice"]) as via_b:
                found = await call(via_b, "search_memories", {"detail": "full", "query": "服务器"})
                assert found["results"][0]["id"] == added["events"][0]["memory_id"]
                mem = found["results"][0]
                await call(
                    via_b,
                    "update_memory",
                    {"memory_id": mem["id"], "scope": mem["scope"], "text": "用户只用一台服务器"},
                )
            async with http_client(f"{a.base}/mcp", tokens["alice"]) as via_a:
                got = await call(via_a, "get_memory", {"memory_id": mem["id"], "scope": mem["scope"]})
                assert got["text"] == "用户只用一台服务器" and got["version"] == 2
    finally:
        other.close()
