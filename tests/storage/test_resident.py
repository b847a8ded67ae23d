"""Resident memories: the in-process exact scan answers like LanceDB, for the right tenant and scope,
and never from a snapshot older than the table (own writes followed, anything else re-read)."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from mem_mcp.config import Settings
from mem_mcp.service import MemoryService
from mem_mcp.storage import MEMORY_COLUMNS, Database, memory_table_name
from mem_mcp.storage.resident import RowMatch
from mem_mcp.terms import fts_text

from fakes import HashEmbedder, NoopExtractor

DIM = 16
AGENTS = ("desk", "phone")
RUNS = ("r1", "r2", "r3")
TYPES = ("fact", "preference")


def _row(
    i: int,
    vector: np.ndarray,
    tenant: str = "t1",
    *,
    app: str = "a",
    version: int = 1,
    status: str = "active",
    agent: str | None = None,
    run: str | None = None,
    mem_type: str | None = None,
) -> dict:
    ts = datetime.now(timezone.utc)
    text = f"memory {i} v{version}"
    return {
        "row_key": f"m{i}:{version}",
        "id": f"m{i}",
        "version": version,
        "app_id": app,
        "tenant_id": tenant,
        "agent_id": agent or AGENTS[i % 2],
        "run_id": run or RUNS[i % 3],
        "text": text,
        "fts_text": fts_text(text),
        "vector": np.asarray(vector, dtype=np.float32).tolist(),
        "type": mem_type or TYPES[i % 2],
        "key": None,
        "metadata": "{}",
        "tags": [],
        "confidence": 1.0,
        "status": status,
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


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _where(m: RowMatch) -> str:
    parts = [f"app_id = '{m.app_id}'", f"tenant_id = '{m.tenant_id}'"]
    if m.agent_id is not None:
        parts.append(f"agent_id = '{m.agent_id}'")
    if m.run_id is not None:
        parts.append(f"run_id = '{m.run_id}'")
    parts.append("status IN (" + ", ".join(f"'{s}'" for s in m.statuses) + ")")
    if m.types is not None:
        parts.append("type IN (" + ", ".join(f"'{t}'" for t in m.types) + ")")
    return " AND ".join(parts)


def _search(db: Database, table, q: np.ndarray, m: RowMatch, k: int = 10, *, resident: bool) -> list[tuple[str, float]]:
    rows = db.vector_search(table, q, _where(m), k, MEMORY_COLUMNS, exact=not resident, match=m if resident else None)
    return [(r["row_key"], round(1.0 - float(r["_distance"]), 4)) for r in rows]


def _resident_used(db: Database, table, m: RowMatch) -> bool:
    return db.resident.top(table.name, table.version, np.ones(DIM, np.float32), m, 1) is not None


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(str(tmp_path / "db"), resident_memories_mib=64)


@pytest.fixture
def table(db: Database):
    table = db.memories(memory_table_name("s", 0), DIM)
    vecs = _vectors(200)
    rows = [_row(i, vecs[i], tenant="t1" if i < 120 else "t2") for i in range(200)]
    rows += [_row(500 + i, vecs[i], app="other-app") for i in range(20)]  # same tenant name, other app
    old = _vectors(120, seed=5)
    rows += [_row(i, old[i], version=0, status="superseded") for i in range(0, 120, 10)]
    db.insert(table, rows)
    return table


MATCHES = [
    RowMatch("a", "t1", None, None, ("active",)),
    RowMatch("a", "t1", "desk", None, ("active",)),
    RowMatch("a", "t1", "phone", "r2", ("active",)),
    RowMatch("a", "t1", None, None, ("active",), ("preference",)),
    RowMatch("a", "t1", None, None, ("active", "superseded")),
    RowMatch("a", "t2", None, "r3", ("active", "superseded"), ("fact", "preference")),
    RowMatch("other-app", "t1", None, None, ("active",)),
]


@pytest.mark.parametrize(
    "m", MATCHES, ids=lambda m: f"{m.app_id}/{m.tenant_id}/{m.agent_id}/{m.run_id}/{m.statuses}/{m.types}"
)
def test_resident_scan_returns_what_an_exact_lancedb_search_returns(db: Database, table, m: RowMatch) -> None:
    assert db.resident.load_now(table.name, m.app_id, m.tenant_id)
    assert _resident_used(db, table, m)
    for q in _vectors(5, seed=1):
        got = _search(db, table, q, m, resident=True)
        assert got == _search(db, table, q, m, resident=False)
        assert got  # every case has rows
    rows = db.vector_search(table, _vectors(1, 2)[0], _where(m), 50, MEMORY_COLUMNS, match=m)
    assert rows and all(m.accepts(r) for r in rows)  # scope, status and type hold, tenants and apps apart


def test_a_value_the_tenant_never_had_matches_nothing(db: Database, table) -> None:
    m = RowMatch("a", "t1", "nobody", None, ("active",))
    db.resident.load_now(table.name, "a", "t1")
    assert db.vector_search(table, _vectors(1)[0], _where(m), 10, MEMORY_COLUMNS, match=m) == []


def test_own_inserts_and_upserts_are_followed_without_a_reload(db: Database, table) -> None:
    m = RowMatch("a", "t1", None, None, ("active",))
    db.resident.load_now(table.name, "a", "t1")
    q = _vectors(1, seed=9)[0]
    db.insert(table, [_row(900, q)])  # a new memory right at the query
    assert _resident_used(db, table, m)
    assert _search(db, table, q, m, resident=True)[0] == ("m900:1", 1.0)
    # update_memory's commit: version 2 written, version 1 superseded, in one upsert
    old = _row(900, q)
    old["status"] = "superseded"
    db.upsert(table, "row_key", [old, _row(900, -q, version=2)])
    assert _resident_used(db, table, m)
    got = _search(db, table, q, m, 200, resident=True)
    assert "m900:1" not in dict(got) and "m900:2" in dict(got)
    assert got == _search(db, table, q, m, 200, resident=False)
    assert _search(db, table, q, RowMatch("a", "t1", None, None, ("superseded",)), resident=True)[0][0] == "m900:1"


def test_a_write_it_cannot_follow_sends_searches_to_lancedb_until_reread(db: Database, table) -> None:
    m = RowMatch("a", "t1", None, None, ("active",))
    db.resident.load_now(table.name, "a", "t1")
    q = _vectors(1, seed=3)[0]
    best = _search(db, table, q, m, resident=True)[0][0]
    db.update(table, f"row_key = '{best}'", {"status": "deleted"})  # the soft delete
    assert not _resident_used(db, table, m)
    assert best not in dict(_search(db, table, q, m, resident=True))  # answered by LanceDB meanwhile
    db.resident.wait_idle()  # the search above asked for a re-read in the background
    assert _resident_used(db, table, m)
    assert _search(db, table, q, m, resident=True) == _search(db, table, q, m, resident=False)


_WRITER = """
import sys
import numpy as np
sys.path[:0] = sys.argv[2:]  # this directory, and tests/ for the modules test_resident imports
from test_resident import DIM, _row
from mem_mcp.storage import Database, memory_table_name
db = Database(sys.argv[1])
table = db.memories(memory_table_name("s", 0), DIM)
q = np.zeros(DIM, dtype=np.float32); q[0] = 1.0
db.insert(table, [_row(777, q)])
"""


@pytest.mark.slow  # multi-process
def test_another_process_writing_is_seen_at_once(db: Database, table, tmp_path: Path) -> None:
    m = RowMatch("a", "t1", None, None, ("active",))
    db.resident.load_now(table.name, "a", "t1")
    assert _resident_used(db, table, m)
    here = Path(__file__).parent
    subprocess.run([sys.executable, "-c", _WRITER, db.uri, str(here), str(here.parent)], check=True, timeout=120)
    q = np.zeros(DIM, dtype=np.float32)
    q[0] = 1.0
    assert not _resident_used(db, table, m)  # the snapshot is older than the table now
    assert _search(db, table, q, m, resident=True)[0] == ("m777:1", 1.0)
    db.resident.wait_idle()
    assert _resident_used(db, table, m)
    assert _search(db, table, q, m, resident=True)[0] == ("m777:1", 1.0)


def test_the_memory_budget_holds_the_most_recently_searched_tenants(tmp_path: Path) -> None:
    # Each tenant here: 500 rows of 16 dims, ~205 KiB resident (344 KiB by the estimate before a read).
    db = Database(str(tmp_path / "db"), resident_memories_mib=0.38)
    table = db.memories(memory_table_name("s", 0), DIM)
    vecs = _vectors(1500)
    db.insert(table, [_row(i, vecs[i], tenant=f"t{i % 3}") for i in range(1500)])
    t0, t1 = (RowMatch("a", t, None, None, ("active",)) for t in ("t0", "t1"))
    assert db.resident.load_now(table.name, "a", "t0") and db.resident.load_now(table.name, "a", "t1")
    assert db.resident.resident_bytes() <= 0.38 * 2**20
    assert _resident_used(db, table, t1) and not _resident_used(db, table, t0)  # t0 was the older
    small = Database(str(tmp_path / "db"), resident_memories_mib=0.2)  # less than one tenant's estimate
    assert not small.resident.load_now(table.name, "a", "t0")
    m = RowMatch("a", "t0", None, None, ("active",))
    assert _search(small, table, vecs[0], m, resident=True)[0][0] == "m0:1"  # still found, by LanceDB


def test_snapshot_rows_are_the_rows_lancedb_returns(db: Database, table) -> None:
    m = RowMatch("a", "t1", None, "r2", ("active",))
    q = _vectors(1, seed=4)[0]
    plain = db.vector_search(table, q, _where(m), 20, MEMORY_COLUMNS, exact=True)
    db.resident.load_now(table.name, "a", "t1")
    db.insert(table, [_row(901, q, run="r2")])  # an own write: held as written
    got = db.vector_search(table, q, _where(m), 21, MEMORY_COLUMNS, match=m)
    assert got[0]["row_key"] == "m901:1" and set(got[0]) == set(MEMORY_COLUMNS) | {"_distance", "vector"}
    for a, b in zip(got[1:], plain):
        assert a.keys() == b.keys() | {"vector"}  # the resident scan hands its vectors along (retrieval.supersessions)
        assert all(a[k] == b[k] for k in MEMORY_COLUMNS)
        assert a["_distance"] == pytest.approx(b["_distance"], abs=1e-5)


def test_full_text_hits_come_from_the_snapshot_and_rows_it_lacks_from_lancedb(db: Database, table) -> None:
    m = RowMatch("a", "t1", None, None, ("active",))
    db.resident.load_now(table.name, "a", "t1")
    plain = db.fts_search(table, fts_text("memory v1"), _where(m), 200, MEMORY_COLUMNS)
    got = db.fts_search(table, fts_text("memory v1"), _where(m), 200, MEMORY_COLUMNS, match=m)
    assert [(r["row_key"], r["_score"]) for r in got] == [(r["row_key"], r["_score"]) for r in plain]
    assert len(got) == 120  # t1's active rows
    for a, b in zip(got, plain):
        assert all(a[k] == b[k] for k in MEMORY_COLUMNS)
        assert np.allclose(a["vector"], b["vector"], atol=1e-6)
    # A row committed between the version check and the query is not in the snapshot: read whole.
    snap = db.resident._snapshots[(table.name, "a", "t1")]
    del snap.position[got[0]["row_key"]]
    again = db.fts_search(table, fts_text("memory v1"), _where(m), 200, MEMORY_COLUMNS, match=m)
    assert [r["row_key"] for r in again] == [r["row_key"] for r in plain]
    assert all(again[0][k] == plain[0][k] for k in MEMORY_COLUMNS)


def test_search_memories_answers_the_same_with_and_without_resident_memories(tmp_path: Path) -> None:
    emb = HashEmbedder()
    on = MemoryService(Settings(data_dir=tmp_path / "d", _env_file=None), embedder=emb, extractor=NoopExtractor())
    off = MemoryService(
        Settings(data_dir=tmp_path / "d", _env_file=None, resident_memories_mib=0),
        embedder=emb,
        extractor=NoopExtractor(),
    )
    texts = [
        "The user drinks green tea every morning",
        "用户每天早上喝绿茶",
        "The user lives in Lisbon",
        "用户住在上海",
        "The user prefers short answers",
        "The user's dog is called Rex",
    ]
    for i, text in enumerate(texts * 3):
        # Varied metadata and tags: ranking that read a column the snapshot lacks would differ below.
        scope = {"app_id": "a", "tenant_id": "t1", "agent_id": AGENTS[i % 2], "run_id": RUNS[i % 3]}
        on.add_memories(text=f"{text} ({i})", scope=scope, metadata={"n": i}, tags=["x"] * (i % 2))
    on.add_memories(
        text="The user drinks green tea (other tenant)",
        scope={"app_id": "a", "tenant_id": "t2", "agent_id": "x", "run_id": "y"},
    )
    _, table, _ = on._table_of("default")
    assert on.db.resident.load_now(table.name, "a", "t1")
    for kw in (
        {},
        {"scope": {"agent_id": "desk"}},
        {"scope": {"agent_id": "phone", "run_id": "r2"}},
        {"types": ["fact"]},
        {"include_superseded": True},
        {"filter": {"agent_id": "desk"}},
        {"order_by": "created_at_asc"},
        {"offset": 3, "top_k": 4},
    ):
        scope = {"app_id": "a", "tenant_id": "t1", "agent_id": "*", "run_id": "*", **kw.get("scope", {})}
        args = {k: v for k, v in kw.items() if k != "scope"}
        for query in ("green tea", "绿茶", "where does the user live"):
            a = on.search_memories(query, scope=scope, **args)
            b = off.search_memories(query, scope=scope, **args)
            # Same memories in the same order; scores equal up to float32 rounding (the scan in memory and
            # LanceDB's distance kernel sum in different orders).
            assert [h.memory.id for h in a.results] == [h.memory.id for h in b.results]
            assert [h.score for h in a.results] == pytest.approx([h.score for h in b.results], abs=1e-5)
            assert all(h.memory.scope.tenant_id == "t1" for h in a.results)
    assert on.db.resident.current(table.name, table.version, RowMatch("a", "t1", None, None, ("active",)))
    on.close()
    off.close()


def test_closing_stops_the_loader_and_searches_go_on_through_lancedb(db: Database, table) -> None:
    m = RowMatch("a", "t1", None, None, ("active",))
    q = _vectors(1, seed=6)[0]
    expected = _search(db, table, q, m, resident=False)
    assert _search(db, table, q, m, resident=True) == expected  # asks for a read in the background
    db.resident.wait_idle()
    assert _resident_used(db, table, m)
    loader = db.resident._worker
    assert loader.alive
    db.resident.close()
    assert not loader.alive and loader.stopped
    assert not _resident_used(db, table, m)
    assert _search(db, table, q, m, resident=True) == expected
    db.resident.wait_idle(timeout=1)
    assert not _resident_used(db, table, m) and not loader.alive  # no loader started again


def test_warm_up_reads_the_default_tenant_into_memory(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", _env_file=None)
    svc = MemoryService(settings, embedder=HashEmbedder(), extractor=NoopExtractor())
    svc.add_memories(text="The user drinks green tea", scope={"agent_id": "a", "run_id": "r"})
    svc.close()
    svc = MemoryService(settings, embedder=HashEmbedder(), extractor=NoopExtractor())
    svc.warm_up()
    _, table, _ = svc._table_of("default")
    m = RowMatch(settings.default_app, settings.default_tenant, None, None, ("active",))
    assert svc.db.resident.current(table.name, table.version, m)
    assert svc.search_memories("green tea", scope={"agent_id": "*", "run_id": "*"}).results[0].memory.text == (
        "The user drinks green tea"
    )
    svc.close()


def test_arrow_rows_are_what_arrow_itself_gives():
    from datetime import datetime, timezone

    import pyarrow as pa

    from mem_mcp.storage.resident import arrow_rows

    stamps = [
        datetime(2026, 4, 12, 17, 13, 33, 17830, tzinfo=timezone.utc),
        None,
        datetime(1965, 1, 2, tzinfo=timezone.utc),
    ]
    table = pa.table(
        {
            "text": ["a", "用户", None],
            "us": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "ms": pa.array(stamps, pa.timestamp("ms", tz="UTC")),
            "s": pa.array(stamps, pa.timestamp("s", tz="UTC")),
            "none": pa.array([None] * 3, pa.timestamp("us", tz="UTC")),
            "naive": pa.array([datetime(2026, 1, 1), None, None], pa.timestamp("us")),
            "tags": [["x"], [], None],
            "n": [1.5, None, 2.0],
        }
    )
    chunked = pa.concat_tables([table.slice(0, 1), table.slice(1)])
    for t in (table, chunked, table.take([2, 0])):
        got, want = arrow_rows(t), t.to_pylist()
        assert got == want
        assert [type(r["us"] and r["us"].tzinfo) for r in got] == [type(r["us"] and r["us"].tzinfo) for r in want]
    assert arrow_rows(pa.table({"x": [1, 2]}).drop_columns(["x"])) == [{}, {}]
