"""Fixtures of the server tests: bearer tokens for tenants and roles."""

from __future__ import annotations

from typing import Any

import pytest

from mem_mcp.auth import RateLimits, TokenStore


@pytest.fixture
def tokens(settings) -> dict[str, Any]:
    """Tokens in the data directory's token store: write tokens for alice and bob, a read token for
    alice, an admin, and a rate-limited writer (2 searches a minute); ``<name>_id`` is each record's id."""
    store = TokenStore(settings.token_path)
    out: dict[str, Any] = {"store": store}
    for name, tenant, role, limits in [
        ("alice", "alice", "write", None),
        ("bob", "bob", "write", None),
        ("alice_reader", "alice", "read", None),
        ("admin", "ops", "admin", None),
        ("limited", "carol", "write", RateLimits(search_per_minute=2)),
    ]:
        token, rec = store.create(app_id="default", tenant_id=tenant, role=role, name=name, rate_limits=limits)
        out[name] = token
        out[f"{name}_id"] = rec.id
    return out
