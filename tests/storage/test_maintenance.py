"""Maintenance keeps disk bounded and repairs what a crash left (issue 13): old table versions go after
the retention, memory history stays; a memory table without its indexes gets them back."""

from __future__ import annotations

from pathlib import Path

from mem_mcp.config import Settings
from mem_mcp.service import MemoryService

from fakes import HashEmbedder, NoopExtractor

SCOPE = {"app_id": "app", "tenant_id": "t", "agent_id": "g", "run_id": "r"}


def _svc(data: Path, **kw) -> MemoryService:
    return MemoryService(
        Settings(data_dir=data, _env_file=None, **kw), embedder=HashEmbedder(), extractor=NoopExtractor()
    )


def _manifests(data: Path, table: str) -> int:
    return len(list((data / f"{table}.lance" / "_versions").glob("*.manifest")))


def test_old_versions_are_deleted_and_history_stays(tmp_path):
    data = tmp_path / "data"
    svc = _svc(data, version_retention_s=0)
    mid = svc.add_memories(text="The user lives in Paris", scope=SCOPE).events[0].memory_id
    for i in range(15):
        svc.update_memory(mid, text=f"The user lives in city {i}", scope=SCOPE)
        svc.add_memories(text=f"The user noted {i}", scope=SCOPE)
    table = svc.stores.table_of("default")[2]
    before = _manifests(data, table)
    svc.maintenance()
    after = _manifests(data, table)
    assert before > 30 and after <= 3, (before, after)
    assert [e.version for e in svc.memory_history(mid, scope=SCOPE).entries] == list(range(1, 17))
    assert svc.search_memories(query="city 14", scope=SCOPE).results[0].memory.id == mid
    assert _manifests(data, "requests") <= 3
    svc.close()


def test_versions_younger_than_the_retention_are_kept(tmp_path):
    data = tmp_path / "data"
    svc = _svc(data, version_retention_s=3600)
    for i in range(10):
        svc.add_memories(text=f"The user noted {i}", scope=SCOPE)
    table = svc.stores.table_of("default")[2]
    before = _manifests(data, table)
    svc.maintenance()
    assert _manifests(data, table) >= before
    svc.close()


def test_a_memory_table_missing_its_indexes_gets_them_back(tmp_path):
    """As a process killed while building a new store's indexes leaves it."""
    data = tmp_path / "data"
    svc = _svc(data)
    svc.add_memories(text="The user plays the violin", scope=SCOPE)
    _, table, name = svc.stores.table_of("default")
    for index in table.list_indices():
        if index.columns == ["fts_text"] or index.columns == ["status"]:
            table.drop_index(index.name)
    svc.close()
    assert not any(i.columns == ["fts_text"] for i in table.list_indices())

    again = _svc(data)
    again.maintenance()
    _, table, _ = again.stores.table_of("default")
    columns = {tuple(i.columns) for i in table.list_indices()}
    assert ("fts_text",) in columns and ("status",) in columns
    hits = again.search_memories(query="violin", scope=SCOPE, mode="keyword").results
    assert hits and hits[0].memory.text == "The user plays the violin"
    again.close()


def test_an_update_interrupted_between_its_commits_is_repaired_at_start(tmp_path):
    """A kill between claiming version n+1 and retiring n leaves both active: the next process (and
    maintenance) retires n; readers took n+1 meanwhile."""
    data = tmp_path / "data"
    svc = _svc(data)
    mid = svc.add_memories(text="The user lives in Paris", scope=SCOPE).events[0].memory_id
    svc.update_memory(mid, text="The user lives in Rome", scope=SCOPE)
    _, table, _ = svc.stores.table_of("default")
    svc.db.update(table, f"row_key = '{mid}:1'", {"status": "active"})  # the state the kill leaves
    assert svc.get_memory(mid, scope=SCOPE).text == "The user lives in Rome"
    svc.close()
    again = _svc(data)
    page = again.list_memories(scope=SCOPE)
    assert [(m.id, m.version) for m in page.memories] == [(mid, 2)]
    assert [e.status for e in again.memory_history(mid, scope=SCOPE).entries] == ["superseded", "active"]
    again.close()
