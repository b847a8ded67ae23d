"""Concurrent writers on one memory, one text, one run (issue 13; review §3 races R1-R3).

What must hold: each acknowledged ``update_memory`` lands as its own version in the memory's history
or is refused with a typed ``CONFLICT``; no version is acknowledged to two callers; a memory never has
two active versions; identical texts added at once in one scope give one ``ADD`` and ``NONE``s; message
``seq`` is unique per run. In threads of one service and in processes on one data directory.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import pytest

from mem_mcp.config import Settings
from mem_mcp.errors import MemMcpError
from mem_mcp.service import MemoryService

from fakes import HashEmbedder, NoopExtractor

SCOPE = {"app_id": "app", "tenant_id": "t", "agent_id": "g", "run_id": "r"}
TRIALS = 5


def _race(n: int, fn: Callable[[int], Any]) -> list[tuple[str, Any]]:
    """Run ``fn(i)`` in ``n`` threads released at once; each outcome is ("ok", value) or (code, error).
    An untyped exception is an outcome too (and fails the tests that look at codes)."""
    barrier = threading.Barrier(n)
    out: list[tuple[str, Any]] = [("unset", None)] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = ("ok", fn(i))
        except MemMcpError as exc:
            out[i] = (exc.code, exc)
        except Exception as exc:  # noqa: BLE001 - recorded, asserted on below
            out[i] = (f"untyped {type(exc).__name__}: {exc}", None)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def _check_conflicts(out: list[tuple[str, Any]]) -> None:
    """Only CONFLICT may refuse a racing update, and it tells the caller what to do."""
    assert {code for code, _ in out} <= {"ok", "CONFLICT"}, out
    for code, exc in out:
        if code == "CONFLICT":
            assert exc.field == "memory_id" and "retry" in exc.message.lower(), exc.message


def _check_versions(svc: MemoryService, mid: str, acked: list[tuple[int, str]], scope: dict[str, str]) -> None:
    """The invariants of one memory after racing updates."""
    history = svc.memory_history(mid, scope=scope).entries
    versions = [e.version for e in history if e.event != "DELETE"]
    assert versions == list(range(1, len(versions) + 1)), f"history versions {versions}"
    by_version = {e.version: e.text for e in history}
    for version, text in acked:
        assert by_version.get(version) == text, f"acknowledged v{version} {text!r} is not in history {by_version}"
    assert len({v for v, _ in acked}) == len(acked), f"a version was acknowledged twice: {acked}"
    statuses = Counter(e.status for e in history if e.event != "DELETE")
    assert statuses["active"] == 1, f"active versions: {statuses}"
    assert history[-1].status == "active", "the newest version must be the active one"
    current = svc.get_memory(mid, scope=scope)
    assert current.version == versions[-1]


@pytest.mark.parametrize("trial", range(TRIALS))
def test_racing_updates_each_land_as_a_version_or_conflict(service, trial):
    mid = service.add_memories(text="The user lives in Paris", scope=SCOPE).events[0].memory_id
    cities = ["Berlin", "Rome", "Oslo"]

    def update(i: int) -> tuple[int, str]:
        res = service.update_memory(mid, text=f"The user lives in {cities[i]}", scope=SCOPE)
        assert res.events[0].event == "UPDATE"
        return res.memory.version, res.memory.text

    out = _race(3, update)
    _check_conflicts(out)
    acked = [v for code, v in out if code == "ok"]
    assert acked, "at least one update must win"
    _check_versions(service, mid, acked, SCOPE)


def test_racing_metadata_updates_keep_every_acknowledged_version(service):
    mid = service.add_memories(text="The user likes jazz", scope=SCOPE).events[0].memory_id

    def update(i: int) -> tuple[int, str]:
        res = service.update_memory(mid, metadata={"writer": i}, scope=SCOPE)
        return res.memory.version, res.memory.text

    out = _race(4, update)
    _check_conflicts(out)
    acked = [v for code, v in out if code == "ok"]
    history = service.memory_history(mid, scope=SCOPE).entries
    assert len(history) == 1 + len(acked)
    _check_versions(service, mid, acked, SCOPE)


@pytest.mark.parametrize("trial", range(TRIALS))
def test_identical_adds_at_once_give_one_add(service, trial):
    text = f"The user likes green tea {trial}"
    out = _race(4, lambda i: service.add_memories(text=text, scope=SCOPE).events[0])
    assert all(code == "ok" for code, _ in out), out
    events = sorted(ev.event for _, ev in out)
    assert events == ["ADD", "NONE", "NONE", "NONE"], events
    assert len({ev.memory_id for _, ev in out}) == 1
    assert service.list_memories(scope=SCOPE, limit=50).total == 1


def test_identical_adds_in_other_scopes_stay_separate(service):
    """Serialising same-text adds is per scope: another tenant's identical text is its own memory."""
    scopes = [{**SCOPE, "tenant_id": f"t{i}"} for i in range(3)]
    out = _race(3, lambda i: service.add_memories(text="The user likes chess", scope=scopes[i]).events[0])
    assert [ev.event for _, ev in out] == ["ADD", "ADD", "ADD"]


