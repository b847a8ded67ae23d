"""``/activity``: the request log with its filters, extraction jobs still pending or failed, and retrying
one (``POST /activity/retry``)."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response

from ...errors import NotFoundError
from ..console import ACTOR, Pages, Visit, parse_day

LOG_FETCH, LOG_ROWS = 1000, 200
#: Operations that change nothing: the console's own calls of these are hidden from the activity log
#: unless asked for.
_READ_OPERATIONS = {
    "GetMemoryStore",
    "ListMemoryStores",
    "SearchMemories",
    "ListMemories",
    "GetMemory",
    "MemoryHistory",
    "ListMessages",
    "ListRequests",
    "GetRequest",
    "Stats",
    "ExportMemories",
    "ListProfileSchemas",
    "GetProfileSchema",
    "GetUserProfile",
}


class ActivityPages(Pages):
    def activity(self, visit: Visit) -> Response:
        tenant = visit.field("tenant") if visit.admin else ""
        scope = {"tenant_id": tenant} if tenant else ({"tenant_id": "*"} if visit.admin else {})
        since = parse_day(visit.field("since"), "since") if visit.field("since") else None
        own_reads = visit.field("console") == "1"
        log_rows = self.svc.list_requests(
            scope=scope,
            operation=visit.field("operation") or None,
            outcome=visit.field("outcome") or None,
            since=since,
            token_id=visit.field("token") or None,
            limit=LOG_FETCH,
            ctx=visit.ctx,
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
        operations = sorted(
            {r.operation for r in log_rows}
            | {"AddMemories", "SearchMemories", "UpdateMemory", "DeleteMemory", "ListMemories"}
        )
        return self.render(
            visit,
            "activity.html",
            page="activity",
            requests=log_rows,
            jobs=jobs,
            operations=operations,
            filters={n: visit.field(n) for n in ("operation", "outcome", "since", "tenant", "token", "console")},
            can_write=visit.ctx.role in ("write", "admin"),
        )

    def retry(self, visit: Visit) -> Response:
        request_id = visit.field("request_id")
        self.svc.retry_request(request_id, sync=False, ctx=visit.ctx)
        return RedirectResponse(visit.url("/activity", flash="retried", r=request_id), status_code=303)
