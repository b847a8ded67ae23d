"""The console's web app: server-rendered pages over the public ``MemoryService`` API.

Like the MCP server, this is an adapter: every page is a few service calls with the caller's
``CallContext``, so a token sees through the console exactly what it sees through the tools (its
tenant; an admin token every tenant), every call lands in the request log, and bad input gets the
service's typed error. Handlers are plain functions run in Starlette's thread pool, because the
service blocks (LanceDB, the embedder).

Pages: ``/`` overview, ``/memories`` (list, search, filters, bulk delete, export, import),
``/memories/{id}`` (a memory with its source messages, history and edit form), ``/profiles``,
``/activity`` (request log and extraction jobs), ``/signin``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Mapping
from urllib.parse import quote, urlencode

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import __version__
from ..auth import TokenRecord, TokenStore
from ..config import Settings
from ..errors import InvalidArgumentError, MemMcpError, NotFoundError, PermissionDeniedError
from ..models import BUILTIN_STRATEGIES, Memory
from ..scope import ScopeDefaults
from ..service import CallContext
from . import charts
from .i18n import LANG_COOKIE, LANGUAGES, negotiate, translator
from .security import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, SecurityHeaders, Session, Sessions, csrf_ok

if TYPE_CHECKING:
    from ..service import MemoryService

log = logging.getLogger(__name__)

PAGE_SIZE = 25
CHART_DAYS = 14
ACTOR = "console"
MAX_IMPORT_BYTES = 256 * 1024 * 1024
#: Messages a redirect may ask the next page to show (``?flash=key``): never text from the URL.
_FLASHES = {"deleted_n", "saved_version", "imported_n", "retried"}
_EXTRA_TYPES = ("note",)
_WORD = re.compile(r"^[\w-]{1,64}$")  # a number or an id in a flash message: never free text from the URL
LOG_FETCH, LOG_ROWS = 1000, 200
#: Operations that change nothing: the console's own calls of these are hidden from the activity log
#: unless asked for.
_READ_OPERATIONS = {
    "GetMemoryStore", "ListMemoryStores", "SearchMemories", "ListMemories", "GetMemory", "MemoryHistory",
    "ListMessages", "ListRequests", "GetRequest", "Stats", "ExportMemories", "ListProfileSchemas",
    "GetProfileSchema", "GetUserProfile",
}


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
        self.env.filters["dt"] = _format_time
        self.env.filters["day"] = lambda d: d.strftime("%m-%d")
        self.env.filters["json"] = lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True)
        self.env.filters["pathpart"] = lambda v: quote(str(v), safe="")

    # -- the app --------------------------------------------------------------------------------

    def app(self) -> Starlette:
        r = self._route
        routes = [
            Route("/", r(self.overview)),
            Route("/memories", r(self.memories)),
            Route("/memories/export", r(self.export)),
            Route("/memories/import", self.import_, methods=["POST"]),
            Route("/memories/delete", r(self.delete), methods=["POST"]),
            Route("/memories/{memory_id}", r(self.memory)),
            Route("/memories/{memory_id}/edit", r(self.edit), methods=["POST"]),
            Route("/profiles", r(self.profiles)),
            Route("/activity", r(self.activity)),
            Route("/activity/retry", r(self.retry), methods=["POST"]),
            Route("/signin", self.signin, methods=["GET", "POST"]),
            Route("/signout", r(self.signout), methods=["POST"]),
            Route("/lang/{code}", self.language),
            Mount("/static", StaticFiles(packages=[("mem_mcp.ui", "static")]), name="static"),
        ]
        app = Starlette(routes=routes)
        return SecurityHeaders(app, loopback_only=not self.sessions.sign_in)  # type: ignore[return-value]

    # -- plumbing -------------------------------------------------------------------------------

    def _session(self, request: Request) -> tuple[Session, list[tuple[str, str]]]:
        session = self.sessions.get(request.cookies.get(SESSION_COOKIE))
        if session is not None:
            return session, []
        sid, session = self.sessions.new()
        return session, [(SESSION_COOKIE, sid)]

    def _context(self, session: Session) -> tuple[CallContext | None, TokenRecord | None]:
        if not self.sessions.sign_in:
            s = self.settings
            defaults = ScopeDefaults(app_id=s.default_app, tenant_id=s.default_tenant, agent_id=ACTOR, run_id=ACTOR,
                                     admin=True)
            return CallContext(defaults=defaults, actor=ACTOR, role="admin"), None
        rec = self.sessions.record(session)
        if rec is None:
            session.token = None  # revoked (or never signed in): this session is anonymous from now on
            return None, None
        defaults = replace(rec.defaults(), agent_id=ACTOR, run_id=ACTOR)
        return CallContext(defaults=defaults, actor=ACTOR, role=rec.role, token_id=rec.id), rec

    def _route(self, handler: Callable[[Visit], Response]) -> Callable[[Request], Any]:
        """Wrap a page handler: session, sign-in, CSRF on POST, typed errors as a page."""

        async def endpoint(request: Request) -> Response:
            session, cookies = self._session(request)
            lang = negotiate(request.headers.get("accept-language"), request.cookies.get(LANG_COOKIE))
            base = _base(request)
            ctx, rec = self._context(session)
            if ctx is None:
                return self._set_cookies(RedirectResponse(f"{base}/signin", status_code=303), cookies, request)
            visit = Visit(request=request, session=session, lang=lang, ctx=ctx, record=rec, base=base, cookies=cookies)
            if request.method == "POST":
                visit.form = await request.form()
                if not csrf_ok(session, _sent_csrf(request, visit.form)):
                    return self._set_cookies(self._csrf_refused(visit), cookies, request)
            try:
                response = await run_in_threadpool(handler, visit)
            except MemMcpError as exc:
                response = self._error(visit, exc)
            return self._set_cookies(response, visit.cookies, request)

        return endpoint

    def _set_cookies(self, response: Response, cookies: list[tuple[str, str]], request: Request) -> Response:
        for name, value in cookies:
            response.set_cookie(
                name, value, path=f"{_base(request)}/", httponly=True, samesite="strict",
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
            t=visit.t, lang=visit.lang, languages=LANGUAGES, base=visit.base, csrf=visit.session.csrf,
            record=visit.record, sign_in=self.sessions.sign_in, admin=visit.admin, visit=visit,
            here=here, detail_url=detail_url, visit_item=_item, version=__version__,
            flash=self._flash(visit, flash),
            **values,
        )
        return HTMLResponse(page, status_code=status_code)

    @staticmethod
    def _flash(visit: Visit, key: str | None) -> str | None:
        if key not in _FLASHES:
            return None
        return visit.t(key, **{k: v for k, v in visit.query.items() if k in ("n", "v", "r") and _WORD.match(v)})

    def _error(self, visit: Visit, exc: MemMcpError) -> HTMLResponse:
        status = 404 if isinstance(exc, NotFoundError) else 403 if isinstance(exc, PermissionDeniedError) else 400
        return self.render(visit, "error.html", status_code=status, error=exc)

    def _csrf_refused(self, visit: Visit) -> HTMLResponse:
        exc = PermissionDeniedError(visit.t("csrf_refused"), field=CSRF_FIELD)
        return self.render(visit, "error.html", status_code=403, error=exc)

    def _stores(self, visit: Visit) -> list[Any]:
        return self.svc.list_stores(ctx=visit.ctx).stores

    # -- overview -------------------------------------------------------------------------------

    def overview(self, visit: Visit) -> Response:
        stores = self._stores(visit)
        stats = [self.svc.stats(s.name, ctx=visit.ctx) for s in stores[:20]]
        store = visit.field("store") or "default"
        scope = {"agent_id": "*", "run_id": "*", **({"tenant_id": "*"} if visit.admin else {})}
        today = datetime.now(timezone.utc).date()
        days = [today - timedelta(days=CHART_DAYS - 1 - i) for i in range(CHART_DAYS)]
        since = datetime.combine(days[0], time(), timezone.utc)
        saved = self._saved_per_day(visit, store, scope, days, since)
        searches = self.svc.list_requests(
            scope={k: v for k, v in scope.items() if k == "tenant_id"}, operation="SearchMemories", since=since,
            limit=1000, ctx=visit.ctx,
        ).requests
        per_day = {d: 0 for d in days}
        for req in searches:
            d = req.created_at.astimezone(timezone.utc).date()
            if d in per_day:
                per_day[d] += 1
        return self.render(
            visit, "overview.html", page="overview", stats=stats, store=store, stores=stores,
            saved_chart=charts.bar_chart(days, saved),
            search_chart=charts.bar_chart(days, [per_day[d] for d in days], capped=len(searches) >= 1000),
            chart_days=CHART_DAYS,
        )

    def _saved_per_day(self, visit: Visit, store: str, scope: dict[str, str], days: list[date],
                       since: datetime) -> list[int]:
        """Memories saved on each day: read from the window's rows when they are few (one call, usually),
        else counted day by day (one count each), so a busy store costs a bounded number of calls."""
        window = {"created_at": {"$gte": since.isoformat()}}
        per_day = {d: 0 for d in days}
        offset = 0
        for _ in range(4):
            page = self.svc.list_memories(store=store, scope=scope, filter=window, offset=offset, limit=500,
                                          ctx=visit.ctx)
            for m in page.memories:
                d = m.created_at.astimezone(timezone.utc).date()
                if d in per_day:
                    per_day[d] += 1
            offset += len(page.memories)
            if offset >= page.total or not page.memories:
                return [per_day[d] for d in days]
        counts = []
        for day in days:
            start = datetime.combine(day, time(), timezone.utc)
            one = {"created_at": {"$gte": start.isoformat(), "$lt": (start + timedelta(days=1)).isoformat()}}
            counts.append(self.svc.list_memories(store=store, scope=scope, filter=one, limit=1, ctx=visit.ctx).total)
        return counts

    # -- memories -------------------------------------------------------------------------------

    def _filters(self, visit: Visit) -> dict[str, Any]:
        q = {name: visit.field(name) for name in ("q", "store", "type", "tag", "since", "until", "agent", "run")}
        q["store"] = q["store"] or "default"
        q["app"] = visit.field("app") if visit.admin else ""
        q["tenant"] = visit.field("tenant") if visit.admin else ""
        return q

    def _where(self, visit: Visit, f: Mapping[str, str]) -> dict[str, Any] | None:
        where: dict[str, Any] = {}
        if f["tag"]:
            where["tags"] = f["tag"]
        created: dict[str, str] = {}
        if f["since"]:
            created["$gte"] = _day(f["since"], "since").isoformat()
        if f["until"]:
            created["$lt"] = (_day(f["until"], "until") + timedelta(days=1)).isoformat()
        if created:
            where["created_at"] = created
        return where or None

    def _find(
        self, visit: Visit, f: Mapping[str, str], offset: int, limit: int
    ) -> tuple[list[tuple[Memory, float | None]], int | None]:
        """The memories the filters select: a search when there is a query, else a listing."""
        types = [f["type"]] if f["type"] else None
        where = self._where(visit, f)
        if f["q"]:
            if f["tenant"] == "*":
                raise InvalidArgumentError(
                    "A search covers one tenant: give a tenant, or clear the query to list every tenant's memories.",
                    field="tenant",
                )
            found = self.svc.search_memories(
                query=f["q"], store=f["store"], scope=visit.scope(), top_k=limit, offset=offset, types=types,
                filter=where, ctx=visit.ctx,
            )
            return [(h.memory, h.score) for h in found.results], None
        page = self.svc.list_memories(
            store=f["store"], scope=visit.scope(), filter=where, types=types, offset=offset, limit=limit, ctx=visit.ctx
        )
        return [(m, None) for m in page.memories], page.total

    def memories(self, visit: Visit) -> Response:
        f = self._filters(visit)
        offset = _int(visit.field("offset"), "offset")
        stores = self._stores(visit)
        rows, total = self._find(visit, f, offset, PAGE_SIZE + (1 if f["q"] else 0))
        more = len(rows) > PAGE_SIZE if total is None else offset + PAGE_SIZE < total
        rows = rows[:PAGE_SIZE]
        current = next((s for s in stores if s.name == f["store"]), None)
        types = [*BUILTIN_STRATEGIES, *_EXTRA_TYPES, *(c.name for c in (current.custom_strategies if current else []))]
        params = {k: v for k, v in f.items() if v}
        return self.render(
            visit, "memories.html", page="memories", rows=rows, total=total, offset=offset, f=f, stores=stores,
            types=types, page_size=PAGE_SIZE, more=more, params=params,
            prev_url=visit.url("/memories", **params, offset=max(0, offset - PAGE_SIZE)) if offset else None,
            next_url=visit.url("/memories", **params, offset=offset + PAGE_SIZE) if more else None,
            export_url=visit.url("/memories/export", **params),
            can_write=visit.ctx.role in ("write", "admin"), can_import=visit.ctx.role == "admin",
        )

    def memory(self, visit: Visit) -> Response:
        memory_id = visit.request.path_params["memory_id"]
        store = visit.field("store") or "default"
        scope = {k: v for k, v in visit.scope("read").items()}
        memory = self.svc.lookup_memory(memory_id, store=store, scope=scope or None, ctx=visit.ctx)
        full = memory.scope.model_dump()
        history = self.svc.memory_history(memory_id, store=store, scope=full, ctx=visit.ctx)
        messages = self._sources(visit, memory)
        return self.render(
            visit, "memory.html", page="memories", memory=memory, history=history.entries, messages=messages,
            store=store, editing=visit.field("edit") == "1", can_write=visit.ctx.role in ("write", "admin"),
            item=_item(memory),
        )

    def _sources(self, visit: Visit, memory: Memory) -> list[Any] | None:
        """The conversation messages a memory came from; None when it was saved as written."""
        wanted = {s for s in memory.source if s.startswith("msg_")}
        if not wanted:
            return None
        found: list[Any] = []
        for page in range(10):  # a run's messages, 1,000 at a time
            batch = self.svc.list_messages(
                store=memory.store, scope=memory.scope.model_dump(), limit=1000, offset=page * 1000, ctx=visit.ctx
            ).messages
            found.extend(m for m in batch if m.id in wanted)
            if len(batch) < 1000 or len(found) == len(wanted):
                break
        return found

    def edit(self, visit: Visit) -> Response:
        memory_id = visit.request.path_params["memory_id"]
        store = visit.field("store") or "default"
        scope = {seg: visit.field(name) for seg, name in
                 (("app_id", "app"), ("tenant_id", "tenant"), ("agent_id", "agent"), ("run_id", "run"))}
        if not visit.admin:
            scope.pop("app_id"), scope.pop("tenant_id")
        scope = {seg: value for seg, value in scope.items() if value}
        form = visit.form or {}
        text = form.get("text") if isinstance(form.get("text"), str) else None
        result = self.svc.update_memory(
            memory_id, text=text, tags=_tags(visit.field("tags")), store=store, scope=scope, ctx=visit.ctx
        )
        version = result.memory.version if result.memory else ""
        return RedirectResponse(
            visit.url(f"/memories/{memory_id}", store=store, app=visit.field("app") if visit.admin else None,
                      tenant=visit.field("tenant") if visit.admin else None, flash="saved_version", v=version),
            status_code=303,
        )

    def delete(self, visit: Visit) -> Response:
        assert visit.form is not None
        store = visit.field("store") or "default"
        items = [_parse_item(raw) for raw in visit.form.getlist("item") if isinstance(raw, str)]
        back = _local_path(visit.field("next"), visit.base) or visit.url("/memories", store=store)
        if not items:
            raise InvalidArgumentError(visit.t("nothing_selected"), field="item")
        if visit.field("confirmed") != "1":
            return self.render(visit, "confirm.html", page="memories", items=[json.dumps(i) for i in items],
                               store=store, back=back, count=len(items))
        for app_id, tenant_id, agent_id, run_id, memory_id in items:
            scope = {"agent_id": agent_id, "run_id": run_id}
            if visit.admin:
                scope.update(app_id=app_id, tenant_id=tenant_id)
            self.svc.delete_memory(memory_id, store=store, scope=scope, ctx=visit.ctx)
        sep = "&" if "?" in back else "?"
        return RedirectResponse(f"{back}{sep}{urlencode({'flash': 'deleted_n', 'n': len(items)})}", status_code=303)

    def export(self, visit: Visit) -> Response:
        f = self._filters(visit)
        ids: set[str] = set()
        if f["q"]:
            rows, _ = self._find(visit, f, 0, 50)
            ids = {m.id for m, _ in rows}
        else:
            offset = 0
            while True:
                rows, total = self._find(visit, f, offset, 500)
                ids.update(m.id for m, _ in rows)
                offset += 500
                if total is None or offset >= total or not rows:
                    break
        scope = visit.scope()
        records = [r for r in self.svc.export_memories(store=f["store"], scope=scope, ctx=visit.ctx) if r["id"] in ids]
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        return Response(
            body, media_type="application/x-ndjson",
            headers={"content-disposition": f'attachment; filename="memories-{f["store"]}-{stamp}.jsonl"'},
        )

    async def import_(self, request: Request) -> Response:
        """Import a JSON Lines file sent as the request body; the answer streams progress as JSON Lines
        (``{"done": n, "total": N}`` …, then ``{"imported": N}`` or ``{"error": "CODE: message"}``)."""
        session, cookies = self._session(request)
        lang = negotiate(request.headers.get("accept-language"), request.cookies.get(LANG_COOKIE))
        t = translator(lang)
        ctx, _ = self._context(session)
        if ctx is None:
            # 403, not 401: the team server turns every 401 into its bearer-token answer for MCP clients.
            return JSONResponse({"error": "UNAUTHENTICATED: sign in first."}, status_code=403)
        store = request.query_params.get("store") or "default"
        size = int(request.headers.get("content-length") or 0)
        if size > MAX_IMPORT_BYTES:
            return JSONResponse({"error": f"INVALID_ARGUMENT: the file is larger than {MAX_IMPORT_BYTES >> 20} MiB; "
                                          "import it with `mem-mcp import` instead."}, status_code=413)
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            return await self._import_form(request)  # the form posted without the page's script
        if not csrf_ok(session, request.headers.get(CSRF_HEADER)):
            return JSONResponse({"error": f"PERMISSION_DENIED: {t('csrf_refused')}"}, status_code=403)
        body = await request.body()
        try:
            lines, records = _read_jsonl(body)
        except MemMcpError as exc:
            return JSONResponse({"error": f"{exc.code}: {exc.message}"}, status_code=400)
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        def put(event: dict[str, Any]) -> None:
            loop.call_soon_threadsafe(events.put_nowait, event)

        def work() -> None:
            done = 0

            def progress(n: int) -> None:
                nonlocal done
                done += n
                put({"done": done, "total": len(records)})

            try:
                put({"imported": self.svc.import_memories(records, store=store, progress=progress, ctx=ctx)})
            except MemMcpError as exc:
                message = exc.message
                record = exc.details.get("record") if hasattr(exc, "details") else None
                if isinstance(record, int) and 0 < record <= len(lines):
                    message = f"line {lines[record - 1]}: {message}"
                put({"error": f"{exc.code}: {message}"})
            except Exception as exc:  # top of a request: report it to the page, log it here
                log.exception("console import failed")
                put({"error": f"INTERNAL: {type(exc).__name__}"})

        async def stream() -> Any:
            yield json.dumps({"done": 0, "total": len(records)}) + "\n"
            task = loop.run_in_executor(None, work)
            while True:
                event = await events.get()
                yield json.dumps(event, ensure_ascii=False) + "\n"
                if "done" not in event:
                    break
            await task

        response = StreamingResponse(stream(), media_type="application/x-ndjson")
        return self._set_cookies(response, cookies, request)

    async def _import_form(self, request: Request) -> Response:
        """The import form without script: one request, then back to the list with the count."""

        def work(visit: Visit) -> Response:
            assert visit.form is not None
            upload = visit.form.get("file")
            if upload is None or isinstance(upload, str):
                raise InvalidArgumentError("Choose a JSON Lines file to import.", field="file")
            lines, records = _read_jsonl(upload.file.read())
            store = visit.query.get("store") or "default"
            try:
                count = self.svc.import_memories(records, store=store, ctx=visit.ctx)
            except InvalidArgumentError as exc:
                record = exc.details.get("record")
                if not isinstance(record, int) or not 0 < record <= len(lines):
                    raise
                raise InvalidArgumentError(f"line {lines[record - 1]}: {exc.message}", field="file") from exc
            return RedirectResponse(visit.url("/memories", store=store, flash="imported_n", n=count), status_code=303)

        return await self._route(work)(request)

    # -- profiles -------------------------------------------------------------------------------

    def profiles(self, visit: Visit) -> Response:
        app_id = visit.field("app") if visit.admin and visit.field("app") else None
        schemas = self.svc.list_profile_schemas(limit=100, app_id=app_id, ctx=visit.ctx).profile_schemas
        chosen = visit.field("schema") or (schemas[0].profile_schema_id if schemas else "")
        profile = None
        if chosen:
            tenant = visit.field("tenant") if visit.admin and visit.field("tenant") else None
            profile = self.svc.get_user_profile(chosen, tenant_id=tenant, app_id=app_id, include_history=True,
                                                ctx=visit.ctx)
        return self.render(visit, "profiles.html", page="profiles", schemas=schemas, chosen=chosen, profile=profile)

    # -- activity -------------------------------------------------------------------------------

    def activity(self, visit: Visit) -> Response:
        tenant = visit.field("tenant") if visit.admin else ""
        scope = {"tenant_id": tenant} if tenant else ({"tenant_id": "*"} if visit.admin else {})
        since = _day(visit.field("since"), "since") if visit.field("since") else None
        own_reads = visit.field("console") == "1"
        log_rows = self.svc.list_requests(
            scope=scope, operation=visit.field("operation") or None, outcome=visit.field("outcome") or None,
            since=since, token_id=visit.field("token") or None, limit=LOG_FETCH, ctx=visit.ctx,
        ).requests
        if not own_reads:  # the pages' own reads would bury what the assistant did
            log_rows = [r for r in log_rows if not (r.actor == ACTOR and r.operation in _READ_OPERATIONS)]
        log_rows = log_rows[:LOG_ROWS]
        adds = self.svc.list_requests(scope=scope, operation="AddMemories", limit=200, ctx=visit.ctx).requests
        jobs = []
        for req in [r for r in adds if r.outcome in ("pending", "running", "failed")][:20]:
            try:
                jobs.append(self.svc.get_request(req.request_id, ctx=visit.ctx))
            except NotFoundError:
                continue
        operations = sorted({r.operation for r in log_rows} | {"AddMemories", "SearchMemories", "UpdateMemory",
                                                               "DeleteMemory", "ListMemories"})
        return self.render(
            visit, "activity.html", page="activity", requests=log_rows, jobs=jobs, operations=operations,
            filters={n: visit.field(n) for n in ("operation", "outcome", "since", "tenant", "token", "console")},
            can_write=visit.ctx.role in ("write", "admin"),
        )

    def retry(self, visit: Visit) -> Response:
        request_id = visit.field("request_id")
        self.svc.retry_request(request_id, sync=False, ctx=visit.ctx)
        return RedirectResponse(visit.url("/activity", flash="retried", r=request_id), status_code=303)

    # -- sign-in and language -------------------------------------------------------------------

    async def signin(self, request: Request) -> Response:
        session, cookies = self._session(request)
        lang = negotiate(request.headers.get("accept-language"), request.cookies.get(LANG_COOKIE))
        base = _base(request)
        if not self.sessions.sign_in:
            return RedirectResponse(f"{base}/", status_code=303)
        ctx = CallContext(defaults=ScopeDefaults(), role="read")
        visit = Visit(request=request, session=session, lang=lang, ctx=ctx, record=None, base=base, cookies=cookies)
        failed = False
        if request.method == "POST":
            visit.form = await request.form()
            if not csrf_ok(session, _sent_csrf(request, visit.form)):
                return self._set_cookies(self._csrf_refused(visit), cookies, request)
            token = visit.field("token")
            if self.sessions.tokens is not None and self.sessions.tokens.verify(token) is not None:
                self.sessions.drop(request.cookies.get(SESSION_COOKIE))
                sid, _ = self.sessions.new(token)
                home = RedirectResponse(f"{base}/", status_code=303)
                return self._set_cookies(home, [(SESSION_COOKIE, sid)], request)
            failed = True
        response = self.render(visit, "signin.html", status_code=403 if failed else 200, page="signin", failed=failed)
        return self._set_cookies(response, cookies, request)

    def signout(self, visit: Visit) -> Response:
        self.sessions.drop(visit.request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse(f"{visit.base}/signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=f"{visit.base}/")
        return response

    async def language(self, request: Request) -> Response:
        code = request.path_params["code"]
        base = _base(request)
        back = _local_path(request.query_params.get("next", ""), base) or f"{base}/"
        response = RedirectResponse(back, status_code=303)
        if code in LANGUAGES:
            response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, path=f"{base}/", samesite="strict",
                                httponly=True, secure=request.url.scheme == "https")
        return response


# -- helpers ------------------------------------------------------------------------------------


def _base(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _sent_csrf(request: Request, form: FormData) -> str | None:
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else request.headers.get(CSRF_HEADER)


def _local_path(value: str, base: str) -> str | None:
    """``value`` if it is a path inside this console (never another site: no scheme, no ``//``)."""
    if value.startswith(f"{base}/") and not value.startswith("//") and "\\" not in value:
        return value
    return None


def _format_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _day(value: str, name: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(value), time(), timezone.utc)
    except ValueError as exc:
        raise InvalidArgumentError(f"`{name}` must be a date like 2026-12-01, got {value!r}.", field=name) from exc


def _int(value: str, name: str) -> int:
    if not value:
        return 0
    try:
        number = int(value)
    except ValueError as exc:
        raise InvalidArgumentError(f"`{name}` must be a whole number, got {value!r}.", field=name) from exc
    if number < 0:
        raise InvalidArgumentError(f"`{name}` must not be negative.", field=name)
    return number


def _tags(value: str) -> list[str]:
    return [t.strip() for t in value.replace("，", ",").split(",") if t.strip()]


def _item(memory: Memory) -> str:
    """A memory's id with its full scope, as a bulk-delete checkbox value."""
    s = memory.scope
    return json.dumps([s.app_id, s.tenant_id, s.agent_id, s.run_id, memory.id], ensure_ascii=False)


def _parse_item(raw: str) -> tuple[str, str, str, str, str]:
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not (isinstance(value, list) and len(value) == 5 and all(isinstance(v, str) and v for v in value)):
        raise InvalidArgumentError(
            "Each `item` must be [app_id, tenant_id, agent_id, run_id, memory_id] as the page sent it; "
            "reload the page.",
            field="item",
        )
    return tuple(value)  # type: ignore[return-value]


def _read_jsonl(body: bytes) -> tuple[list[int], list[Any]]:
    """Records of a JSON Lines file, with the line number of each (blank lines are skipped)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidArgumentError(
            "The file is not UTF-8 text; give a file written by an export.", field="file"
        ) from exc
    lines: list[int] = []
    records: list[Any] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InvalidArgumentError(
                f"line {n} is not valid JSON ({exc.msg}); nothing was imported.", field="file"
            ) from exc
        lines.append(n)
    if not records:
        raise InvalidArgumentError("The file has no records; give a file written by an export.", field="file")
    return lines, records


def build_app(service: MemoryService, settings: Settings, tokens: TokenStore | None = None) -> Any:
    """The console as an ASGI app over ``service``. With ``tokens``, every page needs a signed-in token
    and shows what that token may see; without, it is a local console that answers on loopback only."""
    return Console(service, settings, tokens).app()
