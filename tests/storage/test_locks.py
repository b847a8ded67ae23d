"""The striped write locks (storage/locks.py): a thread never takes a second lock while holding one
(two keys can hash to one stripe, so it could wait on itself), and the write paths that take two locks
in turn (a text that replaces a slot's memory) hold them one after the other, even when every key
shares one stripe."""

from __future__ import annotations

import threading

import pytest

from mem_mcp.config import Settings
from mem_mcp.storage.locks import WriteLocks

from fakes import HashEmbedder, NoopExtractor


def test_a_second_lock_while_holding_one_is_refused_not_a_deadlock(tmp_path) -> None:
    locks = WriteLocks(tmp_path / ".locks", stripes=1)
    with locks("memory", "t", "a"):
        with pytest.raises(RuntimeError, match="release it first"):
            with locks("memory", "t", "b"):  # same stripe: a plain lock would wait forever
                pass
    with locks("memory", "t", "b"):  # released: free again
        pass


def test_locks_serialise_writers_of_one_stripe_across_threads(tmp_path) -> None:
    locks = WriteLocks(tmp_path / ".locks", stripes=1)
    inside, overlaps = [0], [0]

    def work(i: int) -> None:
        for _ in range(50):
            with locks("k", str(i)):
                inside[0] += 1
                overlaps[0] += inside[0] > 1
                inside[0] -= 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads) and overlaps[0] == 0


def test_a_slot_update_from_text_with_every_key_on_one_stripe(settings: Settings, make_service) -> None:
    svc = make_service(settings, embedder=HashEmbedder(), extractor=NoopExtractor())
    svc.db.write_lock = WriteLocks(settings.data_dir / ".locks", stripes=1)
    scope = {"tenant_id": "alice"}
    first = svc.add_memories(text="用户住在上海浦东", scope=scope).events[0]
    done: list = []
    worker = threading.Thread(
        target=lambda: done.append(svc.add_memories(text="用户上个月从上海搬到了深圳南山区", scope=scope))
    )
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "the slot update waited on its own lock"
    (change,) = done[0].events
    assert change.event == "UPDATE" and change.memory_id == first.memory_id and change.old_text == "用户住在上海浦东"
