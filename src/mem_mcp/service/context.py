"""Who is calling (``CallContext``), what each operation needs (``OPERATION_ROLES``), and the one
envelope every operation runs in (``Envelope.operation``): request id, role check, scope resolution,
timing, and a request-log row whatever the outcome."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Protocol

from ..auth import role_allows
from ..errors import MemMcpError, PermissionDeniedError
from ..extraction import Extractor
from ..ids import new_id, now
from ..models import Scope, ScopeInput
from ..scope import SEGMENTS, Mode, ScopeDefaults, resolve_scope

DEFAULT_STORE = "default"

ScopeArg = ScopeInput | Mapping[str, Any] | None


@dataclass(frozen=True)
class CallContext:
    """Who is calling: the scope defaults of the connection, its role, and what the request log
    records about it (a name for the client, and the id of its token on HTTP)."""

    defaults: ScopeDefaults = field(default_factory=ScopeDefaults)
    actor: str | None = None
    role: str = "admin"  # local callers (stdio, CLI, embedding) may do everything
    token_id: str | None = None
    #: The connection's own extractor (the MCP client's model, through sampling), used instead of the
    #: service's for the extraction jobs this caller starts or retries.
    extractor: Extractor | None = None


#: The role each operation needs (read < write < admin). An operation missing here needs admin, so
#: a new operation is closed to tokens until someone decides who may call it.
OPERATION_ROLES: dict[str, str] = {
    "GetMemoryStore": "read",
    "ListMemoryStores": "read",
    "SearchMemories": "read",
    "ListMemories": "read",
    "GetMemory": "read",
    "MemoryHistory": "read",
    "ListMessages": "read",
    "ListRequests": "read",
    "GetRequest": "read",
    "MemoryStats": "read",
    "ExportMemories": "read",
    "AddMemories": "write",
    "UpdateMemory": "write",
    "DeleteMemory": "write",
    "RetryRequest": "write",
    # Imported records carry their own ids and scopes, so an import could overwrite any tenant's rows.
    "ImportMemories": "admin",
    "CreateMemoryStore": "admin",
    "UpdateMemoryStore": "admin",
    "DeleteMemoryStore": "admin",
    "Reindex": "admin",
    # Profile schemas are shared by every user of an app: tenants read them, only an admin changes them.
    "ListProfileSchemas": "read",
    "GetProfileSchema": "read",
    "GetUserProfile": "read",
    "CreateProfileSchema": "admin",
    "UpdateProfileSchema": "admin",
    "DeleteProfileSchema": "admin",
}


def operation_name(tool: str) -> str:
    """The request log's name of an operation, from its tool's name: ``memory_stats`` -> ``MemoryStats``.
    Every operation is logged under this name, refused (rate-limited) calls included."""
    return "".join(part.capitalize() for part in tool.split("_"))


class LogSink(Protocol):
    """Where the envelope's request-log rows go (``requests.RequestLog``)."""

    def append(self, row: dict[str, Any]) -> None: ...

    def flush(self) -> None: ...


@dataclass
class Req:
    """One operation in flight: what its request-log row will say."""

    request_id: str
    store: str | None
    ctx: CallContext
    scope: Scope | None = None
    outcome: str | None = None
    detail: str | None = None


def default_scope(ctx: CallContext) -> Scope:
    d = ctx.defaults
    return Scope(app_id=d.app_id, tenant_id=d.tenant_id, agent_id=d.agent_id, run_id=d.run_id)


class Envelope:
    """Runs operations: ``with envelope.operation("GetMemory", ctx, store, scope, "write") as req:``."""

    def __init__(
        self, request_log: LogSink, default_context: Callable[[], CallContext], ensure_ready: Callable[[], None]
    ) -> None:
        self.request_log = request_log
        self.default_context = default_context
        self._ensure_ready = ensure_ready

    @contextmanager
    def operation(
        self,
        name: str,
        ctx: CallContext | None,
        store: str | None = None,
        scope: ScopeArg = None,
        mode: Mode | None = None,
    ) -> Iterator[Req]:
        """Check the caller's role, resolve ``scope`` (when ``mode`` is given) into ``req.scope``, time the
        operation and log it with its outcome. ``ctx`` None is the local default caller."""
        given = ctx
        ctx = ctx or self.default_context()
        self._ensure_ready()
        req = Req(request_id=new_id("req"), store=store, ctx=ctx)
        started = time.perf_counter()
        outcome, code, detail = "ok", None, None
        try:
            needed = OPERATION_ROLES.get(name, "admin")
            if given is not None and not role_allows(ctx.role, needed):
                raise PermissionDeniedError(
                    f"{name} needs a {needed} token; this token's role is {ctx.role!r}. "
                    f"Ask the server's operator for a token with role {needed}.",
                    field="token",
                )
            if mode is not None:
                req.scope = resolve_scope(scope, ctx.defaults, mode)
            yield req
        except MemMcpError as exc:
            outcome, code, detail = "error", exc.code, exc.message[:500]
            raise
        except Exception as exc:
            outcome, code, detail = "error", "INTERNAL", type(exc).__name__
            raise
        finally:
            self.log(
                req.request_id,
                name,
                req.store,
                req.scope,
                ctx,
                (time.perf_counter() - started) * 1000,
                req.outcome or outcome,
                code,
                detail or req.detail,
            )

    def log(
        self,
        request_id: str,
        operation: str,
        store: str | None,
        scope: Scope | None,
        ctx: CallContext | None,
        duration_ms: float,
        outcome: str,
        code: str | None,
        detail: str | None,
    ) -> None:
        """Append one row to the request log. Operations without a memory scope (stores, jobs), or whose
        scope was refused, are logged under the caller's own app and tenant, so list_requests finds them."""
        scope = scope or default_scope(ctx or self.default_context())
        self.request_log.append(
            {
                "request_id": request_id,
                "operation": operation,
                "store": store,
                **{seg: getattr(scope, seg) for seg in SEGMENTS},
                "actor": ctx.actor if ctx else None,
                "token_id": ctx.token_id if ctx else None,
                "created_at": now(),
                "duration_ms": duration_ms,
                "outcome": outcome,
                "error_code": code,
                "detail": detail,
            }
        )

    def record_refusal(self, operation: str, ctx: CallContext, exc: MemMcpError) -> None:
        """Log a call refused before it reached an operation (rate limits), so the audit shows it."""
        self.log(new_id("req"), operation, None, None, ctx, 0.0, "error", exc.code, exc.message[:500])
