"""Serving over stdio so that Ctrl-C stops the server at once.

The SDK's stdio transport reads stdin in a worker thread that cannot be cancelled: after Ctrl-C the
server waited for one more line that a terminal (or an idle client) never sends. Here stdin is read by
a daemon thread that hands lines to the event loop, so cancelling the server (SIGINT) ends the read
loop at once; the lifespan then closes the service (stopping and joining its threads), and the process
exits without waiting for the blocked read.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from typing import TYPE_CHECKING, AsyncIterator

import anyio
from mcp.server.stdio import stdio_server

if TYPE_CHECKING:
    from .app import MemoryMCPServer

#: Lines read ahead of the server (backpressure beyond that: the reader waits).
_READ_AHEAD = 16


class StdinLines:
    """The lines of a file descriptor as an async iterator, read by a daemon thread.

    The thread reads a private duplicate of the descriptor with ``os.read``: a daemon thread blocked in
    ``sys.stdin.buffer`` would hold that object's lock while the interpreter shuts down, which aborts
    the process ("could not acquire lock for <stdin> at interpreter shutdown").
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def __aiter__(self) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue(_READ_AHEAD)

        def hand_over(line: str | None) -> bool:
            try:
                asyncio.run_coroutine_threadsafe(queue.put(line), loop).result()
                return True
            except (RuntimeError, asyncio.CancelledError):  # the loop is closed or closing: nobody is reading
                return False

        fd = os.dup(self._fd)

        def pump() -> None:
            pending = b""
            try:
                while chunk := os.read(fd, 65536):
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    for raw in lines:
                        if not hand_over(raw.decode("utf-8", errors="replace") + "\n"):
                            return
                if pending and not hand_over(pending.decode("utf-8", errors="replace")):
                    return
            except OSError:  # stdin closed under us
                pass
            finally:
                os.close(fd)
            hand_over(None)

        threading.Thread(target=pump, name="mem-mcp stdin", daemon=True).start()
        return self._lines(queue)

    @staticmethod
    async def _lines(queue: asyncio.Queue[str | None]) -> AsyncIterator[str]:
        while (line := await queue.get()) is not None:
            yield line


async def serve_stdio(server: MemoryMCPServer) -> None:
    """What ``MCPServer.run_stdio_async`` does, with stdin read by ``StdinLines``."""
    try:
        async with stdio_server(stdin=StdinLines(sys.stdin.fileno())) as (read, write):  # type: ignore[arg-type]
            # The SDK offers no public way to pass the stdin stream to MCPServer.run; this is its own body.
            lowlevel = server._lowlevel_server
            await lowlevel.run(read, write, lowlevel.create_initialization_options())
    except* anyio.BrokenResourceError:
        # A line arrived while the server was stopping: the SDK's reader found the server's end closed.
        # Nobody will answer it; stop as the cancellation (Ctrl-C) asked.
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError from None


def run_stdio(server: MemoryMCPServer) -> None:
    """Serve over stdio until stdin closes or SIGINT (which raises KeyboardInterrupt once the server,
    its lifespan and the service are closed)."""
    anyio.run(serve_stdio, server)
