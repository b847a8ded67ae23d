"""The server's lifespan owns the service it built: it is closed (its background threads stopped,
its request log written) when the MCP session ends, as on stdio; a service passed in stays open."""

from __future__ import annotations

import threading

from mcp import Client
from mcp_types import Implementation

from mem_mcp.server import build_server
from mem_mcp.service import MemoryService


def _mem_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("mem-mcp")}


def _client(server) -> Client:
    return Client(server, mode="legacy", client_info=Implementation(name="tester", version="1"))


async def test_a_service_the_server_built_is_closed_when_the_session_ends(settings):
    before = _mem_threads()
    server = build_server(settings)
    async with _client(server) as client:
        stores = await client.call_tool("list_memories", {})
        assert not stores.is_error, stores
        started = _mem_threads() - before
        assert started, "a call starts the request log's writer"
    assert not any(t.is_alive() for t in started), started
    # The log was written out on close: a new service on the same data sees the call.
    check = MemoryService(settings)
    try:
        assert [r.operation for r in check.list_requests().requests] == ["ListMemories"]
    finally:
        check.close()


async def test_a_service_passed_in_stays_open_for_its_owner(settings, service):
    server = build_server(settings, service)
    try:
        for _ in range(2):  # a second session on the same server still works
            async with _client(server) as client:
                assert not (await client.call_tool("list_memories", {})).is_error
        calls = [r for r in service.list_requests().requests if r.operation == "ListMemories"]
        assert len(calls) == 2
    finally:
        service.close()
