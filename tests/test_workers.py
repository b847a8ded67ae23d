"""workers.Worker: the one background-thread abstraction (job worker, request-log writer)."""

from __future__ import annotations

import threading

from mem_mcp.workers import Worker


def test_items_are_handled_in_order_and_join_waits_for_them():
    seen: list[int] = []
    worker: Worker[int] = Worker("test-order", seen.append)
    assert worker.start() and not worker.start()  # one thread, started once
    for i in range(50):
        worker.put(i)
    worker.join()
    assert seen == list(range(50))
    assert worker.stop(timeout=5)


def test_stop_finishes_what_is_queued_then_ends_the_thread():
    gate = threading.Event()
    seen: list[int] = []

    def handle(i: int) -> None:
        gate.wait(5)
        seen.append(i)

    worker: Worker[int] = Worker("test-stop", handle)
    worker.start()
    for i in range(3):
        worker.put(i)
    gate.set()
    assert worker.stop(timeout=5)
    assert seen == [0, 1, 2]
    assert not any(t.name == "test-stop" for t in threading.enumerate())
    assert not worker.start()  # a stopped worker stays stopped


def test_a_failing_item_is_logged_and_the_worker_goes_on(caplog):
    seen: list[int] = []

    def handle(i: int) -> None:
        if i == 1:
            raise RuntimeError("boom")
        seen.append(i)

    worker: Worker[int] = Worker("test-fail", handle)
    worker.start()
    for i in range(3):
        worker.put(i)
    worker.join()
    worker.stop(timeout=5)
    assert seen == [0, 2]
    assert "test-fail: 1 failed" in caplog.text


def test_on_idle_runs_when_nothing_arrives():
    idle = threading.Event()
    worker: Worker[int] = Worker("test-idle", lambda _: None, idle_s=0.01, on_idle=idle.set)
    worker.start()
    assert idle.wait(5)
    assert worker.stop(timeout=5)


def test_stopping_a_worker_never_started_is_a_no_op():
    assert Worker("test-unstarted", lambda _: None).stop(timeout=1)


def test_stop_with_drop_queued_finishes_the_item_in_progress_and_drops_the_rest():
    started, gate = threading.Event(), threading.Event()
    seen: list[int] = []

    def handle(i: int) -> None:
        started.set()
        gate.wait(5)
        seen.append(i)

    worker: Worker[int] = Worker("test-drop", handle)
    worker.start()
    for i in range(4):
        worker.put(i)
    assert started.wait(5) and worker.alive
    assert not worker.stop(timeout=0.1, drop_queued=True)  # item 0 is still in progress; 1-3 are dropped
    gate.set()
    assert worker.stop(timeout=5)  # a second stop just waits for the thread
    assert seen == [0] and not worker.alive
    worker.join()  # every item accounted for: join does not hang after a drop
