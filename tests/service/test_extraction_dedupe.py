"""R5 (issue 13): the same text extracted twice at once, by two jobs in two threads or two processes,
gives one memory (one ADD, the rest NONE); so does an extraction of a text added with
``add_memories(text=)`` a moment before."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mem_mcp.config import Settings
from mem_mcp.extraction import CandidateMemory, ExtractionInput, ExtractionResult, ReconcileDecision
from mem_mcp.service import MemoryService

from fakes import HashEmbedder

SCOPE = {"app_id": "app", "tenant_id": "alice", "agent_id": "claude", "run_id": "r1"}
READ = {"app_id": "app", "tenant_id": "alice"}
TEXT = "The user lives in Berlin"


class DecidedAdd:
    """An ``Extractor`` that proposes ``TEXT`` and decides ADD itself (as an LLM that reconciles does),
    after every caller has read what is already known (a barrier): without a check at write time each
    job then writes its own copy."""

    name = "decided-add"
    model = None

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=30) if parties > 1 else None

    def extract(self, data: ExtractionInput) -> ExtractionResult:
        if self.barrier is not None:
            self.barrier.wait()
        return ExtractionResult(
            candidates=[CandidateMemory(text=TEXT, type="fact")],
            decisions=[ReconcileDecision(candidate=0, action="ADD")],
            extractor=self.name,
        )


def _service(data: Path, parties: int = 1) -> MemoryService:
    settings = Settings(data_dir=data, _env_file=None)
    return MemoryService(settings, embedder=HashEmbedder(), extractor=DecidedAdd(parties))


def _active(svc: MemoryService) -> list[str]:
    return [m.text for m in svc.list_memories(scope=READ, limit=50).memories]


def test_two_threads_extracting_the_same_text_add_it_once(tmp_path):
    svc = _service(tmp_path / "data", parties=2)
    try:
        events: list[str] = []
        errors: list[BaseException] = []

        def add(i: int) -> None:
            try:
                out = svc.add_memories(messages=[{"role": "user", "content": f"I live in Berlin ({i})"}], scope=SCOPE)
                events.extend(e.event for e in out.events)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=add, args=(i,)) for i in range(2)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert not errors
        assert sorted(events) == ["ADD", "NONE"]
        assert _active(svc) == [TEXT]
    finally:
        svc.close()


def test_a_job_run_again_and_an_add_of_the_text_do_not_duplicate(tmp_path):
    svc = _service(tmp_path / "data")
    try:
        first = svc.add_memories(messages=[{"role": "user", "content": "I live in Berlin"}], scope=SCOPE)
        assert [e.event for e in first.events] == ["ADD"]
        # What a job resumed after its worker died mid-way does: its messages extracted again.
        again, _ = svc.pipeline.extract(svc.jobs.get(first.request_id))
        assert [(e.event, e.memory_id) for e in again] == [("NONE", first.events[0].memory_id)]
        added = svc.add_memories(text=TEXT, scope=SCOPE).events[0]
        assert (added.event, added.memory_id) == ("NONE", first.events[0].memory_id)
        assert _active(svc) == [TEXT]
    finally:
        svc.close()


def test_an_extraction_after_an_add_of_the_same_text_is_none(tmp_path):
    svc = _service(tmp_path / "data")
    try:
        added = svc.add_memories(text=TEXT, scope=SCOPE).events[0]
        out = svc.add_memories(messages=[{"role": "user", "content": "I live in Berlin"}], scope=SCOPE)
        assert [(e.event, e.memory_id) for e in out.events] == [("NONE", added.memory_id)]
        assert _active(svc) == [TEXT]
    finally:
        svc.close()


CHILD = """
import json, sys
sys.path[:0] = {paths!r}
from pathlib import Path
from test_extraction_dedupe import _service, SCOPE
svc = _service(Path({data!r}))
print("ready", flush=True)
sys.stdin.readline()  # go
out = svc.add_memories(messages=[{{"role": "user", "content": "I live in Berlin"}}], scope=SCOPE)
print(json.dumps([e.event for e in out.events]), flush=True)
svc.close()
"""


@pytest.mark.slow
def test_two_processes_extracting_the_same_text_add_it_once(tmp_path):
    data = tmp_path / "data"
    here = Path(__file__).resolve().parent
    paths = [str(here), str(here.parent), *sys.path]
    code = CHILD.format(paths=paths, data=str(data))
    svc = _service(data)
    svc.list_memories(scope=READ)  # the store exists before the children race on it
    try:
        trials = 3
        for trial in range(trials):
            procs = [
                subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                for _ in range(2)
            ]
            for p in procs:
                assert p.stdout.readline().strip() == "ready"
            for p in procs:
                p.stdin.write("go\n")
                p.stdin.flush()
            events = []
            for p in procs:
                out, _ = p.communicate(timeout=120)
                assert p.returncode == 0
                events += json.loads(out.strip().splitlines()[-1])
            assert events.count("ADD") == (1 if trial == 0 else 0) and len(events) == 2
            assert _active(svc) == [TEXT]
    finally:
        svc.close()
