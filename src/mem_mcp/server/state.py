"""What every request needs (``AppState``, the lifespan's context) and the lazily built service
behind it (``Core``): created on first use, warmed up once in the background."""

from __future__ import annotations

import asyncio
import logging
import threading
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..auth import RateLimiter
from ..config import Settings, check_data_dir
from ..errors import MemMcpError

if TYPE_CHECKING:
    # Imported on first use (see Core): the service pulls in numpy, pyarrow and the extractors, about
    # 0.1 s that the answer to `initialize` should not wait for.
    from ..service import AsyncMemoryService, MemoryService

log = logging.getLogger(__name__)

#: Warm up after `initialize` has had time to go out: loading the model and importing LanceDB take
#: about a second, and the client should not wait for them to list tools.
WARM_UP_DELAY_S = 0.5


class Core:
    """The MemoryService behind the server, created on first use (a tool call or the warm-up).

    A service the server built is the server's to close: when the last lifespan leaves (stdio and
    streamable HTTP have one; SSE one per connection). A service passed in stays open for its owner.
    """

    def __init__(self, settings: Settings, service: MemoryService | None = None) -> None:
        self._settings = settings
        self._service = service
        self._owned = service is None
        self._async: AsyncMemoryService | None = None
        self._lock = threading.Lock()
        self._warm_up: threading.Timer | None = None
        self._entered = 0

    def service(self) -> MemoryService:
        return self.async_service().sync

    def async_service(self) -> AsyncMemoryService:
        """The service, built on first use. While the data directory cannot be used, every call raises
        DataDirError naming it (each call checks again, so fixing the directory needs no restart)."""
        if self._async is None:
            with self._lock:
                if self._async is None:
                    from ..service import AsyncMemoryService, MemoryService

                    if self._service is None:
                        check_data_dir(self._settings)

                    self._async = AsyncMemoryService(self._service or MemoryService(self._settings))
        return self._async

    def enter(self) -> threading.Timer | None:
        """A lifespan starts. The first one also starts the warm-up (loading the model and opening the
        database in the background, once per server) and gets its timer."""
        self._entered += 1
        if self._warm_up is not None:
            return None
        self._warm_up = threading.Timer(WARM_UP_DELAY_S, self._run_warm_up)
        self._warm_up.daemon = True
        self._warm_up.start()
        return self._warm_up

    async def leave(self, timer: threading.Timer | None) -> None:
        """A lifespan ends: stop the warm-up if it started it; the last one closes a service the server
        built (after a warm-up in progress), so the next lifespan builds a fresh one."""
        if timer is not None:
            timer.cancel()
        self._entered -= 1
        if self._entered or not self._owned:
            return
        if self._warm_up is not None:  # a warm-up in progress finishes first: it may build the service
            await asyncio.to_thread(self._warm_up.join)
        with self._lock:
            service, self._async = self._async, None
        if service is not None:
            await asyncio.to_thread(service.sync.close)

    def _run_warm_up(self) -> None:
        try:
            self.service().warm_up()
        except MemMcpError as exc:
            log.warning("warm-up: %s", exc)
        except Exception:  # warm-up is an optimisation; the first real call reports any error properly
            log.exception("warm-up failed")


@dataclass(frozen=True)
class AppState:
    """What every request needs: the service, the settings it was built from, the run id of
    connections without a session, and on HTTP the rate limiter."""

    core: Core
    settings: Settings
    process_run_id: str
    limiter: RateLimiter | None = None

    @property
    def service(self) -> AsyncMemoryService:
        return self.core.async_service()


#: The state of the resource read being served: static resources cannot take a Context, so the
#: server sets this around every read (``MemoryMCPServer.read_resource``).
current_state: ContextVar[AppState] = ContextVar("mem_mcp_app_state")
