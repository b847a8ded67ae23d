"""Concurrent inserts of one key insert it once, across processes, without our write locks.

LanceDB's ``merge_insert(key).when_not_matched_insert_all()`` alone lets two writers inserting the same
new key both commit (lance-format/lance#4585): before the fix, 29 of 30 keys raced here had two rows.
The database declares each merge key its table's primary key and merges without the key's scalar index
(storage/commits.py); the version writes, same-text adds and message ``seq`` of the service rely on it,
on object storage where there is no lock between servers (tests/storage/test_object_storage.py).
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import lancedb
import numpy as np

from mem_mcp.storage import Database
from mem_mcp.storage.commits import has_unique_key
from mem_mcp.storage.schema import MESSAGES_SCHEMA, memory_schema

KEYS = 12
TABLE = "mem_race"
DIM = 8


def _row(key: str, text: str, request_id: str | None = None) -> dict:
    ts = datetime.now(timezone.utc)
    vector = np.zeros(DIM, dtype=np.float32)
    vector[len(text) % DIM] = 1.0
    return {
        **{c: None for c in memory_schema(DIM).names},
        "row_key": f"{key}:1",
        "id": key,
        "version": 1,
        "app_id": "a",
        "tenant_id": "t",
        "agent_id": "g",
        "run_id": "r",
        "text": text,
        "fts_text": text,
        "vector": vector.tolist(),
        "type": "fact",
        "metadata": "{}",
        "tags": [],
        "confidence": 1.0,
        "status": "active",
        "source": [],
        "created_at": ts,
        "updated_at": ts,
        "valid_from": ts,
        "request_id": request_id,
    }


def _claim(uri: str, worker: int, barrier, queue) -> None:
    """Insert k0:1 .. k{KEYS-1}:1 with this worker's request id, each at the same moment as the other worker."""
    db = Database(uri)
    table = db.memories(TABLE, DIM)
    won = []
    for i in range(KEYS):
        row = _row(f"k{i}", f"key {i}", f"w{worker}")
        barrier.wait(60)
        if db.insert_new(table, "row_key", [row]):
            won.append(f"k{i}:1")
    db.close()
    queue.put((worker, won))


def race_inserts(uri: str) -> tuple[dict[str, list[str]], list[dict]]:
    """Two processes inserting the same keys at once; returns (keys each reported inserted, stored rows)."""
    db = Database(uri)
    table = db.memories(TABLE, DIM)
    # Some rows, indexed: the merge must also hold where the key's B-tree index exists.
    db.insert(table, [_row(f"f{i}", f"filler {i}") for i in range(40)])
    db.optimize(table)
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_claim, args=(uri, w, barrier, queue)) for w in range(2)]
    for p in procs:
        p.start()
    won = dict(queue.get(timeout=240) for _ in procs)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    stored = db.rows(table, "row_key LIKE 'k%'", ["row_key", "request_id"])
    db.close()
    return {f"w{w}": keys for w, keys in won.items()}, stored


def test_two_processes_inserting_the_same_new_keys_insert_each_once(tmp_path: Path) -> None:
    won, stored = race_inserts(str(tmp_path / "db"))
    copies = Counter(r["row_key"] for r in stored)
    assert sorted(copies) == sorted(f"k{i}:1" for i in range(KEYS))
    assert [k for k, n in copies.items() if n > 1] == [], "keys inserted twice"
    # Each key is reported inserted to exactly the writer whose row is stored.
    owner = {r["row_key"]: r["request_id"] for r in stored}
    assert sorted(k for keys in won.values() for k in keys) == sorted(owner)
    assert all(owner[k] == w for w, keys in won.items() for k in keys)


def test_merge_keys_are_declared_primary_keys_on_new_and_older_tables(tmp_path: Path) -> None:
    uri = str(tmp_path / "db")
    # Tables as an older mem-mcp left them: no primary key.
    conn = lancedb.connect(uri)
    conn.create_table("mem_old", schema=memory_schema(DIM))
    conn.create_table("messages", schema=MESSAGES_SCHEMA)
    old = conn.open_table("mem_old")
    assert not has_unique_key(old, "row_key")
    db = Database(uri)
    assert has_unique_key(db.memories("mem_old", DIM), "row_key")
    assert has_unique_key(db.memories("mem_new", DIM), "row_key")
    assert has_unique_key(db.messages(), "id")
    assert has_unique_key(db.stores(), "name")
    assert has_unique_key(db.profile_values(), "row_key")
    # A second process opening them finds the key set (setting it twice is an error in LanceDB).
    again = Database(uri)
    assert has_unique_key(again.memories("mem_old", DIM), "row_key")
    old.checkout_latest()
    assert has_unique_key(old, "row_key")
    table = again.memories("mem_old", DIM)
    assert again.insert_new(table, "row_key", [_row("m1", "x")]) == 1
    # Compaction and new columns keep it.
    again.insert(table, [_row(f"f{i}", f"filler {i}") for i in range(5)])
    again.optimize(table)
    assert has_unique_key(table, "row_key")
    db.close()
    again.close()


def test_insert_new_counts_only_rows_it_inserted(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "db"))
    table = db.memories(TABLE, DIM)
    rows = [_row(f"m{i}", f"t{i}") for i in range(3)]
    assert db.insert_new(table, "row_key", rows[:2]) == 2
    assert db.insert_new(table, "row_key", rows) == 1
    assert db.count(table, None) == 3
    db.close()
