"""The console's web app: server-rendered pages over the public ``MemoryService`` API.

Like the MCP server, this is an adapter: every page is a few service calls with the caller's
``CallContext``, so a token sees through the console exactly what it sees through the tools (its
tenant; an admin token every tenant), every call lands in the request log, and bad input gets the
service's typed error. Handlers are plain functions run in Starlette's thread pool, because the
service blocks (LanceDB, the embedder).

Pages: ``/`` overview, ``/memories`` (list, search, filters, bulk delete, export, import),
``/memories/{id}`` (a memory with its source messages, history and edit form), ``/profiles``,
``/activity`` (request log and extraction jobs), ``/signin``.

This module wires the routes; ``console`` holds the plumbing every page shares (sessions, sign-in,
CSRF, rendering) and ``pages`` one module per group of pages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..auth import TokenStore
from ..config import Settings
from .console import Console
from .pages.activity import ActivityPages
from .pages.memories import MemoryPages
from .pages.memories_import import ImportPages
from .pages.overview import OverviewPages
from .pages.profiles import ProfilePages
from .pages.signin import SignInPages
from .security import SecurityHeaders

if TYPE_CHECKING:
    from ..service import MemoryService


def build_app(service: MemoryService, settings: Settings, tokens: TokenStore | None = None) -> Any:
    """The console as an ASGI app over ``service``. With ``tokens``, every page needs a signed-in token
    and shows what that token may see; without, it is a local console that answers on loopback only."""
    console = Console(service, settings, tokens)
    r = console.route
    overview, memories, imports = OverviewPages(console), MemoryPages(console), ImportPages(console)
    profiles, activity, signin = ProfilePages(console), ActivityPages(console), SignInPages(console)
    routes = [
        Route("/", r(overview.overview)),
        Route("/memories", r(memories.memories)),
        Route("/memories/export", r(memories.export)),
        Route("/memories/import", imports.import_, methods=["POST"]),
        Route("/memories/delete", r(memories.delete), methods=["POST"]),
        Route("/memories/{memory_id}", r(memories.memory)),
        Route("/memories/{memory_id}/edit", r(memories.edit), methods=["POST"]),
        Route("/profiles", r(profiles.profiles)),
        Route("/activity", r(activity.activity)),
        Route("/activity/retry", r(activity.retry), methods=["POST"]),
        Route("/signin", signin.signin, methods=["GET", "POST"]),
        Route("/signout", r(signin.signout), methods=["POST"]),
        Route("/lang/{code}", signin.language),
        Mount("/static", StaticFiles(packages=[("mem_mcp.ui", "static")]), name="static"),
    ]
    app = Starlette(routes=routes)
    return SecurityHeaders(app, loopback_only=not console.sessions.sign_in)
