"""Extraction jobs (DESIGN §2 "Jobs"): the rows of the ``jobs`` table, and which worker runs each.

Several processes may share one database: two servers started by two MCP clients, a CLI beside a
server, HTTP workers. Each resumes the unfinished jobs it finds at start-up, so a job must run in one
of them only. A worker therefore *claims* a job before running it, with a compare-and-swap: a
conditional update ``WHERE request_id = … AND status = <as read> AND attempts = <as read>`` that
moves it to ``running``. Every claim increments ``attempts``, so of two workers that read the same
row only the first update matches; the other changes nothing and skips the job.

A claim is a lease: the row names its owner (``host/pid/instance/claim``) and a ``lease_until``
time. A running job can be claimed again once its lease has run out (a hung or crashed worker on
another machine), or at once when its owner is known to be dead: a process of this host that no
longer exists (killed mid-job), or a service of this very process that was closed. A worker finishes
a job only while it still holds the claim, so one that outlived its lease cannot overwrite the result
of the worker that took over. The lease (``Settings.job_lease_s``, 15 minutes by default) must be
longer than any one extraction, retries and timeouts included.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
import weakref
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from .filters import sql_string
from .models import Scope
from .store import Database

__all__ = ["JobBoard"]

log = logging.getLogger(__name__)

#: Owner ids of the job boards alive in this process: a running job whose owner is this process but
#: not in here was claimed by a service that has been closed (or by an earlier process with our pid).
_LIVE: set[str] = set()
_HOST = socket.gethostname()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _owner_alive(owner: str | None) -> bool:
    """Whether the worker that claimed a job may still be running it."""
    if not owner:
        return False  # a job claimed before claims had owners (an older version) is abandoned
    parts = owner.rsplit("/", 3)
    if len(parts) != 4 or parts[0] != _HOST or not parts[1].isdigit():
        return True  # another machine: only its lease can tell
    pid, instance = int(parts[1]), "/".join(parts[:3])
    if pid == os.getpid():
        return instance in _LIVE
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, under another user
    return True


class JobBoard:
    """The ``jobs`` table: create, read, claim and finish extraction jobs."""

    def __init__(self, db: Database, lease: timedelta) -> None:
        self.db = db
        self.lease = lease
        self.owner = f"{_HOST}/{os.getpid()}/{uuid.uuid4().hex[:12]}"
        _LIVE.add(self.owner)
        weakref.finalize(self, _LIVE.discard, self.owner)

    def close(self) -> None:
        """Give up this board's claims: other workers may take its running jobs at once."""
        _LIVE.discard(self.owner)

    def _token(self) -> str:
        return f"{self.owner}/{uuid.uuid4().hex[:8]}"

    def create(
        self, request_id: str, store: str, scope: Scope, message_ids: list[str], metadata: Mapping[str, Any], *,
        claim: bool, profile_schema_id: str | None = None,
    ) -> str | None:
        """Insert a job, pending or already claimed by this board (returns the claim)."""
        ts = _now()
        token = self._token() if claim else None
        self.db.insert(
            self.db.jobs(),
            [{
                "request_id": request_id, "store": store, **scope.model_dump(), "message_ids": message_ids,
                "metadata": json.dumps(dict(metadata), ensure_ascii=False),
                "status": "running" if claim else "pending", "attempts": 1 if claim else 0,
                "error_code": None, "error": None, "events": "[]", "created_at": ts, "updated_at": ts,
                "owner": token, "lease_until": ts + self.lease if claim else None,
                "profile_schema_id": profile_schema_id, "profile_events": "[]",
            }],
        )
        return token

    def get(self, request_id: str) -> dict[str, Any] | None:
        rows = self.db.rows(self.db.jobs(), f"request_id = {sql_string(request_id)}")
        return rows[0] if rows else None

    def claimable(self, job: Mapping[str, Any]) -> bool:
        """Pending or failed, or running under a claim that has expired or whose owner is dead."""
        if job["status"] in ("pending", "failed"):
            return True
        if job["status"] != "running":
            return False
        lease_until = job.get("lease_until")
        return lease_until is None or lease_until <= _now() or not _owner_alive(job.get("owner"))

    def _swap(self, job: Mapping[str, Any], values: dict[str, Any]) -> bool:
        """Update the job only if nobody changed its status or attempts since it was read."""
        where = (
            f"request_id = {sql_string(job['request_id'])} AND status = {sql_string(job['status'])} "
            f"AND attempts = {int(job['attempts'])}"
        )
        return self.db.update(self.db.jobs(), where, {**values, "updated_at": _now()}) == 1

    def claim(self, request_id: str) -> str | None:
        """Claim a job for this board; None when it is done, or another worker holds it (or won)."""
        job = self.get(request_id)
        if job is None or not self.claimable(job):
            return None
        token = self._token()
        won = self._swap(
            job,
            {"status": "running", "owner": token, "lease_until": _now() + self.lease,
             "attempts": int(job["attempts"]) + 1},
        )
        if won and job["status"] == "running":
            log.warning("job %s: took over from %s (lease expired or owner gone)", request_id, job.get("owner"))
        return token if won else None

    def requeue(self, job: Mapping[str, Any]) -> bool:
        """Put a failed (or abandoned) job back to pending, for a background retry."""
        if not self.claimable(job):
            return False
        return self._swap(job, {"status": "pending", "owner": None, "lease_until": None})

    def finish(self, request_id: str, token: str, **values: Any) -> bool:
        """Record a job's outcome (status, events or error), only while ``token`` still holds it."""
        where = f"request_id = {sql_string(request_id)} AND owner = {sql_string(token)} AND status = 'running'"
        done = self.db.update(self.db.jobs(), where, {**values, "lease_until": None, "updated_at": _now()}) == 1
        if not done:
            log.warning("job %s: finished after losing its claim (lease expired); the result is not recorded", request_id)
        return done

    def runnable(self) -> list[str]:
        """Ids of the jobs a worker may take now, oldest first: pending ones and abandoned running ones."""
        rows = self.db.rows(
            self.db.jobs(), "status IN ('pending', 'running')", None, [("created_at", "ascending")]
        )
        return [r["request_id"] for r in rows if self.claimable(r)]
