"""Time and ids, one definition each: every row's timestamps come from ``now()`` and every id from ``new_id``."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

__all__ = ["new_id", "now"]


def now() -> datetime:
    """The current time, timezone-aware UTC (what every table stores)."""
    return datetime.now(timezone.utc)


def new_id(prefix: str) -> str:
    """A new random id such as ``mem_3f2a...``: the prefix names the kind of thing."""
    return f"{prefix}_{uuid.uuid4().hex}"