@pytest.mark.parametrize("trial", range(TRIALS))
def test_message_seq_is_unique_under_concurrent_adds(service, trial):
    scope = {**SCOPE, "run_id": f"run-{trial}"}
    out = _race(
        4,
        lambda i: service.add_memories(
            messages=[{"role": "user", "content": f"m{i}a"}, {"role": "assistant", "content": f"m{i}b"}], scope=scope
        ),
    )
    assert all(code == "ok" for code, _ in out), out
    msgs = service.list_messages(scope=scope).messages
    seqs = [m.seq for m in msgs]
    assert len(seqs) == 8 and len(set(seqs)) == 8, seqs
    assert seqs == sorted(seqs)
    # the two messages of one call stay adjacent and in order
    by_call = {m.content[:-1]: [] for m in msgs}
    for m in msgs:
        by_call[m.content[:-1]].append(m.seq)
    assert all(b == a + 1 for a, b in by_call.values()), by_call


# -- across processes ------------------------------------------------------------------------------


def _proc_writer(data_dir: str, mid: str, worker: int, n: int, queue: Any) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # a spawned child: tests/ for fakes
    from fakes import HashEmbedder as Embedder

    svc = MemoryService(Settings(data_dir=data_dir, _env_file=None), embedder=Embedder())
    out = []
    try:
        for k in range(n):
            try:
                res = svc.update_memory(mid, text=f"The user moved to city {worker}-{k}", scope=SCOPE)
                out.append(("ok", res.memory.version, res.memory.text))
            except MemMcpError as exc:
                out.append((exc.code, None, None))
            ev = svc.add_memories(text=f"The shared fact number {k}", scope=SCOPE).events[0]
            out.append(("add", ev.event, ev.memory_id))
    finally:
        svc.close()
        queue.put(out)


def test_two_processes_updating_one_memory_and_adding_the_same_texts(settings):
    svc = MemoryService(settings, embedder=HashEmbedder(), extractor=NoopExtractor())
    mid = svc.add_memories(text="The user lives in Paris", scope=SCOPE).events[0].memory_id
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_proc_writer, args=(str(settings.data_dir), mid, w, 6, queue)) for w in range(2)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    updates = [r for res in results for r in res if r[0] != "add"]
    assert {r[0] for r in updates} <= {"ok", "CONFLICT"}, updates
    acked = [(v, t) for code, v, t in updates if code == "ok"]
    _check_versions(svc, mid, acked, SCOPE)
    adds = [r for res in results for r in res if r[0] == "add"]
    for k in range(6):
        page = svc.list_memories(scope=SCOPE, filter=None, limit=500)
        same = [m for m in page.memories if m.text == f"The shared fact number {k}"]
        assert len(same) == 1, f"fact {k}: {len(same)} active copies"
    assert Counter(e for _, e, _ in adds)["ADD"] == 6
    svc.close()


def test_racing_updates_after_compaction_and_with_metadata(service):
    """Compacted fragments store the JSON column differently; version writes must work on them too
    (a conditional merge_insert over them panicked inside LanceDB 0.40)."""
    ids = [
        service.add_memories(text=f"The user likes sport {i}", metadata={"n": i}, scope=SCOPE).events[0].memory_id
        for i in range(5)
    ]
    for i in range(110):  # past the optimizer's threshold, and compact now
        service.add_memories(text=f"The user filler {i}", scope=SCOPE)
    service.maintenance()
    for mid in ids[:2]:
        out = _race(
            3,
            lambda i: (lambda r: (r.memory.version, r.memory.text))(
                service.update_memory(mid, text=f"The user likes sport {mid[-4:]}-{i}", metadata={"w": i}, scope=SCOPE)
            ),
        )
        _check_conflicts(out)
        _check_versions(service, mid, [v for code, v in out if code == "ok"], SCOPE)
