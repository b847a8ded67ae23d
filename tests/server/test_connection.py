"""The run_id a connection's calls default to (``mem_mcp.server.connection``), over real HTTP on
127.0.0.1: the transport's session id on stateful streamable HTTP, one per connection; the server's
run id on stateless HTTP and SSE, which have no session."""

from __future__ import annotations

import re
import socket
import threading
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Iterator

import pytest
import uvicorn
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp_types import Implementation

from mem_mcp.server import http_app


@pytest.fixture
def closing_service(service) -> Iterator[Any]:
    yield service
    service.close()


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


@asynccontextmanager
async def streamable(url: str) -> AsyncIterator[Client]:
    async with create_mcp_http_client() as http:
        transport = streamable_http_client(f"{url}/mcp", http_client=http)
        async with Client(transport, mode="legacy", client_info=Implementation(name="tester", version="1")) as client:
            yield client


async def run_id_of(client: Client, text: str) -> str:
    await client.call_tool("add_memories", {"text": text})
    listed = await client.call_tool(
        "list_memories", {"scope": {"agent_id": "*", "run_id": "*"}, "limit": 500, "detail": "full"}
    )
    assert listed.structured_content is not None, listed
    (memory,) = [m for m in listed.structured_content["memories"] if m["text"] == text]
    return memory["scope"]["run_id"]


def settings_for(settings, **update: Any):
    return settings.model_copy(update={"no_auth": True, "host": "127.0.0.1", **update})


async def test_stateful_http_runs_are_the_transport_sessions(settings, closing_service):
    app = http_app(settings_for(settings), "streamable-http", closing_service)
    async with serving(app) as url:
        async with streamable(url) as one:
            first = await run_id_of(one, "The user likes green tea")
            again = await run_id_of(one, "The user lives in Hangzhou")
        async with streamable(url) as two:
            other = await run_id_of(two, "The user plays the violin")
    assert re.fullmatch(r"[0-9a-f]{32}", first), first  # the session id the transport minted
    assert again == first and other != first


async def test_stateless_http_and_sse_use_the_server_run(settings, closing_service):
    stateless = http_app(settings_for(settings, stateless_http=True), "streamable-http", closing_service)
    async with serving(stateless) as url:
        async with streamable(url) as one:
            first = await run_id_of(one, "The user likes green tea")
        async with streamable(url) as two:
            second = await run_id_of(two, "The user plays the violin")
    assert first.startswith("run-") and second == first

    sse = http_app(settings_for(settings), "sse", closing_service)
    async with serving(sse) as url:
        transport = sse_client(f"{url}/sse")
        async with Client(transport, mode="legacy", client_info=Implementation(name="tester", version="1")) as client:
            run = await run_id_of(client, "The user has a cat")
    assert run.startswith("run-")
