"""Helpers for MCP over real HTTP on 127.0.0.1: uvicorn serving an app on a free port in a thread, and
the SDK's streamable HTTP and SSE clients with bearer tokens (used by tests/server and tests/e2e)."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import uvicorn
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp_types import Implementation


class LiveServer:
    """uvicorn on 127.0.0.1:<free port> in a background thread."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=5)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()


@asynccontextmanager
async def http_client(url: str, token: str | None, name: str = "http-tester") -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with create_mcp_http_client(headers=headers) as http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, mode="legacy", client_info=Implementation(name=name, version="1")) as client:
            yield client


@asynccontextmanager
async def sse_mcp_client(url: str, token: str) -> AsyncIterator[Client]:
    transport = sse_client(url, headers={"Authorization": f"Bearer {token}"})
    async with Client(transport, mode="legacy", client_info=Implementation(name="sse-tester", version="1")) as client:
        yield client


async def call(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """The result's structured content, or for an error {"is_error": True, "error": {code, message, ...}}
    (errors carry no structured content; the typed error rides in _meta, its text is "CODE: message")."""
    res = await client.call_tool(tool, args)
    if res.is_error:
        assert res.structured_content is None and res.meta is not None, res
        assert res.content[0].text.startswith(f"{res.meta['error']['code']}: "), res
        return {"is_error": True, "error": res.meta["error"]}
    assert res.structured_content is not None, res
    return {"is_error": False, **res.structured_content}


def error_code(result: dict[str, Any]) -> str | None:
    return result["error"]["code"] if result.get("is_error") else None
