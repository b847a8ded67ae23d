"""Extraction jobs (DESIGN §2 "Jobs"): the rows of the ``jobs`` table (``JobBoard``), which worker
runs each, and the background queue that runs them (``Jobs``: worker, resume, retry, status).

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
import threading
import uuid
import weakref
from datetime import timedelta
from typing import Any, Callable, Mapping

from ..errors import InvalidArgumentError, MemMcpError, RequestNotFoundError
from ..extraction import Extractor
from ..filters import sql_string
from ..ids import now as _now
from ..models import MemoryEvent, ProfileEvent, RequestStatus, Scope
from ..storage import Database
from ..workers import Worker
from .context import CallContext, Envelope
from .rows import status_model

__all__ = ["JobBoard", "Jobs"]

log = logging.getLogger(__name__)

#: Owner ids of the job boards alive in this process: a running job whose owner is this process but
#: not in here was claimed by a service that has been closed (or by an earlier process with our pid).
_LIVE: set[str] = set()
_HOST = socket.gethostname()


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
        self,
        request_id: str,
        store: str,
        scope: Scope,
        message_ids: list[str],
        metadata: Mapping[str, Any],
        *,
        claim: bool,
        profile_schema_id: str | None = None,
    ) -> str | None:
        """Insert a job, pending or already claimed by this board (returns the claim)."""
        ts = _now()
        token = self._token() if claim else None
        self.db.insert(
            self.db.jobs(),
            [
                {
                    "request_id": request_id,
                    "store": store,
                    **scope.model_dump(),
                    "message_ids": message_ids,
                    "metadata": json.dumps(dict(metadata), ensure_ascii=False),
                    "status": "running" if claim else "pending",
                    "attempts": 1 if claim else 0,
                    "error_code": None,
                    "error": None,
                    "events": "[]",
                    "created_at": ts,
                    "updated_at": ts,
                    "owner": token,
                    "lease_until": ts + self.lease if claim else None,
                    "profile_schema_id": profile_schema_id,
                    "profile_events": "[]",
                }
            ],
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
            {
                "status": "running",
                "owner": token,
                "lease_until": _now() + self.lease,
                "attempts": int(job["attempts"]) + 1,
            },
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
            log.warning(
                "job %s: finished after losing its claim (lease expired); the result is not recorded", request_id
            )
        return done

    def runnable(self) -> list[str]:
        """Ids of the jobs a worker may take now, oldest first: pending ones and abandoned running ones."""
        rows = self.db.rows(self.db.jobs(), "status IN ('pending', 'running')", None, [("created_at", "ascending")])
        return [r["request_id"] for r in rows if self.claimable(r)]


Extract = Callable[[Mapping[str, Any], "Extractor | None"], "tuple[list[MemoryEvent], list[ProfileEvent]]"]


class Jobs:
    """Run extraction jobs: now (``run``), or queued for the background worker; resume, retry, status."""

    def __init__(self, board: JobBoard, envelope: Envelope, extract: Extract) -> None:
        self.board = board
        self.envelope = envelope
        self._extract = extract
        self._extractors: dict[str, Extractor] = {}  # queued job -> the extractor of the caller that queued it
        self._lock = threading.Lock()  # guards _extractors and the worker's creation
        self._worker: Worker[str] | None = None

    # -- running --------------------------------------------------------------------------------

    def job_row(self, request_id: str) -> dict[str, Any]:
        job = self.board.get(request_id)
        if job is None:
            raise RequestNotFoundError(
                f"No extraction request {request_id!r}. Only add_memories calls with `messages` have a status; "
                "list_requests shows every request.",
                field="request_id",
            )
        return job

    def run(self, request_id: str, extractor: Extractor | None = None, claim: str | None = None) -> RequestStatus:
        """Extract and consolidate one job's messages; the job ends done or failed, never lost. Claims the
        job first unless ``claim`` is given; a job another worker holds (or finished) is left alone."""
        claim = claim or self.board.claim(request_id)
        job = self.job_row(request_id)
        if claim is None:
            log.info("job %s is %s elsewhere; skipped", request_id, job["status"])
            return status_model(job)
        try:
            events, profile_events = self._extract(job, extractor)
        except MemMcpError as exc:
            log.warning("extraction job %s failed: %s", request_id, exc)
            self.board.finish(request_id, claim, status="failed", error_code=exc.code, error=exc.message[:2000])
        except Exception as exc:  # top of a job: record it as failed and retryable
            log.exception("extraction job %s crashed", request_id)
            self.board.finish(
                request_id, claim, status="failed", error_code="INTERNAL", error=f"{type(exc).__name__}: {exc}"[:2000]
            )
        else:
            self.board.finish(
                request_id,
                claim,
                status="done",
                error_code=None,
                error=None,
                events=json.dumps([e.model_dump() for e in events], ensure_ascii=False),
                profile_events=json.dumps([e.model_dump() for e in profile_events], ensure_ascii=False),
            )
        return status_model(self.job_row(request_id))

    # -- the background worker ------------------------------------------------------------------

    def _start_worker(self) -> tuple[Worker[str], bool]:
        with self._lock:
            if self._worker is None:
                self._worker = Worker("mem-mcp-jobs", self._work)
                self._worker.start()
                return self._worker, True
            return self._worker, False

    def _work(self, request_id: str) -> None:
        with self._lock:
            extractor = self._extractors.pop(request_id, None)
        self.run(request_id, extractor)

    def enqueue(self, request_id: str, extractor: Extractor | None = None) -> None:
        worker, _ = self._start_worker()
        if extractor is not None:
            with self._lock:
                self._extractors[request_id] = extractor
        worker.put(request_id)

    def resume(self) -> int:
        """Queue the jobs left pending, or running under a claim that lapsed (a crash mid-job). Returns how
        many. Another process resuming the same jobs is harmless: each job runs in whichever claims it."""
        worker, started = self._start_worker()
        if not started:
            return 0
        request_ids = self.board.runnable()
        for request_id in request_ids:
            worker.put(request_id)
        return len(request_ids)

    def queued(self) -> int:
        worker = self._worker
        return worker.qsize() if worker is not None else 0

    def wait(self) -> None:
        """Block until the background queue is empty (for tests and batch scripts)."""
        worker = self._worker
        if worker is not None:
            worker.join()

    def close(self) -> None:
        """Stop the worker after the jobs already queued (waiting up to 30 s), and give up this board's claims."""
        with self._lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop(timeout=30)
        self.board.close()

    # -- operations -----------------------------------------------------------------------------

    def get_request(self, request_id: str, *, ctx: CallContext | None = None) -> RequestStatus:
        """The status of an add_memories request with messages: pending, running, done or failed, with events."""
        with self.envelope.operation("GetRequest", ctx) as req:
            job = self.job_row(request_id)
            _check_owner(job, req.ctx)
            req.store = job["store"]
            return status_model(job)

    def retry_request(self, request_id: str, *, sync: bool = True, ctx: CallContext | None = None) -> RequestStatus:
        """Run a failed extraction again from its saved messages."""
        with self.envelope.operation("RetryRequest", ctx) as req:
            job = self.job_row(request_id)
            _check_owner(job, req.ctx)
            req.store = job["store"]
            if job["status"] == "done":
                raise InvalidArgumentError(
                    f"Request {request_id!r} already succeeded; nothing to retry.", field="request_id"
                )
            busy = InvalidArgumentError(
                f"Request {request_id!r} is running now; check it with get_request.", field="request_id"
            )
            if sync:
                claim = self.board.claim(request_id)
                if claim is None:
                    raise busy
                return self.run(request_id, req.ctx.extractor, claim)
            if not self.board.requeue(job):
                raise busy
            self.enqueue(request_id, req.ctx.extractor)
            return status_model(self.job_row(request_id))


def _check_owner(job: Mapping[str, Any], ctx: CallContext) -> None:
    # Only callers bound to an app and tenant (HTTP tokens) are fenced in; a local user sees all.
    d = ctx.defaults
    if d.locked and not d.admin and (job["app_id"], job["tenant_id"]) != (d.app_id, d.tenant_id):
        raise RequestNotFoundError(f"No extraction request {job['request_id']!r}.", field="request_id")
