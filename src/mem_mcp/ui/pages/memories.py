"""``/memories``: the list and search with their filters, a memory with its source messages, history
and edit form, bulk delete (asked first), and export of what the filters show."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping
from urllib.parse import urlencode

from starlette.responses import RedirectResponse, Response

from ...errors import InvalidArgumentError
from ...models import BUILTIN_STRATEGIES, Memory
from ..console import Pages, Visit, item_value, local_path, parse_day, parse_int

PAGE_SIZE = 25
_EXTRA_TYPES = ("note",)


class MemoryPages(Pages):
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
            created["$gte"] = parse_day(f["since"], "since").isoformat()
        if f["until"]:
            created["$lt"] = (parse_day(f["until"], "until") + timedelta(days=1)).isoformat()
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
                query=f["q"],
                store=f["store"],
                scope=visit.scope(),
                top_k=limit,
                offset=offset,
                types=types,
                filter=where,
                ctx=visit.ctx,
            )
            return [(h.memory, h.score) for h in found.results], None
        page = self.svc.list_memories(
            store=f["store"], scope=visit.scope(), filter=where, types=types, offset=offset, limit=limit, ctx=visit.ctx
        )
        return [(m, None) for m in page.memories], page.total

    def memories(self, visit: Visit) -> Response:
        f = self._filters(visit)
        offset = parse_int(visit.field("offset"), "offset")
        stores = self.console.stores(visit)
        rows, total = self._find(visit, f, offset, PAGE_SIZE + (1 if f["q"] else 0))
        more = len(rows) > PAGE_SIZE if total is None else offset + PAGE_SIZE < total
        rows = rows[:PAGE_SIZE]
        current = next((s for s in stores if s.name == f["store"]), None)
        types = [*BUILTIN_STRATEGIES, *_EXTRA_TYPES, *(c.name for c in (current.custom_strategies if current else []))]
        params = {k: v for k, v in f.items() if v}
        return self.render(
            visit,
            "memories.html",
            page="memories",
            rows=rows,
            total=total,
            offset=offset,
            f=f,
            stores=stores,
            types=types,
            page_size=PAGE_SIZE,
            more=more,
            params=params,
            prev_url=visit.url("/memories", **params, offset=max(0, offset - PAGE_SIZE)) if offset else None,
            next_url=visit.url("/memories", **params, offset=offset + PAGE_SIZE) if more else None,
            export_url=visit.url("/memories/export", **params),
            can_write=visit.ctx.role in ("write", "admin"),
            can_import=visit.ctx.role == "admin",
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
            visit,
            "memory.html",
            page="memories",
            memory=memory,
            history=history.entries,
            messages=messages,
            store=store,
            editing=visit.field("edit") == "1",
            can_write=visit.ctx.role in ("write", "admin"),
            item=item_value(memory),
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
        scope = {
            seg: visit.field(name)
            for seg, name in (("app_id", "app"), ("tenant_id", "tenant"), ("agent_id", "agent"), ("run_id", "run"))
        }
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
            visit.url(
                f"/memories/{memory_id}",
                store=store,
                app=visit.field("app") if visit.admin else None,
                tenant=visit.field("tenant") if visit.admin else None,
                flash="saved_version",
                v=version,
            ),
            status_code=303,
        )

    def delete(self, visit: Visit) -> Response:
        assert visit.form is not None
        store = visit.field("store") or "default"
        items = [_parse_item(raw) for raw in visit.form.getlist("item") if isinstance(raw, str)]
        back = local_path(visit.field("next"), visit.base) or visit.url("/memories", store=store)
        if not items:
            raise InvalidArgumentError(visit.t("nothing_selected"), field="item")
        if visit.field("confirmed") != "1":
            return self.render(
                visit,
                "confirm.html",
                page="memories",
                items=[json.dumps(i) for i in items],
                store=store,
                back=back,
                count=len(items),
            )
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
            body,
            media_type="application/x-ndjson",
            headers={"content-disposition": f'attachment; filename="memories-{f["store"]}-{stamp}.jsonl"'},
        )


def _tags(value: str) -> list[str]:
    return [t.strip() for t in value.replace("，", ",").split(",") if t.strip()]


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
