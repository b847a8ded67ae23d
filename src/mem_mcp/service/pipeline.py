"""One extraction job's work: gather its messages and what is already known, call the extractor,
decide ADD/UPDATE/DELETE/NONE per candidate (consolidation.py, running_summary.py), and apply the plans."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np

from .. import retrieval, running_summary
from ..config import Settings
from ..consolidation import Neighbour, Plan, decide, plans_from_decisions
from ..errors import ConflictError
from ..extraction import (
    CandidateMemory,
    ExistingMemory,
    ExtractionInput,
    ExtractionResult,
    ExtractMessage,
    Extractor,
)
from ..filters import sql_string
from ..ids import new_id, now
from ..models import MemoryEvent, MemoryStore, ProfileEvent, Scope
from ..storage import Database
from .memories import TEXT_GENERATIONS, Memories, text_memory_id
from .rows import READ_COLUMNS, memory_row, scope_of, scope_where
from .stores import Stores, strategy_specs

if TYPE_CHECKING:
    from .profiles import ProfileManager


class Pipeline:
    """``extract(job)``: the memories and profile values one job's messages produce, written."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        stores: Stores,
        memories: Memories,
        profiles: Callable[[], ProfileManager],
        extractor: Callable[[], Extractor],
    ) -> None:
        self.db = db
        self.settings = settings
        self.stores = stores
        self.memories = memories
        self._profiles = profiles
        self._extractor = extractor

    def extract(
        self, job: Mapping[str, Any], extractor: Extractor | None = None
    ) -> tuple[list[MemoryEvent], list[ProfileEvent]]:
        st, table, _ = self.stores.table_of(job["store"])
        emb = self.stores.embedder_for(st)
        scope = scope_of(job)
        specs = strategy_specs(st)
        messages = self._messages(list(job["message_ids"] or []))
        # Consolidation looks across the user's agents and runs: a preference stated in one chat is
        # corrected in another. Running summaries restate other memories and stay out of it.
        summary_names = running_summary.summary_strategies(specs)
        excluded = ", ".join(sql_string(t) for t in running_summary.excluded_types(specs))
        pool_where = (
            f"{scope_where(Scope(app_id=scope.app_id, tenant_id=scope.tenant_id, agent_id='*', run_id='*'))} "
            f"AND status = 'active' AND type NOT IN ({excluded})"
        )
        summaries = self._run_summaries(table, scope, summary_names)
        user_text = " ".join(m.content for m in messages if m.role == "user")[: self.settings.max_text_chars]
        existing_rows = (
            self.db.vector_search(table, emb.embed_query(user_text), pool_where, 10, READ_COLUMNS) if user_text else []
        )
        existing = {f"m{i + 1}": row for i, row in enumerate(existing_rows)}
        profiles = self._profiles()
        profile = profiles.spec_for_job(job)
        result = (extractor or self._extractor()).extract(
            ExtractionInput(
                messages=messages,
                strategies=specs,
                existing=[ExistingMemory(short_id=k, text=r["text"], type=r["type"]) for k, r in existing.items()],
                now=now(),
                profile=profile,
                summaries={name: row["text"] for name, row in summaries.items()},
            )
        )
        decided = (
            plans_from_decisions(result.candidates, result.decisions, existing) if result.decisions is not None else {}
        )
        summary_plans, surplus = running_summary.plans(result.candidates, summaries, summary_names)
        job_meta = json.loads(job["metadata"] or "{}")
        calibration = retrieval.calibration_for(emb.name)
        events: list[MemoryEvent] = []
        # One inference call for all candidates: batching is 2x the throughput of one text at a time.
        texts = [cand.text for cand in result.candidates if cand.text.strip()]
        vectors = dict(zip(texts, emb.embed_documents(texts))) if texts else {}
        for i, cand in enumerate(result.candidates):
            if not cand.text.strip() or i in surplus:
                continue
            vector = vectors[cand.text]
            plan = summary_plans.get(i) or decided.get(i)
            if plan is None:
                near = self.db.vector_search(table, vector, pool_where, 5, READ_COLUMNS)
                neighbours = [
                    Neighbour(r, calibration(1.0 - float(r["_distance"])), 1.0 - float(r["_distance"])) for r in near
                ]
                if cand.key:
                    keyed = self.db.rows(
                        table,
                        f"{pool_where} AND key = {sql_string(cand.key)}",
                        READ_COLUMNS,
                        [("updated_at", "descending")],
                        limit=1,
                    )
                    neighbours += [Neighbour(r, 1.0, 0.0) for r in keyed]
                plan = decide(cand, neighbours, (calibration.identical, calibration.duplicate))
            events.append(self._apply(plan, st, table, scope, vector, result, job, job_meta))
        return events, profiles.apply_updates(job, profile, result, messages)

    def _messages(self, ids: list[str]) -> list[ExtractMessage]:
        rows = (
            self.db.rows(
                self.db.messages(), f"id IN ({', '.join(sql_string(i) for i in ids)})", None, [("seq", "ascending")]
            )
            if ids
            else []
        )
        return [
            ExtractMessage(id=r["id"], role=r["role"], content=r["content"], created_at=r["created_at"]) for r in rows
        ]

    def _run_summaries(self, table: Any, scope: Scope, strategies: list[str]) -> dict[str, dict[str, Any]]:
        """The run's active running summary per summary strategy (running_summary.py)."""
        if not strategies:
            return {}
        by_key = {running_summary.slot_key(name): name for name in strategies}
        rows = self.db.rows(
            table,
            f"{scope_where(scope)} AND status = 'active' AND key IN ({', '.join(sql_string(k) for k in by_key)})",
            READ_COLUMNS,
            [("updated_at", "descending")],
        )
        current: dict[str, dict[str, Any]] = {}
        for row in rows:
            current.setdefault(by_key[row["key"]], row)
        return current

    def _apply(
        self,
        plan: Plan,
        store: MemoryStore,
        table: Any,
        scope: Scope,
        vector: np.ndarray,
        result: ExtractionResult,
        job: Mapping[str, Any],
        job_meta: dict[str, Any],
    ) -> MemoryEvent:
        cand: CandidateMemory = plan.candidate
        request_id = job["request_id"]
        source = cand.source_message_ids or list(job["message_ids"] or [])
        target = None
        if plan.target is not None:
            # Re-read: an earlier plan of this job may have changed the same memory.
            rows = self.db.rows(
                table,
                f"id = {sql_string(plan.target['id'])} AND status IN ('active', 'deleted')",
                READ_COLUMNS,
                [("version", "descending")],
                limit=1,
            )
            target = rows[0] if rows and rows[0]["status"] == "active" else None
            if target is None and plan.action in ("UPDATE", "DELETE"):
                return MemoryEvent(event="NONE", memory_id=plan.target["id"], text=plan.text, type=cand.type)
        if plan.action == "ADD" or (plan.action == "UPDATE" and target is None):
            meta = {**job_meta, **cand.metadata}
            if cand.reasoning:
                meta["reasoning"] = cand.reasoning
            return self._add_once(table, scope, plan.text, vector, cand, meta, source, request_id, result)
        assert target is not None or plan.action == "NONE"
        if plan.action == "UPDATE" and target is not None:
            if plan.text == target["text"]:
                return MemoryEvent(event="NONE", memory_id=target["id"], text=target["text"], type=target["type"])
            new_row = self.memories.new_version(
                store,
                table,
                target,
                request_id,
                text=plan.text,
                confidence=cand.confidence,
                source=list(dict.fromkeys([*(target["source"] or []), *source])),
                extractor=result.extractor,
                model=result.model,
            )
            return MemoryEvent(
                event="UPDATE",
                memory_id=target["id"],
                text=new_row["text"],
                old_text=target["text"],
                type=target["type"],
            )
        if plan.action == "DELETE" and target is not None:
            self.memories.soft_delete(table, target)
            return MemoryEvent(
                event="DELETE",
                memory_id=target["id"],
                text=target["text"],
                old_text=target["text"],
                type=target["type"],
            )
        memory_id = target["id"] if target is not None else (plan.target["id"] if plan.target is not None else "")
        return MemoryEvent(event="NONE", memory_id=memory_id, text=plan.text, type=cand.type)

    def _add_once(
        self,
        table: Any,
        scope: Scope,
        text: str,
        vector: np.ndarray,
        cand: CandidateMemory,
        meta: dict[str, Any],
        source: list[str],
        request_id: str,
        result: ExtractionResult,
    ) -> MemoryEvent:
        """The ADD of an extracted memory, once per text and scope: two jobs extracting the same text
        at once (a sync add beside the job worker, a job retried while its first run still writes, two
        processes), or an ``add_memories(text=)`` of that text, give one memory and NONEs. The same
        discipline as ``Memories.add_text``: the scope's text lock (threads and local processes), then
        the text's derived id, inserted only if absent and read back (object storage too)."""
        with self.db.write_lock("text", table.name, *scope.model_dump().values(), text):
            existing = self.db.rows(
                table, f"{scope_where(scope)} AND status = 'active' AND text = {sql_string(text)}", ["id"], limit=1
            )
            if existing:
                return MemoryEvent(event="NONE", memory_id=existing[0]["id"], text=text, type=cand.type)
            ts = now()
            for generation in range(TEXT_GENERATIONS + 1):
                memory_id = (
                    text_memory_id(table.name, scope, text, generation)
                    if generation < TEXT_GENERATIONS
                    else new_id("mem")
                )
                row = memory_row(
                    memory_id,
                    1,
                    scope,
                    text,
                    vector,
                    cand.type,
                    meta,
                    [],
                    cand.confidence,
                    "active",
                    source,
                    ts,
                    ts,
                    ts,
                    request_id,
                    key=cand.key,
                    extractor=result.extractor,
                    model=result.model,
                )
                if self.db.insert_new(table, "row_key", [row]) and self.memories._claimed(table, row):
                    return MemoryEvent(event="ADD", memory_id=memory_id, text=text, type=cand.type)
                # That id exists: the same text written a moment ago by another writer (NONE), or an
                # earlier memory of this text since updated or deleted (try the next generation).
                latest = self.memories._latest(table, memory_id, scope)
                if latest is not None and latest["status"] == "active" and latest["text"] == text:
                    return MemoryEvent(event="NONE", memory_id=memory_id, text=text, type=cand.type)
        raise ConflictError(  # unreachable: the last id is random
            "Another writer kept adding this memory; nothing more was written. Retry the request.", field="text"
        )
