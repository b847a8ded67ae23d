"""How a memory's versions change: ``new_version`` (update) and ``soft_delete``, each a claim of
version *n+1* (an insert of its ``row_key`` only if absent, read back) then the retirement of version
*n* (a conditional update), retried on top of a writer that won, ``CONFLICT`` after
``VERSION_ATTEMPTS``; and ``repair_versions``, which retires the older of two active versions a kill
between the two commits left. ``Memories`` (memories.py) inherits these methods.
"""

from __future__ import annotations

import json
import time
from typing import Any, Mapping

import numpy as np

from ..errors import ConflictError, MemoryNotFoundError
from ..ids import now
from ..models import MemoryStore, Scope
from ..storage import Database
from ..storage.sql import sql_string
from .rows import READ_COLUMNS, memory_row, scope_of, scope_where
from .stores import Stores

#: Tries of a version write against writers in other processes before the caller gets CONFLICT.
VERSION_ATTEMPTS = 8


class VersionWrites:
    """The version writes of ``Memories``, over its database and stores."""

    db: Database
    stores: Stores

    def _latest(self, table: Any, memory_id: str, scope: Scope) -> dict[str, Any] | None:
        """The newest version of a memory (active or deleted), read now, or None."""
        rows = self.db.rows(
            table,
            f"id = {sql_string(memory_id)} AND {scope_where(scope)} AND status IN ('active', 'deleted')",
            READ_COLUMNS,
            [("version", "descending")],
            limit=1,
        )
        return rows[0] if rows else None

    def new_version(
        self,
        store: MemoryStore,
        table: Any,
        current: Mapping[str, Any],
        request_id: str,
        *,
        text: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
        confidence: float | None = None,
        source: list[str] | None = None,
        extractor: str | None = None,
        model: str | None = None,
    ) -> dict[str, Any]:
        """Write version n+1 of a memory and retire version n. Version n+1 is inserted only if no writer
        has inserted it yet (a conditional insert on ``row_key``: the compare-and-swap); then n is
        retired. When another writer got n+1 first, the change is applied again on top of that writer's
        version, so each call lands as its own version; after ``VERSION_ATTEMPTS`` lost races the caller
        gets CONFLICT. Scope and type stay. A crash between the two commits leaves n active beside n+1;
        readers take the newest version, and ``repair_versions`` (maintenance) retires the older.

        Raises:
            MemoryNotFoundError: the memory was deleted meanwhile.
            ConflictError: other writers kept winning; nothing was written.
        """
        scope = scope_of(current)
        vectors: dict[str, np.ndarray] = {}
        with self.db.write_lock("memory", table.name, current["id"]):
            for attempt in range(VERSION_ATTEMPTS):
                if attempt:
                    latest = self._latest(table, current["id"], scope)
                    if latest is None or latest["status"] != "active":
                        raise MemoryNotFoundError(
                            f"Memory {current['id']!r} was deleted while this write was made; nothing was written. "
                            "Add it again with add_memories if it is still true.",
                            field="memory_id",
                        )
                    current = latest
                    time.sleep(min(0.5, 0.02 * 2**attempt))
                old = self.db.rows(table, f"row_key = {sql_string(current['row_key'])}", None)
                if not old:
                    continue
                old_row = old[0]
                ts = now()
                text_out = text if text is not None else current["text"]
                if text_out == current["text"]:
                    vector = np.asarray(old_row["vector"], dtype=np.float32)
                else:
                    if text_out not in vectors:
                        vectors[text_out] = self.stores.embedder_for(store).embed_documents([text_out])[0]
                    vector = vectors[text_out]
                new_row = memory_row(
                    current["id"],
                    int(current["version"]) + 1,
                    scope,
                    text_out,
                    vector,
                    current["type"],
                    metadata if metadata is not None else json.loads(current["metadata"] or "{}"),
                    tags if tags is not None else list(current["tags"] or []),
                    confidence if confidence is not None else float(current["confidence"]),
                    "active",
                    source if source is not None else list(current["source"] or []),
                    current["created_at"],
                    ts,
                    ts,
                    request_id,
                    key=current["key"],
                    extractor=extractor or current["extractor"],
                    model=model or current["model"],
                )
                # Claim version n+1: of writers racing on this memory (here or in other processes) the
                # database inserts that row_key once.
                if not self.db.insert_new(table, "row_key", [new_row]) or not self._claimed(table, new_row):
                    continue
                # Then retire version n. It can only have changed meanwhile by a delete.
                where = f"row_key = {sql_string(current['row_key'])} AND status = 'active'"
                if not self.db.update(table, where, {"status": "superseded", "superseded_at": ts}) and self._deleted(
                    table, current["row_key"]
                ):
                    self._release(table, new_row)
                    raise MemoryNotFoundError(
                        f"Memory {current['id']!r} was deleted while this write was made; nothing was written. "
                        "Add it again with add_memories if it is still true.",
                        field="memory_id",
                    )
                return new_row
        raise ConflictError(
            f"Memory {current['id']!r} kept being changed by other writers; this update was not applied. "
            "Re-read it with get_memory and retry the update.",
            field="memory_id",
        )

    def _claimed(self, table: Any, row: dict[str, Any]) -> bool:
        """Whether ``row`` (just inserted if absent) is this writer's: LanceDB's insert count is not
        always right under contention, so the stored row is read back. Of two rows with one key (both
        writers inserted), the smaller request id keeps it and the other writer takes its row back."""
        stored = self.db.rows(table, f"row_key = {sql_string(row['row_key'])}", ["request_id"])
        owners = sorted(r["request_id"] or "" for r in stored)
        if not owners or owners[0] != row["request_id"]:
            if row["request_id"] in owners:
                self._release(table, row)
            return False
        return True

    def _release(self, table: Any, row: dict[str, Any]) -> None:
        """Take back a row this writer inserted (only its own, by request id)."""
        self.db.delete(
            table, f"row_key = {sql_string(row['row_key'])} AND request_id = {sql_string(row['request_id'])}"
        )

    def repair_versions(self, table: Any) -> int:
        """Retire every active version older than its memory's newest active one (what a crash between
        an update's two commits leaves); returns how many were retired."""
        rows = self.db.rows(table, "status = 'active'", ["id", "row_key", "version"])
        newest: dict[str, int] = {}
        for row in rows:
            newest[row["id"]] = max(newest.get(row["id"], 0), int(row["version"]))
        stale = {r["id"] for r in rows if int(r["version"]) < newest[r["id"]]}
        retired = 0
        for memory_id in stale:
            # Under the memory's write lock: an update in progress (its two commits) finishes first.
            with self.db.write_lock("memory", table.name, memory_id):
                active = self.db.rows(
                    table,
                    f"id = {sql_string(memory_id)} AND status = 'active'",
                    ["row_key", "version"],
                    [("version", "descending")],
                )
                for row in active[1:]:
                    retired += self.db.update(
                        table,
                        f"row_key = {sql_string(row['row_key'])} AND status = 'active'",
                        {"status": "superseded", "superseded_at": now()},
                    )
        return retired

    def _deleted(self, table: Any, row_key: str) -> bool:
        rows = self.db.rows(table, f"row_key = {sql_string(row_key)}", ["status"])
        return bool(rows) and rows[0]["status"] == "deleted"

    def soft_delete(self, table: Any, current: dict[str, Any]) -> dict[str, Any]:
        """Mark the memory's active version deleted (if a concurrent update made a newer version, that
        one); a memory already deleted stays as it is."""
        scope = scope_of(current)
        with self.db.write_lock("memory", table.name, current["id"]):
            for _ in range(VERSION_ATTEMPTS):
                ts = now()
                where = f"row_key = {sql_string(current['row_key'])} AND status = 'active'"
                if self.db.update(table, where, {"status": "deleted", "deleted_at": ts}):
                    current.update(status="deleted", deleted_at=ts)
                    return current
                latest = self._latest(table, current["id"], scope)
                if latest is None or latest["status"] == "deleted":
                    return latest or current
                current = latest
        raise ConflictError(
            f"Memory {current['id']!r} kept being changed by other writers; it was not deleted. Retry the call.",
            field="memory_id",
        )
