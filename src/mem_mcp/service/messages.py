"""Short-term messages: a run's conversation turns, in order, kept for the store's TTL."""

from __future__ import annotations

import threading
from datetime import timedelta

from ..errors import ConflictError
from ..ids import derived_id, now
from ..models import ListOffset, Message, MessageInput, MessageLimit, MessageList, Scope
from ..storage import Database
from ..storage.sql import sql_string
from ..validation import check_bounded
from .context import DEFAULT_STORE, CallContext, Envelope, ScopeArg
from .rows import scope_of, scope_where, ts_literal
from .stores import Stores

#: Expired messages are purged at start-up and on every this many message writes.
PURGE_EVERY_WRITES = 100
#: Tries to claim the next ``seq`` numbers of a run against writers in other processes.
SEQ_ATTEMPTS = 8


class Messages:
    """The ``messages`` table: store a run's turns (with their ``seq``), list them, purge expired ones."""

    def __init__(self, db: Database, stores: Stores, envelope: Envelope) -> None:
        self.db = db
        self.stores = stores
        self.envelope = envelope
        self._writes = 0
        self._lock = threading.Lock()  # guards _writes

    def store_messages(self, store: str, scope: Scope, messages: list[MessageInput], request_id: str) -> list[str]:
        """Append ``messages`` after the run's last one; returns their ids.

        ``seq`` is unique and ordered per run, also with writers in other processes: a message's id is
        derived from its run and ``seq``, so of two writers claiming the same numbers the database
        inserts one; the other reads the run's last ``seq`` again and takes the next ones."""
        table = self.db.messages()
        run_where = f"store = {sql_string(store)} AND {scope_where(scope)}"
        segments = [str(v) for v in scope.model_dump().values()]
        with self.db.write_lock("run", store, *segments):
            for _ in range(SEQ_ATTEMPTS):
                last = self.db.rows(table, run_where, ["seq"], [("seq", "descending")], limit=1)
                seq = last[0]["seq"] + 1 if last else 0
                ts = now()
                rows = [
                    {
                        "id": derived_id("msg", store, *segments, str(seq + i)),
                        "store": store,
                        **scope.model_dump(),
                        "role": msg.role,
                        "content": msg.plain_text(),
                        "seq": seq + i,
                        "created_at": msg.created_at or ts,
                        "request_id": request_id,
                    }
                    for i, msg in enumerate(messages)
                ]
                inserted = self.db.insert_new(table, "id", rows)
                if inserted == len(rows):
                    break
                if inserted:
                    # Another writer took some of these numbers: take back the ones this call got.
                    ids = ", ".join(sql_string(r["id"]) for r in rows)
                    self.db.delete(table, f"id IN ({ids}) AND request_id = {sql_string(request_id)}")
            else:
                raise ConflictError(
                    "Other writers kept adding messages to this run; these were not saved. Retry the call.",
                    field="messages",
                )
        with self._lock:
            self._writes += 1
            purge = self._writes % PURGE_EVERY_WRITES == 0
        if purge:
            self.purge_expired()
        return [r["id"] for r in rows]

    def purge_expired(self) -> None:
        """Delete the messages older than their store's ``short_term_ttl``."""
        for row in self.db.rows(self.db.stores(), None, ["name", "short_term_ttl"]):
            cutoff = now() - timedelta(days=int(row["short_term_ttl"]))
            self.db.delete(
                self.db.messages(), f"store = {sql_string(row['name'])} AND created_at < {ts_literal(cutoff)}"
            )

    def list_messages(
        self,
        *,
        store: str = DEFAULT_STORE,
        scope: ScopeArg = None,
        limit: int = 100,
        offset: int = 0,
        ctx: CallContext | None = None,
    ) -> MessageList:
        """The short-term messages of one run, in order."""
        with self.envelope.operation("ListMessages", ctx, store, scope, "write") as req:
            assert req.scope is not None
            check_bounded("limit", limit, MessageLimit)
            check_bounded("offset", offset, ListOffset)
            self.stores.store(store)
            rows = self.db.rows(
                self.db.messages(),
                f"store = {sql_string(store)} AND {scope_where(req.scope)}",
                None,
                [("seq", "ascending")],
                offset,
                limit,
            )
            return MessageList(
                messages=[
                    Message(
                        id=r["id"],
                        scope=scope_of(r),
                        role=r["role"],
                        content=r["content"],
                        seq=r["seq"],
                        created_at=r["created_at"],
                        request_id=r["request_id"],
                    )
                    for r in rows
                ]
            )
