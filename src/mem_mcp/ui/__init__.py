"""The memory console (``mem-mcp ui``): a person sees, searches, corrects and forgets what the
assistant remembers, in the browser. A second adapter over the transport-free core, beside the MCP
server; imported only when the console is used, so ``mem-mcp serve`` over stdio never loads it."""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

from ..config import Settings
from ..errors import InvalidArgumentError
from .app import build_app
from .security import is_loopback

__all__ = ["DEFAULT_PORT", "build_app", "run"]

DEFAULT_PORT = 8766
log = logging.getLogger(__name__)


def run(settings: Settings, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT, sign_in: bool = False) -> None:
    """Serve the console until Ctrl-C. Without ``sign_in`` it is a local console (no password: the
    person at this machine owns the data directory), so it refuses any address but loopback."""
    tokens = None
    if sign_in:
        from ..auth import TokenStore

        tokens = TokenStore(settings.token_path)
        if not tokens.active():
            raise InvalidArgumentError(
                f"No tokens in {settings.token_path}: token sign-in needs one. Create it with "
                "`mem-mcp token create --tenant <user> --role write` (or --role admin to see every tenant).",
                field="tokens_file",
            )
    elif not is_loopback(host):
        raise InvalidArgumentError(
            f"The console without sign-in shows every memory to anyone who can reach {host}; it only listens on a "
            "loopback address (127.0.0.1). Add --sign-in to require a token from `mem-mcp token create`.",
            field="host",
        )
    import uvicorn

    from ..service import MemoryService

    svc = MemoryService(settings)
    # Open the database and load the model while the first page is being requested.
    threading.Thread(target=_warm_up, args=(svc,), daemon=True, name="mem-mcp-ui-warm-up").start()
    app = build_app(svc, settings, tokens)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=10,
    )
    where = f"[{host}]" if ":" in host else host
    print(
        f"mem-mcp console on http://{where}:{port}/  ({'token sign-in' if sign_in else 'local, no sign-in'}; "
        "Ctrl-C to stop)",
        file=sys.stderr,
        flush=True,
    )
    try:
        uvicorn.Server(config).run()
    finally:
        svc.close()


def _warm_up(svc: Any) -> None:
    try:
        svc.warm_up()
    except Exception:  # an optimisation only: the first page reports any real error
        log.exception("console warm-up failed")
