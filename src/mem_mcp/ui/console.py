"""The console's plumbing, shared by every page: the request as a handler sees it (``Visit``), the
``Console`` that turns a page handler into an endpoint (session, sign-in, CSRF on POST, typed errors as a
page) and renders templates, and the small parsers the pages share."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timezone
from typing import TYPE_CHECKING, Any, Callable, Mapping
from urllib.parse import quote, urlencode

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from .. import __version__
from ..auth import TokenRecord, TokenStore
from ..config import Settings
from ..errors import InvalidArgumentError, MemMcpError, NotFoundError, PermissionDeniedError
from ..models import Memory
from ..scope import ScopeDefaults
from ..service import CallContext
from .i18n import LANG_COOKIE, LANGUAGES, negotiate, translator
from .security import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, Session, Sessions, csrf_ok

if TYPE_CHECKING:
    from ..service import MemoryService

ACTOR = "console"
#: Messages a redirect may ask the next page to show (``?flash=key``): never text from the URL.
_FLASHES = {"deleted_n", "saved_version", "imported_n", "retried"}
_WORD = re.compile(r"^[\w-]{1,64}$")  # a number or an id in a flash message: never free text from the URL


@dataclass
class Visit:
    """One request as a handler sees it: who is asking, in which language, and what they sent."""

    request: Request
    session: Session
    lang: str
    ctx: CallContext
    record: TokenRecord | None
    base: str
    form: FormData | None = None
    cookies: list[tuple[str, str]] = field(default_factory=list)

    @property
    def t(self) -> Callable[..., str]:
        return translator(self.lang)

    @property
    def query(self) -> QueryParams:
        return self.request.query_params

    @property
    def admin(self) -> bool:
        return self.ctx.defaults.admin

    def field(self, name: str, default: str = "") -> str:
        """A form field (POST) or query parameter (GET), stripped."""
        source: Mapping[str, Any] = self.form if self.form is not None else self.query
        value = source.get(name, default)
        return value.strip() if isinstance(value, str) else default

    def scope(self, mode: str = "list") -> dict[str, str]:
        """The scope the page asks for: agent and run from the filters (every one by default), app and
        tenant only for an admin (a tenant's token is bound to its own; the service enforces it)."""
        scope: dict[str, str] = {}
        if mode == "list":
            scope = {"agent_id": self.field("agent") or "*", "run_id": self.field("run") or "*"}
        if self.admin:
            for seg, name in (("app_id", "app"), ("tenant_id", "tenant")):
                if self.field(name):
                    scope[seg] = self.field(name)
        return scope

    def url(self, path: str, **params: Any) -> str:
        clean = {k: v for k, v in params.items() if v not in (None, "")}
        return f"{self.base}{path}" + (f"?{urlencode(clean)}" if clean else "")


class Console:
    """The console over one service. ``tokens`` None: a local console (the person at this machine
    is an admin of the data directory), answering on loopback addresses only."""

    def __init__(self, service: MemoryService, settings: Settings, tokens: TokenStore | None = None) -> None:
        self.svc = service
        self.settings = settings
        self.sessions = Sessions(tokens)
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("mem_mcp.ui", "templates"),
            autoescape=True,  # memory text is user data: `<script>` must show as text
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["dt"] = format_time
        self.env.filters["day"] = lambda d: d.strftime("%m-%d")
        self.env.filters["json"] = lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True)
        self.env.filters["pathpart"] = lambda v: quote(str(v), safe="")

    def session(self, request: Request) -> tuple[Session, list[tuple[str, str]]]:
        session = self.sessions.get(request.cookies.get(SESSION_COOKIE))
        if session is not None:
            return session, []
        sid, session = self.sessions.new()
        return session, [(SESSION_COOKIE, sid)]

    def context(self, session: Session) -> tuple[CallContext | None, TokenRecord | None]:
        if not self.sessions.sign_in:
            s = self.settings
            defaults = ScopeDefaults(
                app_id=s.default_app, tenant_id=s.default_tenant, agent_id=ACTOR, run_id=ACTOR, admin=True
            )
            return CallContext(defaults=defaults, actor=ACTOR, role="admin"), None
        rec = self.sessions.record(session)
        if rec is None:
            session.token = None  # revoked (or never signed in): this session is anonymous from now on
            return None, None
        defaults = replace(rec.defaults(), agent_id=ACTOR, run_id=ACTOR)
        return CallContext(defaults=defaults, actor=ACTOR, role=rec.role, token_id=rec.id), rec

    def route(self, handler: Callable[[Visit], Response]) -> Callable[[Request], Any]:
        """Wrap a page handler: session, sign-in, CSRF on POST, typed errors as a page."""

        async def endpoint(request: Request) -> Response:
            session, cookies = self.session(request)
            lang = negotiate(request.headers.get("accept-language"), request.cookies.get(LANG_COOKIE))
            base = base_path(request)
            ctx, rec = self.context(session)
            if ctx is None:
                return self.set_cookies(RedirectResponse(f"{base}/signin", status_code=303), cookies, request)
            visit = Visit(request=request, session=session, lang=lang, ctx=ctx, record=rec, base=base, cookies=cookies)
            if request.method == "POST":
                visit.form = await request.form()
                if not csrf_ok(session, sent_csrf(request, visit.form)):
                    return self.set_cookies(self.csrf_refused(visit), cookies, request)
            try:
                response = await run_in_threadpool(handler, visit)
            except MemMcpError as exc:
                response = self.error(visit, exc)
            return self.set_cookies(response, visit.cookies, request)

        return endpoint

    def set_cookies(self, response: Response, cookies: list[tuple[str, str]], request: Request) -> Response:
        for name, value in cookies:
            response.set_cookie(
                name,
                value,
                path=f"{base_path(request)}/",
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
        return response

    def render(self, visit: Visit, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        values.setdefault("page", "error")
        flash = visit.query.get("flash")
        kept = [(k, v) for k, v in visit.query.multi_items() if k not in ("flash", "n", "v", "r", "edit")]
        here = visit.request.url.path + (f"?{urlencode(kept)}" if kept else "")

        def detail_url(memory: Memory, **params: Any) -> str:
            scope = {"app": memory.scope.app_id, "tenant": memory.scope.tenant_id} if visit.admin else {}
            return visit.url(f"/memories/{quote(memory.id, safe='')}", store=memory.store, **scope, **params)

        page = self.env.get_template(template).render(
            t=visit.t,
            lang=visit.lang,
            languages=LANGUAGES,
            base=visit.base,
            csrf=visit.session.csrf,
            record=visit.record,
            sign_in=self.sessions.sign_in,
            admin=visit.admin,
            visit=visit,
            here=here,
            detail_url=detail_url,
            visit_item=item_value,
            version=__version__,
            flash=self._flash(visit, flash),
            **values,
        )
        return HTMLResponse(page, status_code=status_code)

    @staticmethod
    def _flash(visit: Visit, key: str | None) -> str | None:
        if key not in _FLASHES:
            return None
        return visit.t(key, **{k: v for k, v in visit.query.items() if k in ("n", "v", "r") and _WORD.match(v)})

    def error(self, visit: Visit, exc: MemMcpError) -> HTMLResponse:
        status = 404 if isinstance(exc, NotFoundError) else 403 if isinstance(exc, PermissionDeniedError) else 400
        return self.render(visit, "error.html", status_code=status, error=exc)

    def csrf_refused(self, visit: Visit) -> HTMLResponse:
        exc = PermissionDeniedError(visit.t("csrf_refused"), field=CSRF_FIELD)
        return self.render(visit, "error.html", status_code=403, error=exc)

    def stores(self, visit: Visit) -> list[Any]:
        return self.svc.list_stores(ctx=visit.ctx).stores


class Pages:
    """A group of pages over one console (a module of ``ui.pages``)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.svc = console.svc

    def render(self, visit: Visit, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        return self.console.render(visit, template, status_code, **values)


# -- helpers ------------------------------------------------------------------------------------


def base_path(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def sent_csrf(request: Request, form: FormData) -> str | None:
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else request.headers.get(CSRF_HEADER)


def local_path(value: str, base: str) -> str | None:
    """``value`` if it is a path inside this console (never another site: no scheme, no ``//``)."""
    if value.startswith(f"{base}/") and not value.startswith("//") and "\\" not in value:
        return value
    return None


def format_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def parse_day(value: str, name: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(value), time(), timezone.utc)
    except ValueError as exc:
        raise InvalidArgumentError(f"`{name}` must be a date like 2026-12-01, got {value!r}.", field=name) from exc


def parse_int(value: str, name: str) -> int:
    if not value:
        return 0
    try:
        number = int(value)
    except ValueError as exc:
        raise InvalidArgumentError(f"`{name}` must be a whole number, got {value!r}.", field=name) from exc
    if number < 0:
        raise InvalidArgumentError(f"`{name}` must not be negative.", field=name)
    return number


def item_value(memory: Memory) -> str:
    """A memory's id with its full scope, as a bulk-delete checkbox value."""
    s = memory.scope
    return json.dumps([s.app_id, s.tenant_id, s.agent_id, s.run_id, memory.id], ensure_ascii=False)
