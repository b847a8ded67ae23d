"""Extraction jobs shared by several services and processes on one data directory: each job runs once,
in whichever worker claims it; a live claim is respected until its lease runs out; a claim of a dead
owner is taken over; tables from before claims existed are upgraded."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest

from mem_mcp.config import Settings
from mem_mcp.errors import InvalidArgumentError
from mem_mcp.extraction import CandidateMemory, ExtractionInput, ExtractionResult
from mem_mcp.models import Scope
from mem_mcp.service import MemoryService
from mem_mcp.service.jobs import JobBoard
from mem_mcp.storage import JOBS_SCHEMA, Database

from fakes import HashEmbedder

WORDS = ["apple", "banana", "cherry", "durian", "elderberry", "fig", "grape", "honeydew"]
ALICE = {"app_id": "app", "tenant_id": "alice", "agent_id": "claude", "run_id": "r1"}
READ = {"app_id": "app", "tenant_id": "alice"}


class Recorder:
    """Remembers each message it extracts from (one per job), optionally after a gate opens."""

    name = "recorder"
    model = None

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.gate = gate
        self.seen: list[str] = []

    def extract(self, data: ExtractionInput) -> ExtractionResult:
        if self.gate is not None:
            assert self.gate.wait(30)
        text = data.messages[0].content
        self.seen.append(text)
        return ExtractionResult(
            candidates=[CandidateMemory(text=f"The user said: {text}", type="fact")], extractor=self.name
        )


def service(settings: Settings, extractor: Recorder) -> MemoryService:
    return MemoryService(settings, embedder=HashEmbedder(), extractor=extractor)


def wait_for(predicate, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_two_services_resuming_the_same_jobs_run_each_once(settings):
    gate = threading.Event()
    first = service(settings, Recorder(gate))
    ids = [
        first.add_memories(messages=[{"role": "user", "content": word}], scope=ALICE, sync=False).request_id
        for word in WORDS
    ]
    wait_for(lambda: first.get_request(ids[0]).status == "running")  # held by a live worker

    b, c = Recorder(), Recorder()
    second, third = service(settings, b), service(settings, c)
    resumed: list[int] = []
    threads = [threading.Thread(target=lambda s=s: resumed.append(s.resume_jobs())) for s in (second, third)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    second.wait_for_jobs()
    third.wait_for_jobs()

    ran = Counter(b.seen + c.seen)
    assert ran == Counter(WORDS[1:])  # every waiting job once; the first left to its owner
    assert all(n <= 7 for n in resumed)

    gate.set()
    first.wait_for_jobs()  # its own queue still lists jobs 1-7: they are done, so it skips them
    assert first.extractor.seen == WORDS[:1]
    statuses = [first.get_request(i) for i in ids]
    assert [(s.status, s.attempts, [e.event for e in s.events]) for s in statuses] == [("done", 1, ["ADD"])] * 8
    assert len(first.list_memories(scope=READ, limit=100).memories) == 8
    for s in (first, second, third):
        s.close()


def test_an_expired_lease_is_taken_over_and_the_late_result_is_not_recorded(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", job_lease_s=1.0, _env_file=None)
    gate = threading.Event()
    slow = service(settings, Recorder(gate))
    request_id = slow.add_memories(
        messages=[{"role": "user", "content": "I live in Oslo"}], scope=ALICE, sync=False
    ).request_id
    wait_for(lambda: slow.get_request(request_id).status == "running")

    other = service(settings, Recorder())
    with pytest.raises(InvalidArgumentError, match="running now"):
        other.retry_request(request_id)  # a live claim within its lease
    assert other.resume_jobs() == 0

    time.sleep(1.1)
    taken = other.retry_request(request_id)
    assert (taken.status, taken.attempts) == ("done", 2) and [e.event for e in taken.events] == ["ADD"]

    gate.set()
    slow.wait_for_jobs()  # the slow worker finishes after losing its claim
    status = other.get_request(request_id)
    assert status.model_dump() == taken.model_dump()
    assert [m.text for m in other.list_memories(scope=READ).memories] == ["The user said: I live in Oslo"]
    slow.close()
    other.close()


def test_a_closed_services_running_job_is_claimable_at_once(settings):
    gate = threading.Event()
    owner = service(settings, Recorder(gate))
    request_id = owner.add_memories(messages=[{"role": "user", "content": "hello"}], scope=ALICE, sync=False).request_id
    wait_for(lambda: owner.get_request(request_id).status == "running")
    board = JobBoard(Database(str(settings.data_dir)), timedelta(minutes=15))
    assert not board.claimable(board.get(request_id))
    owner.jobs.close()  # what close() does once the worker has stopped
    assert board.claimable(board.get(request_id))
    gate.set()
    owner.close()


def _claim_all(data_dir: str, ids: list[str], ready: str, go: str, out: str) -> None:
    board = JobBoard(Database(data_dir), timedelta(minutes=15))
    board.get(ids[0])  # open the table before the race
    Path(ready).write_text("ready")
    while not Path(go).exists():
        time.sleep(0.001)
    Path(out).write_text(json.dumps([i for i in ids if board.claim(i) is not None]))


@pytest.mark.slow  # multi-process
def test_two_processes_never_claim_the_same_job(tmp_path):
    data_dir = str(tmp_path / "data")
    board = JobBoard(Database(data_dir), timedelta(minutes=15))
    scope = Scope(**ALICE)
    ids = [f"req_{i:02d}" for i in range(30)]
    for i in ids:
        board.create(i, "default", scope, [f"msg_{i}"], {}, claim=False)
    ctx = multiprocessing.get_context("spawn")
    go = tmp_path / "go"
    procs = []
    for k in range(2):
        args = (data_dir, ids, str(tmp_path / f"ready{k}"), str(go), str(tmp_path / f"won{k}"))
        procs.append(ctx.Process(target=_claim_all, args=args))
    for p in procs:
        p.start()
    wait_for(lambda: all((tmp_path / f"ready{k}").exists() for k in range(2)), 120)
    go.write_text("go")
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    won = [set(json.loads((tmp_path / f"won{k}").read_text())) for k in range(2)]
    assert not won[0] & won[1]
    assert won[0] | won[1] == set(ids)
    rows = board.db.rows(board.db.jobs(), None)
    assert len(rows) == len(ids) and all(r["status"] == "running" and r["attempts"] == 1 for r in rows)
    assert {r["request_id"] for r in rows if r["owner"].startswith(board.owner)} == set()


def test_a_jobs_table_from_before_claims_is_upgraded_and_its_running_job_resumes(settings):
    import lancedb

    old_schema = pa.schema([f for f in JOBS_SCHEMA if f.name not in ("owner", "lease_until")])
    row = {
        "request_id": "req_old",
        "store": "default",
        **ALICE,
        "message_ids": [],
        "metadata": "{}",
        "status": "running",
        "attempts": 1,
        "error_code": None,
        "error": None,
        "events": "[]",
        "created_at": datetime.now(timezone.utc),
        "updated_at": datetime.now(timezone.utc),
    }
    settings.data_dir.mkdir(parents=True)
    lancedb.connect(str(settings.data_dir)).create_table("jobs", pa.Table.from_pylist([row], schema=old_schema))

    svc = service(settings, Recorder())
    assert svc.jobs.runnable() == ["req_old"]  # claimed by a version without owners: abandoned
    assert {"owner", "lease_until"} <= set(svc.db.jobs().schema.names)
    assert svc.jobs.claim("req_old") is not None
    assert svc.get_request("req_old").attempts == 2
    svc.close()
