"""``/``: every store's counts, and charts of memories saved and searches made per day."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from starlette.responses import Response

from .. import charts
from ..console import Pages, Visit

CHART_DAYS = 14


class OverviewPages(Pages):
    def overview(self, visit: Visit) -> Response:
        stores = self.console.stores(visit)
        stats = [self.svc.stats(s.name, ctx=visit.ctx) for s in stores[:20]]
        store = visit.field("store") or "default"
        scope = {"agent_id": "*", "run_id": "*", **({"tenant_id": "*"} if visit.admin else {})}
        today = datetime.now(timezone.utc).date()
        days = [today - timedelta(days=CHART_DAYS - 1 - i) for i in range(CHART_DAYS)]
        since = datetime.combine(days[0], time(), timezone.utc)
        saved = self._saved_per_day(visit, store, scope, days, since)
        searches = self.svc.list_requests(
            scope={k: v for k, v in scope.items() if k == "tenant_id"},
            operation="SearchMemories",
            since=since,
            limit=1000,
            ctx=visit.ctx,
        ).requests
        per_day = {d: 0 for d in days}
        for req in searches:
            d = req.created_at.astimezone(timezone.utc).date()
            if d in per_day:
                per_day[d] += 1
        return self.render(
            visit,
            "overview.html",
            page="overview",
            stats=stats,
            store=store,
            stores=stores,
            saved_chart=charts.bar_chart(days, saved),
            search_chart=charts.bar_chart(days, [per_day[d] for d in days], capped=len(searches) >= 1000),
            chart_days=CHART_DAYS,
        )

    def _saved_per_day(
        self, visit: Visit, store: str, scope: dict[str, str], days: list[date], since: datetime
    ) -> list[int]:
        """Memories saved on each day: read from the window's rows when they are few (one call, usually),
        else counted day by day (one count each), so a busy store costs a bounded number of calls."""
        window = {"created_at": {"$gte": since.isoformat()}}
        per_day = {d: 0 for d in days}
        offset = 0
        for _ in range(4):
            page = self.svc.list_memories(
                store=store, scope=scope, filter=window, offset=offset, limit=500, ctx=visit.ctx
            )
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
