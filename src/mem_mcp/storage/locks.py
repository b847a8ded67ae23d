"""Write locks across the processes sharing a local data directory.

LanceDB's optimistic commits keep each commit atomic, and its conditional insert (``merge_insert``
when-not-matched on a table's primary key, commits.py) keeps a key unique between processes; a
read-modify-write (a memory's next version, a run's next ``seq``) still retries when another writer
took the key first. On a local data directory these steps take an ``flock`` on one of a fixed set of
lock files (``<data dir>/.locks/``), picked by key, together with a thread lock: a server and the CLI
beside it then write one memory, one scope's text, one run's messages one at a time, without retries.
Object storage has no such lock; there the conditional inserts and commits alone are what hold.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["WriteLocks"]

STRIPES = 64


class WriteLocks:
    """``with locks("memory", table, memory_id): ...`` serialises writers of that key in this process
    and, with a lock directory, in every process using it. A thread holds at most one at a time."""

    def __init__(self, directory: Path | None, stripes: int = STRIPES) -> None:
        self._dir = directory
        self._stripes = stripes
        self._threads = [threading.Lock() for _ in range(stripes)]
        self._held = threading.local()

    @contextmanager
    def __call__(self, *key: str) -> Iterator[None]:
        import zlib

        # Two keys can share a stripe, so a thread holding one lock that takes another could wait on
        # itself: such nesting is a bug, refused whatever the keys hash to.
        if getattr(self._held, "key", None) is not None:
            raise RuntimeError(f"write lock {key!r} taken while holding {self._held.key!r}: release it first")
        stripe = zlib.crc32("\x1f".join(key).encode("utf-8", "surrogatepass")) % self._stripes
        with self._threads[stripe], self._holding(key):
            if self._dir is None:
                yield
                return
            try:
                import fcntl
            except ImportError:  # Windows: in-process locking only
                yield
                return
            self._dir.mkdir(parents=True, exist_ok=True)
            with open(self._dir / f"{stripe:02d}.lock", "a+b") as fh:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    @contextmanager
    def _holding(self, key: tuple[str, ...]) -> Iterator[None]:
        self._held.key = key
        try:
            yield
        finally:
            self._held.key = None
