"""The LanceDB layer: searches, the version-checked row cache, background maintenance."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

import mem_mcp.storage.maintenance as store
from mem_mcp.errors import ConflictError
from mem_mcp.storage import MEMORY_COLUMNS, Database, memory_table_name
from mem_mcp.storage.commits import retry
from mem_mcp.terms import fts_text

DIM = 8


def _row(i: int, text: str, vector: np.ndarray) -> dict:
    ts = datetime.now(timezone.utc)
    return {
        "row_key": f"m{i}:1",
        "id": f"m{i}",
        "version": 1,
        "app_id": "a",
        "tenant_id": "t",
        "agent_id": "g",
        "run_id": "r",
        "text": text,
        "fts_text": fts_text(text),
        "vector": vector.tolist(),
        "type": "fact",
        "key": None,
        "metadata": "{}",
        "tags": [],
        "confidence": 1.0,
        "status": "active",
        "source": [],
        "extractor": None,
        "model": None,
        "created_at": ts,
        "updated_at": ts,
        "valid_from": ts,
        "superseded_at": None,
        "deleted_at": None,
        "request_id": None,
    }


def _unit(i: int) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[i % DIM] = 1.0
    v[(i + 1) % DIM] = 0.5
    return v / np.linalg.norm(v)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(str(tmp_path / "db"))


def test_searches_return_rows_scores_and_numpy_vectors(db: Database) -> None:
    table = db.memories(memory_table_name("s", 0), DIM)
    db.insert(table, [_row(i, text, _unit(i)) for i, text in enumerate(["green tea", "black coffee", "用户喜欢喝茶"])])
    near = db.vector_search(table, _unit(1), "tenant_id = 't'", 2, MEMORY_COLUMNS)
    assert near[0]["id"] == "m1" and abs(near[0]["_distance"]) < 1e-5 and "vector" not in near[0]
    found = db.fts_search(table, fts_text("tea"), "status = 'active'", 10, ["id"])
    assert [r["id"] for r in found] == ["m0"] and found[0]["_score"] > 0
    assert isinstance(found[0]["vector"], np.ndarray) and found[0]["vector"].dtype == np.float32
    assert np.allclose(found[0]["vector"], _unit(0))
    assert "vector" not in db.fts_search(table, fts_text("茶"), None, 10, ["id"], with_vector=False)[0]
    assert db.fts_search(table, fts_text("nothing"), None, 10, ["id"]) == []


def test_cached_rows_see_a_commit_from_another_connection(tmp_path: Path) -> None:
    a, b = Database(str(tmp_path / "db")), Database(str(tmp_path / "db"))
    a.insert(a.stores(), [{"name": "s1", "description": "one"}])
    assert [r["description"] for r in b.cached_rows(b.stores(), "name = 's1'")] == ["one"]
    rows = b.cached_rows(b.stores(), "name = 's1'")
    rows[0]["description"] = "changed by the caller"  # callers get copies
    assert b.cached_rows(b.stores(), "name = 's1'")[0]["description"] == "one"
    a.update(a.stores(), "name = 's1'", {"description": "uno"})
    assert b.cached_rows(b.stores(), "name = 's1'")[0]["description"] == "uno"


def test_optimize_runs_in_the_background_every_n_writes(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "OPTIMIZE_EVERY_WRITES", 5)
    table = db.memories(memory_table_name("s", 0), DIM)
    for i in range(5):
        db.insert(table, [_row(i, f"memory number {i}", _unit(i))])
    db.wait_for_maintenance()
    assert table.stats()["fragment_stats"]["num_fragments"] == 1  # five one-row fragments compacted
    assert db.fts_search(table, fts_text("number"), None, 10, ["id"], with_vector=False)  # index folded in


def test_ann_index_is_built_past_the_threshold(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "ANN_INDEX_MIN_ROWS", 300)
    table = db.memories(memory_table_name("s", 0), DIM)
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((300, DIM)).astype(np.float32)
    db.insert(table, [_row(i, f"memory {i}", v / np.linalg.norm(v)) for i, v in enumerate(vectors)])
    db.optimize(table)
    assert ("vector",) in {tuple(i.columns) for i in table.list_indices()}
    assert db.vector_search(table, vectors[7] / np.linalg.norm(vectors[7]), None, 1, ["id"])[0]["id"] == "m7"


def test_optimize_adds_the_indexes_a_table_of_an_older_version_lacks(db: Database) -> None:
    table = db.memories(memory_table_name("s", 0), DIM)
    db.insert(table, [_row(i, f"memory {i}", _unit(i)) for i in range(3)])
    row_key_index = next(i for i in table.list_indices() if tuple(i.columns) == ("row_key",))
    table.drop_index(row_key_index.name)
    db.optimize(table)
    assert ("row_key",) in {tuple(i.columns) for i in table.list_indices()}
    assert db.rows(table, "row_key = 'm1:1'", ["id"]) == [{"id": "m1"}]


def test_scope_columns_get_bitmap_indexes_and_optimize_swaps_an_older_tables_b_trees(db: Database) -> None:
    from lancedb.index import BTree

    table = db.memories(memory_table_name("s", 0), DIM)
    db.insert(table, [_row(i, f"memory {i}", _unit(i)) for i in range(3)])
    kinds = {i.columns[0]: str(i.index_type) for i in table.list_indices()}
    assert {c: kinds[c] for c in ("app_id", "tenant_id", "agent_id", "status", "type")} == dict.fromkeys(
        ("app_id", "tenant_id", "agent_id", "status", "type"), "Bitmap"
    )
    assert kinds["id"] == kinds["row_key"] == kinds["run_id"] == "BTree"
    old = next(i for i in table.list_indices() if i.columns == ["status"])
    table.drop_index(old.name)
    table.create_index("status", config=BTree(), replace=True)  # as a table of the previous version has it
    db.optimize(table)
    assert [str(i.index_type) for i in table.list_indices() if i.columns == ["status"]] == ["Bitmap"]
    assert db.count(table, "app_id = 'a' AND tenant_id = 't' AND status = 'active'") == 3


def test_close_stops_the_optimizer_thread_and_writes_go_on(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "OPTIMIZE_EVERY_WRITES", 2)
    table = db.memories(memory_table_name("s", 0), DIM)
    db.insert(table, [_row(0, "memory 0", _unit(0))])
    db.insert(table, [_row(1, "memory 1", _unit(1))])
    db.wait_for_maintenance()
    worker = db._optimizer._worker
    assert worker.alive
    db.close()
    assert not worker.alive and worker.stopped
    for i in range(2, 6):  # past the threshold twice: no thread is started again
        db.insert(table, [_row(i, f"memory {i}", _unit(i))])
    db.wait_for_maintenance()
    assert not worker.alive and db._optimizer._worker is worker
    assert db.count(table, None) == 6
    fragments = table.stats()["fragment_stats"]["num_fragments"]
    db.optimize(table)  # an explicit optimize still runs, on the caller's thread
    assert table.stats()["fragment_stats"]["num_fragments"] < fragments
    db.close()  # idempotent


@pytest.mark.parametrize(
    "message",
    [
        "Retryable commit conflict for version 7: This Update transaction was preempted by concurrent transaction",
        "Commit conflict for version 12: This Rewrite transaction is incompatible with concurrent transaction",
    ],
)
def test_lost_commit_races_are_retried_then_a_conflict(message: str) -> None:
    calls: list[int] = []

    def loses_twice() -> str:
        calls.append(1)
        if len(calls) <= 2:
            raise RuntimeError(message)
        return "committed"

    assert retry(loses_twice) == "committed" and len(calls) == 3

    def always_loses() -> None:
        raise OSError(message)

    with pytest.raises(ConflictError) as exc:
        retry(always_loses, attempts=2)
    assert isinstance(exc.value.__cause__, OSError) and exc.value.code == "CONFLICT"


def test_other_failures_are_not_retried() -> None:
    calls: list[int] = []

    def fails() -> None:
        calls.append(1)
        raise ValueError("Invalid user input: column 'x' does not exist")

    with pytest.raises(ValueError, match="does not exist"):
        retry(fails)
    assert len(calls) == 1
