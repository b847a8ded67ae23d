"""No caller can starve another over HTTP (issue 13): sessions per token are bounded and creating one
counts against the token's rate limit; /healthz answers at once while every tool thread is busy."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Iterator

import httpx2
import pytest

from mem_mcp.auth import RateLimits, TokenStore
from mem_mcp.config import Settings
from mem_mcp.server import http_app
from mem_mcp.service import MemoryService

from fakes import HashEmbedder, NoopExtractor
from mcp_http import LiveServer

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def _initialize(base: str, token: str) -> httpx2.Response:
    return httpx2.post(f"{base}/mcp", json=INIT, headers={**HEADERS, "Authorization": f"Bearer {token}"}, timeout=30)


@pytest.fixture
def limited(tmp_path) -> Iterator[tuple[LiveServer, dict[str, str], MemoryService]]:
    settings = Settings(data_dir=tmp_path / "data", _env_file=None, max_sessions_per_token=3)
    store = TokenStore(settings.token_path)
    tokens = {}
    for name, limits in (("abuser", None), ("victim", None), ("slow", RateLimits(per_minute=2))):
        tokens[name], _ = store.create(app_id="default", tenant_id=name, role="write", name=name, rate_limits=limits)
    svc = MemoryService(settings, embedder=HashEmbedder(), extractor=NoopExtractor())
    with LiveServer(http_app(settings, "streamable-http", svc, tokens=store)) as srv:
        yield srv, tokens, svc
    svc.close()


def test_one_token_cannot_take_every_session(limited):
    srv, tokens, _ = limited
    statuses = [_initialize(srv.base, tokens["abuser"]).status_code for _ in range(6)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429, 429]
    refused = _initialize(srv.base, tokens["abuser"])
    body = refused.json()
    assert body["error"] == "too_many_sessions" and "DELETE" in body["error_description"]
    assert refused.headers.get("retry-after")
    assert _initialize(srv.base, tokens["victim"]).status_code == 200


def test_a_closed_session_frees_its_slot(limited):
    srv, tokens, _ = limited
    ids = [_initialize(srv.base, tokens["abuser"]).headers["mcp-session-id"] for _ in range(3)]
    assert _initialize(srv.base, tokens["abuser"]).status_code == 429
    r = httpx2.delete(
        f"{srv.base}/mcp",
        headers={**HEADERS, "Authorization": f"Bearer {tokens['abuser']}", "mcp-session-id": ids[0]},
        timeout=30,
    )
    assert r.status_code in (200, 204)
    assert _initialize(srv.base, tokens["abuser"]).status_code == 200


def test_initialize_counts_against_the_tokens_rate_limit(limited):
    srv, tokens, _ = limited
    statuses = [_initialize(srv.base, tokens["slow"]).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_healthz_answers_while_every_tool_thread_is_busy(limited):
    """Block the default executor (where tool calls run) and poll /healthz: it must not wait."""
    srv, _, svc = limited
    assert httpx2.get(f"{srv.base}/healthz", timeout=30).status_code == 200  # first, real check
    release = threading.Event()
    loop_ready = threading.Event()

    async def hog() -> None:
        loop = asyncio.get_running_loop()
        loop_ready.set()
        await asyncio.gather(*(loop.run_in_executor(None, release.wait, 30) for _ in range(64)))

    # The server's loop runs in the LiveServer thread; saturate its default executor from there.
    server_loop = _server_loop(srv)
    future = asyncio.run_coroutine_threadsafe(hog(), server_loop)
    loop_ready.wait(5)
    try:
        # The executor stays blocked until ``release`` (30 s): an answer within the 15 s timeout, while it
        # is blocked, shows /healthz does not wait for it (no wall-clock bound: the machine may be loaded).
        for _ in range(10):
            r = httpx2.get(f"{srv.base}/healthz", timeout=15)
            assert r.status_code == 200 and r.json()["status"] == "ok"
            time.sleep(0.05)
        assert not release.is_set() and not future.done()
    finally:
        release.set()
        future.result(30)


def _server_loop(srv: LiveServer) -> Any:
    """The event loop uvicorn serves on (its listening asyncio server knows it)."""
    return srv.server.servers[0]._loop
