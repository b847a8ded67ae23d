"""Time and ids, one definition each: every row's timestamps come from ``now()`` and every id from ``new_id``."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone

__all__ = ["derived_id", "new_id", "now"]


def now() -> datetime:
    """The current time, timezone-aware UTC (what every table stores)."""
    return datetime.now(timezone.utc)


def new_id(prefix: str) -> str:
    """A new random id such as ``mem_3f2a...``: the prefix names the kind of thing."""
    return f"{prefix}_{uuid.uuid4().hex}"


def derived_id(prefix: str, *parts: str) -> str:
    """An id every process derives alike from ``parts`` (same shape as ``new_id``): two writers adding
    the same thing at once compute the same id, and the database keeps one of them."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{prefix}_{digest}"
