"""HTTP hosting: token loading (and the loopback-only ``--no-auth``), the ASGI app for streamable
HTTP or SSE with a clear 401, and the uvicorn server with graceful shutdown."""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Literal

from ..auth import TokenStore
from ..config import Settings
from ..errors import InvalidArgumentError
from .admission import HealthEndpoint, SessionGuard
from .app import build_server

if TYPE_CHECKING:
    from ..service import MemoryService

log = logging.getLogger(__name__)

Transport = Literal["stdio", "sse", "streamable-http"]
_LOOPBACK_NAMES = {"localhost"}
#: How long in-flight requests may take to finish on SIGINT/SIGTERM.
GRACEFUL_SHUTDOWN_S = 30
#: How long the start-up waits for the model before it freezes what is loaded by then anyway.
FREEZE_WAIT_S = 600.0


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_tokens(settings: Settings) -> TokenStore | None:
    """The token file for HTTP hosting, or None with ``no_auth`` (loopback only). Refuses to serve
    HTTP with no usable token, saying how to create one."""
    if settings.no_auth:
        if not _is_loopback(settings.host):
            raise InvalidArgumentError(
                f"--no-auth serves every memory to anyone who can reach {settings.host}; it is only allowed on "
                "a loopback address (127.0.0.1). Create tokens with `mem-mcp token create` instead.",
                field="no_auth",
            )
        log.warning("serving HTTP without tokens on %s: every caller is an admin", settings.host)
        return None
    tokens = TokenStore(settings.token_path)
    if not tokens.active():
        raise InvalidArgumentError(
            f"No tokens in {settings.token_path}: HTTP needs bearer tokens. Create one with "
            "`mem-mcp token create --app default --tenant <user> --role write` and give it to the user; "
            "or, for a single user on 127.0.0.1 only, pass --no-auth.",
            field="tokens_file",
        )
    return tokens


class ClearAuthErrors:
    """ASGI wrapper that rewrites the SDK's bare 401 ("Authentication required") into a message that
    says what is wrong and what to do."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        has_header = any(k.lower() == b"authorization" for k, _ in scope.get("headers", []))
        rewriting = False

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal rewriting
            if message["type"] == "http.response.start" and message["status"] == 401:
                rewriting = True
                body = json.dumps({"error": "invalid_token", "error_description": _why_401(has_header)}).encode()
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**message, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            if rewriting:
                return  # the SDK's original body
            await send(message)

        await self.app(scope, receive, send_wrapper)


def _why_401(has_header: bool) -> str:
    if has_header:
        return (
            "The bearer token is not valid: it is unknown, revoked, or mistyped. Check the "
            "Authorization header, or ask the operator for a new token."
        )
    return (
        "This server needs a bearer token: send 'Authorization: Bearer mmcp_...'. The "
        "operator creates one with `mem-mcp token create --app A --tenant T --role write`."
    )


def http_app(
    settings: Settings, transport: Transport, service: MemoryService | None = None, *, tokens: TokenStore | None = None
) -> Any:
    """The ASGI app serving MCP over streamable HTTP (at /mcp) or SSE (at /sse and /messages/),
    plus /healthz. ``tokens`` None means no authentication."""
    server = build_server(settings, service, tokens=tokens)
    if transport == "streamable-http":
        app = server.streamable_http_app(
            stateless_http=settings.stateless_http,
            host=settings.host,
            session_idle_timeout=settings.session_idle_timeout_s,
            max_sessions=settings.max_sessions,
        )
        if service is not None:
            # The memory console at /ui/, behind the same tokens (a sign-in form, then a session cookie).
            from ..ui import build_app as console_app

            app.mount("/ui", console_app(service, settings, tokens))
        if tokens is not None and not settings.stateless_http:
            app = SessionGuard(
                app, tokens, server.limiter, settings.max_sessions_per_token, settings.session_idle_timeout_s
            )
    elif transport == "sse":
        app = server.sse_app(host=settings.host)
    else:
        raise InvalidArgumentError(
            f"{transport!r} is not an HTTP transport; use sse or streamable-http.", field="transport"
        )
    # /healthz is answered before the MCP app, its store check on a thread of its own (admission.py).
    return HealthEndpoint(ClearAuthErrors(app), lambda: server.core.service().health())


def freeze_when_warm(service: MemoryService, wait_s: float = FREEZE_WAIT_S) -> threading.Thread:
    """Once the warm-up has loaded the model (or after ``wait_s``), move every object alive then
    (modules, the model, the database handles: ~180,000 objects) out of the garbage collector's reach
    (``gc.freeze``). A full collection otherwise walks them all, holding the GIL 120-160 ms on a busy
    2-core machine: every thread, /healthz included, stops for it every few seconds under load."""

    def run() -> None:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            emb = service.stores.configured
            if emb is not None and getattr(emb, "loaded", False):
                time.sleep(2.0)  # the rest of the warm-up: the default tenant's memories
                break
            time.sleep(0.5)
        gc.collect()
        gc.freeze()
        log.info("froze %d start-up objects out of the garbage collector", gc.get_freeze_count())

    thread = threading.Thread(target=run, name="mem-mcp-gc-freeze", daemon=True)
    thread.start()
    return thread


def serve_http(settings: Settings, transport: Transport) -> None:
    """Serve over HTTP with tokens until SIGINT/SIGTERM. On shutdown the server stops accepting
    requests, lets those in flight finish (up to 30 s), then finishes queued extraction jobs and
    writes out the request log."""
    import uvicorn

    tokens = load_tokens(settings)
    from ..service import MemoryService

    core = MemoryService(settings)
    app = http_app(settings, transport, core, tokens=tokens)
    freeze_when_warm(core)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    path = "/mcp" if transport == "streamable-http" else "/sse"
    extra = ", console: /ui/" if transport == "streamable-http" else ""
    log.warning(
        "mem-mcp %s on http://%s:%d%s (health: /healthz%s)", transport, settings.host, settings.port, path, extra
    )

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            # After in-flight requests are done, and before uvicorn re-raises SIGTERM to exit.
            await super().shutdown(sockets)
            await asyncio.to_thread(core.close)

    try:
        Server(config).run()
    finally:
        core.close()  # idempotent; covers a failed start
