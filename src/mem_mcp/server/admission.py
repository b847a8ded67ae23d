"""HTTP admission: bounded sessions per token, rate-limited session creation, and a /healthz that
never waits behind tool calls.

- Sessions. The SDK's session manager bounds sessions in total (``max_sessions``) and reaps idle ones
  (``session_idle_timeout``), but one token could take every slot with plain ``initialize`` calls and
  shut every other tenant out. ``SessionGuard`` counts the live sessions of each token (a session is
  live from the response that names it until its DELETE or until it has been idle for the idle
  timeout, the SDK's rule) and answers 429 past ``max_sessions_per_token``. Opening a session counts
  against the token's rate limit like any request.
- Health. /healthz is answered here, before the MCP app: the store check runs on its own thread
  (never the thread pool tool calls use) and its result is reused for ``HEALTH_CACHE_S``, so a
  saturated server still answers a load balancer at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable

from ..errors import RateLimitedError

if TYPE_CHECKING:
    from ..auth import RateLimiter, TokenStore

log = logging.getLogger(__name__)

SESSION_HEADER = b"mcp-session-id"
#: A health result younger than this is answered again without a new store check.
HEALTH_CACHE_S = 1.0
#: How long /healthz waits for a store check before it answers with the last result it has.
HEALTH_WAIT_S = 0.08


def _header(scope: dict[str, Any], name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value
    return None


async def _json(send: Any, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] = ()) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": data})


class SessionTable:
    """Live sessions per token: session id -> (token id, last seen). Thread-safe."""

    def __init__(self, idle_timeout_s: float) -> None:
        self.idle_timeout_s = idle_timeout_s
        self._sessions: dict[str, tuple[str, float]] = {}
        self._opening: dict[str, int] = {}  # sessions being opened now, per token (counted too)
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        cutoff = now - self.idle_timeout_s
        for sid in [s for s, (_, seen) in self._sessions.items() if seen < cutoff]:
            del self._sessions[sid]

    def count(self, token_id: str) -> int:
        with self._lock:
            self._expire(time.monotonic())
            return sum(1 for tok, _ in self._sessions.values() if tok == token_id) + self._opening.get(token_id, 0)

    def reserve(self, token_id: str, limit: int) -> bool:
        """Count a session being opened, if the token is under ``limit`` (checked and counted at once,
        so that concurrent ``initialize`` calls cannot all pass the check)."""
        with self._lock:
            self._expire(time.monotonic())
            live = sum(1 for tok, _ in self._sessions.values() if tok == token_id) + self._opening.get(token_id, 0)
            if live >= limit:
                return False
            self._opening[token_id] = self._opening.get(token_id, 0) + 1
            return True

    def unreserve(self, token_id: str) -> None:
        with self._lock:
            left = self._opening.get(token_id, 0) - 1
            if left > 0:
                self._opening[token_id] = left
            else:
                self._opening.pop(token_id, None)

    def opened(self, session_id: str, token_id: str) -> None:
        with self._lock:
            self._sessions[session_id] = (token_id, time.monotonic())

    def seen(self, session_id: str) -> None:
        with self._lock:
            entry = self._sessions.get(session_id)
            if entry is not None:
                self._sessions[session_id] = (entry[0], time.monotonic())

    def closed(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)


class SessionGuard:
    """ASGI wrapper for streamable HTTP: per-token session bounds and rate-limited session creation."""

    def __init__(
        self, app: Any, tokens: TokenStore, limiter: RateLimiter | None, per_token: int, idle_timeout_s: float
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.limiter = limiter
        self.per_token = per_token
        self.table = SessionTable(idle_timeout_s)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or not scope.get("path", "").startswith("/mcp"):
            await self.app(scope, receive, send)
            return
        session = _header(scope, SESSION_HEADER)
        if session is not None:
            sid = session.decode("latin-1")
            if scope.get("method") == "DELETE":
                self.table.closed(sid)
            else:
                self.table.seen(sid)
            await self.app(scope, receive, send)
            return
        auth = _header(scope, b"authorization") or b""
        raw = auth.decode("latin-1")
        rec = self.tokens.verify(raw[7:].strip()) if raw.lower().startswith("bearer ") else None
        if rec is None or scope.get("method") != "POST":
            await self.app(scope, receive, send)  # the SDK answers (401, 405, ...)
            return
        if not self.table.reserve(rec.id, self.per_token):
            await _json(
                send,
                429,
                {
                    "error": "too_many_sessions",
                    "error_description": (
                        f"This token already has {self.per_token} open sessions, the limit per token. Reuse a session "
                        "(send its Mcp-Session-Id), close the ones you no longer need (HTTP DELETE), or wait: idle "
                        f"sessions expire after {self.table.idle_timeout_s / 60:.0f} minutes."
                    ),
                },
                [(b"retry-after", b"60")],
            )
            return
        if self.limiter is not None:
            try:
                self.limiter.check(rec.id, rec.rate_limits, None)
            except RateLimitedError as exc:
                self.table.unreserve(rec.id)
                retry = str(int(exc.details.get("retry_after_s", 1) + 0.999)).encode()
                await _json(
                    send, 429, {"error": "rate_limited", "error_description": exc.message}, [(b"retry-after", retry)]
                )
                return
        reserved = True

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal reserved
            if message["type"] == "http.response.start":
                new = next((v for k, v in message.get("headers", []) if k.lower() == SESSION_HEADER), None)
                if new is not None and message.get("status", 500) < 300:
                    self.table.opened(new.decode("latin-1"), rec.id)
                if reserved:
                    reserved = False
                    self.table.unreserve(rec.id)
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if reserved:
                self.table.unreserve(rec.id)


class HealthEndpoint:
    """ASGI wrapper answering GET /healthz itself; the store check runs on a thread of its own."""

    def __init__(self, app: Any, check: Callable[[], dict[str, Any]]) -> None:
        self.app = app
        self.check = check
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mem-mcp-health")
        self._last: tuple[float, dict[str, Any]] | None = None
        self._running: asyncio.Future[dict[str, Any]] | None = None

    def _run(self) -> dict[str, Any]:
        result = self.check()
        self._last = (time.monotonic(), result)
        return result

    async def health(self) -> dict[str, Any]:
        last = self._last
        if last is not None and time.monotonic() - last[0] < HEALTH_CACHE_S:
            return last[1]
        if self._running is None or self._running.done():
            self._running = asyncio.wrap_future(self._pool.submit(self._run))
        if last is None:
            return await asyncio.shield(self._running)  # the first answer needs a real check
        try:
            return await asyncio.wait_for(asyncio.shield(self._running), HEALTH_WAIT_S)
        except asyncio.TimeoutError:
            return {**last[1], "stale_s": round(time.monotonic() - last[0], 1)}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and scope.get("path") == "/healthz" and scope.get("method") in ("GET", "HEAD"):
            health = await self.health()
            await _json(send, 200 if health.get("status") == "ok" else 503, health)
            return
        await self.app(scope, receive, send)

    def close(self) -> None:
        self._pool.shutdown(wait=False)
