"""Serving over stdio so that Ctrl-C stops the server at once.

The SDK's stdio transport reads stdin in a worker thread that cannot be cancelled: after Ctrl-C the
server waited for one more line that a terminal (or an idle client) never sends. Here stdin is read by
a daemon thread that hands lines to the event loop, so cancelling the server (SIGINT) ends the read
loop at once; the lifespan then closes the service (stopping and joining its threads), and the process
exits without waiting for the blocked read.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import IO, TYPE_CHECKING, AsyncIterator

import anyio
from mcp.server.stdio import stdio_server

if TYPE_CHECKING:
    from .app import MemoryMCPServer

#: Lines read ahead of the server (backpressure beyond that: the reader waits).
_READ_AHEAD = 16


class StdinLines:
    """The lines of a binary stream as an async iterator, read by a daemon thread."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def __aiter__(self) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue(_READ_AHEAD)

        def hand_over(line: str | None) -> bool:
            try:
                asyncio.run_coroutine_threadsafe(queue.put(line), loop).result()
                return True
            except (RuntimeError, asyncio.CancelledError):  # the loop is closed or closing: nobody is reading
                return False

        def pump() -> None:
            try:
                for raw in iter(self._stream.readline, b""):
                    if not hand_over(raw.decode("utf-8", errors="replace")):
                        return
            except (OSError, ValueError):  # stdin closed under us
                pass
            hand_over(None)

        threading.Thread(target=pump, name="mem-mcp stdin", daemon=True).start()
        return self._lines(queue)

    @staticmethod
    async def _lines(queue: asyncio.Queue[str | None]) -> AsyncIterator[str]:
        while (line := await queue.get()) is not None:
            yield line


async def serve_stdio(server: MemoryMCPServer) -> None:
    """What ``MCPServer.run_stdio_async`` does, with stdin read by ``StdinLines``."""
    async with stdio_server(stdin=StdinLines(sys.stdin.buffer)) as (read, write):  # type: ignore[arg-type]
        # The SDK offers no public way to pass the stdin stream to MCPServer.run; this is its own body.
        lowlevel = server._lowlevel_server
        await lowlevel.run(read, write, lowlevel.create_initialization_options())


def run_stdio(server: MemoryMCPServer) -> None:
    """Serve over stdio until stdin closes or SIGINT (which raises KeyboardInterrupt once the server,
    its lifespan and the service are closed)."""
    anyio.run(serve_stdio, server)
