"""Optimistic commits: a write that loses a commit race to another writer is retried.

LanceDB 0.40 raises no typed error for a lost race, so a conflict is recognised by its message
(``is_conflict``; tests/storage/test_database.py pins the messages it must recognise). After the last attempt a
conflict becomes :class:`~mem_mcp.errors.ConflictError`: nothing was written, the caller may retry.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, TypeVar

from mem_mcp.errors import ConflictError

__all__ = ["ATTEMPTS", "is_conflict", "retry"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Tries of one commit before a conflict is the caller's (backoff from 20 ms, doubling to 0.5 s).
ATTEMPTS = 8


def is_conflict(exc: BaseException) -> bool:
    """Whether LanceDB raised ``exc`` because another commit won the race."""
    text = str(exc).lower()
    return "conflict" in text or "retryable" in text or "concurrent" in text


def retry(fn: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """``fn()``, called again after a lost commit race, up to ``attempts`` times.

    Raises:
        ConflictError: every attempt lost a race.
        OSError, RuntimeError, ValueError: any other LanceDB failure, unchanged.
    """
    delay = 0.02
    for attempt in range(attempts):
        try:
            return fn()
        except (OSError, RuntimeError, ValueError) as exc:
            if not is_conflict(exc) or attempt == attempts - 1:
                if is_conflict(exc):
                    raise ConflictError(
                        "Another writer kept changing the same data; nothing was written. Retry the call."
                    ) from exc
                raise
            log.debug("commit conflict, retrying: %s", exc)
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
    raise AssertionError("unreachable")
