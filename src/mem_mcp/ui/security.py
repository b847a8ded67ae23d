"""Sessions, sign-in, CSRF and response headers for the console.

Every browser gets a server-side session: a random id in an HttpOnly, SameSite=Strict cookie, and a
CSRF token that every state-changing request must send back (a hidden form field, or the
``X-CSRF-Token`` header from the page's script). With token sign-in on, the session also holds the
bearer token the person pasted; it is checked against the token file on every request, so a revoked
token signs its sessions out within a second. Signing in replaces the session id (no fixation).

Sessions live in this process only: a restart signs everyone out, which is the safe failure.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ..auth import TokenRecord, TokenStore

SESSION_COOKIE = "mmcp_ui"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
#: Idle time after which a session ends: short for a visitor who never signed in.
ANONYMOUS_IDLE_S = 3600.0
SIGNED_IN_IDLE_S = 12 * 3600.0
MAX_SESSIONS = 10_000

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]
STATIC_CACHE = b"public, max-age=86400"
_LOOPBACK_NAMES = {"localhost"}


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, with or without brackets) is this machine only."""
    host = host.strip("[]")
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Session:
    """One browser's session: its CSRF token and, once signed in, its bearer token."""

    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    token: str | None = None
    seen: float = field(default_factory=time.monotonic)


class Sessions:
    """Sessions by id, the least recently used dropped first beyond ``MAX_SESSIONS``."""

    def __init__(self, tokens: TokenStore | None) -> None:
        self.tokens = tokens
        self._lock = threading.Lock()
        self._by_id: OrderedDict[str, Session] = OrderedDict()

    @property
    def sign_in(self) -> bool:
        return self.tokens is not None

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._by_id.get(sid)
            if session is None:
                return None
            idle = SIGNED_IN_IDLE_S if session.token else ANONYMOUS_IDLE_S
            if now - session.seen > idle:
                del self._by_id[sid]
                return None
            session.seen = now
            self._by_id.move_to_end(sid)
            return session

    def new(self, token: str | None = None) -> tuple[str, Session]:
        sid = secrets.token_urlsafe(32)
        session = Session(token=token)
        with self._lock:
            self._by_id[sid] = session
            while len(self._by_id) > MAX_SESSIONS:
                self._by_id.popitem(last=False)
        return sid, session

    def drop(self, sid: str | None) -> None:
        with self._lock:
            self._by_id.pop(sid or "", None)

    def record(self, session: Session) -> TokenRecord | None:
        """The token record of a signed-in session while its token is still valid, else None."""
        if self.tokens is None or session.token is None:
            return None
        return self.tokens.verify(session.token)


def csrf_ok(session: Session | None, sent: str | None) -> bool:
    return session is not None and bool(sent) and hmac.compare_digest(session.csrf, sent or "")


class SecurityHeaders:
    """ASGI middleware: the CSP and companion headers on every response; and, on a console without
    sign-in, a Host check so that a web page cannot reach it through DNS rebinding."""

    def __init__(self, app: Any, *, loopback_only: bool) -> None:
        self.app = app
        self.loopback_only = loopback_only

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.loopback_only and not self._host_ok(scope):
            body = b"This console answers only on a loopback address (127.0.0.1, localhost).\n"
            await send(
                {
                    "type": "http.response.start",
                    "status": 421,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                        *_HEADERS,
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return

        static = "/static/" in scope.get("path", "")

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                # Pages hold tenant data and are never cached; the script and stylesheet are, by version.
                extra = [
                    (k, STATIC_CACHE if static and k == b"cache-control" else v) for k, v in _HEADERS if k not in names
                ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    def _host_ok(scope: Any) -> bool:
        host = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if host.startswith("[") and "]:" in host:
            name = host.split("]:", 1)[0] + "]"
        return is_loopback(name)
