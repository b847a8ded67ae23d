"""Bearer tokens and rate limits for HTTP hosting. Transport-free: the MCP adapter (server.py) plugs
``TokenStore`` into the SDK's token-verification hook and ``RateLimiter`` into its tool calls.

A token is ``mmcp_<id>_<secret>``. The token file keeps its id, a SHA-256 hash of the whole token (the
secret is 256 random bits, so a slow hash adds nothing), and what it is bound to: an app, a tenant
and a role. The plaintext is shown once, by ``mem-mcp token create``, and never stored or logged;
the request log records the id.

    {"version": 1, "tokens": [{"id": "3f9c0a1b2c4d", "name": "alice", "hash": "sha256:…",
      "app_id": "default", "tenant_id": "alice", "role": "write", "created_at": "…",
      "revoked": false, "rate_limits": {"per_minute": 600}}]}

Roles: ``read`` searches, lists and reads; ``write`` also adds, updates and deletes memories; ``admin``
also manages stores and may act on any tenant of any app (``scope.tenant_id``, ``*`` on listings).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Literal, Mapping

from .errors import InvalidArgumentError, NotFoundError, RateLimitedError
from .scope import ScopeDefaults, resolve_scope

log = logging.getLogger(__name__)

Role = Literal["read", "write", "admin"]
ROLES: tuple[Role, ...] = ("read", "write", "admin")
ROLE_RANK: dict[str, int] = {"read": 0, "write": 1, "admin": 2}
LimitKind = Literal["add", "search"]
TOKEN_PREFIX = "mmcp_"
_TOKEN_RE = re.compile(r"^mmcp_([0-9a-f]{12})_([A-Za-z0-9_-]{20,})$")
_RELOAD_EVERY_S = 1.0


def role_allows(role: str, needed: str) -> bool:
    """Whether ``role`` may do what needs ``needed`` (read < write < admin)."""
    return ROLE_RANK.get(role, -1) >= ROLE_RANK[needed]


def _hash(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class RateLimits:
    """Requests per minute for one token; 0 means unlimited, None means the server's default."""

    per_minute: int | None = None
    add_per_minute: int | None = None
    search_per_minute: int | None = None

    def merged(self, default: "RateLimits") -> "RateLimits":
        return RateLimits(**{k: (v if v is not None else getattr(default, k)) for k, v in asdict(self).items()})


@dataclass(frozen=True)
class TokenRecord:
    """What the token file keeps about one token (never the token itself)."""

    id: str
    hash: str
    app_id: str
    tenant_id: str
    role: Role
    name: str = ""
    created_at: str = ""
    revoked: bool = False
    rate_limits: RateLimits = field(default_factory=RateLimits)

    def defaults(self) -> ScopeDefaults:
        """Scope defaults of a caller holding this token: bound to its app and tenant."""
        return ScopeDefaults(app_id=self.app_id, tenant_id=self.tenant_id, locked=True, admin=self.role == "admin")

    def public(self) -> dict[str, Any]:
        """The record without its hash, for listings."""
        out = asdict(self)
        out.pop("hash")
        out["rate_limits"] = {k: v for k, v in out["rate_limits"].items() if v is not None}
        return out


def _record(raw: Mapping[str, Any], where: str) -> TokenRecord:
    try:
        limits = raw.get("rate_limits") or {}
        unknown = set(limits) - {"per_minute", "add_per_minute", "search_per_minute"}
        if unknown:
            raise ValueError(f"unknown rate_limits keys {sorted(unknown)}")
        rec = TokenRecord(
            id=str(raw["id"]),
            hash=str(raw["hash"]),
            app_id=str(raw["app_id"]),
            tenant_id=str(raw["tenant_id"]),
            role=raw["role"],
            name=str(raw.get("name", "")),
            created_at=str(raw.get("created_at", "")),
            revoked=bool(raw.get("revoked", False)),
            rate_limits=RateLimits(**{k: int(v) for k, v in limits.items()}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidArgumentError(
            f"{where}: malformed token entry ({exc}); fix or remove it.", field="tokens_file"
        ) from exc
    if rec.role not in ROLES:
        raise InvalidArgumentError(
            f"{where}: role must be one of {list(ROLES)}, got {rec.role!r}.", field="tokens_file"
        )
    if not rec.hash.startswith("sha256:"):
        raise InvalidArgumentError(f"{where}: hash must be 'sha256:<hex>'.", field="tokens_file")
    resolve_scope({"app_id": rec.app_id, "tenant_id": rec.tenant_id}, ScopeDefaults(), "write")  # validates segments
    return rec


class TokenStore:
    """The token file: create, list, revoke, and verify tokens. Re-reads the file when it changes, so
    ``mem-mcp token create`` and ``revoke`` take effect on a running server within a second."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._by_id: dict[str, TokenRecord] = {}
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0

    # -- reading --------------------------------------------------------------------------------

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _read(self) -> dict[str, TokenRecord]:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise InvalidArgumentError(f"Cannot read the token file {self.path}: {exc}.", field="tokens_file") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("tokens"), list):
            raise InvalidArgumentError(
                f"The token file {self.path} must be a JSON object with a 'tokens' list.", field="tokens_file"
            )
        records = [_record(raw, f"{self.path} entry {i}") for i, raw in enumerate(doc["tokens"])]
        return {r.id: r for r in records}

    def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < _RELOAD_EVERY_S:
            return
        self._checked = now
        stamp = self._file_stamp()
        if force or stamp != self._stamp:
            try:
                self._by_id = self._read()
            except InvalidArgumentError:
                if self._stamp is None:
                    raise
                # A half-edited file must not lock everyone out: keep the last good tokens.
                log.exception("token file unreadable; keeping the tokens loaded before")
                return
            self._stamp = stamp

    def load(self) -> list[TokenRecord]:
        """Read the file now (raising on a malformed file) and return every token, revoked ones included."""
        with self._lock:
            self._refresh(force=True)
            return list(self._by_id.values())

    def active(self) -> list[TokenRecord]:
        return [r for r in self.load() if not r.revoked]

    def verify(self, token: str) -> TokenRecord | None:
        """The record of a valid, unrevoked token; None for anything else."""
        m = _TOKEN_RE.match(token or "")
        if not m:
            return None
        with self._lock:
            self._refresh()
            rec = self._by_id.get(m.group(1))
        if rec is None or rec.revoked or not hmac.compare_digest(rec.hash, _hash(token)):
            return None
        return rec

    # -- writing --------------------------------------------------------------------------------

    @contextmanager
    def _editing(self) -> Iterator[dict[str, TokenRecord]]:
        """Read-modify-write the file under an exclusive lock, replacing it atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a+") as lock_file:
            try:
                import fcntl

                fcntl.flock(lock_file, fcntl.LOCK_EX)
            except ImportError:  # Windows: no flock; token edits are rare and made by one operator
                pass
            records = self._read()
            yield records
            doc = {
                "version": 1,
                "tokens": [
                    {**asdict(r), "rate_limits": {k: v for k, v in asdict(r.rate_limits).items() if v is not None}}
                    for r in records.values()
                ],
            }
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tokens-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(doc, out, ensure_ascii=False, indent=1)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        with self._lock:
            self._refresh(force=True)

    def create(
        self, *, app_id: str, tenant_id: str, role: str, name: str = "", rate_limits: RateLimits | None = None
    ) -> tuple[str, TokenRecord]:
        """A new token bound to app_id/tenant_id with ``role``: returns (plaintext, record). The
        plaintext is not kept anywhere; hand it to the user now."""
        if role not in ROLES:
            raise InvalidArgumentError(f"role must be one of {list(ROLES)}, got {role!r}.", field="role")
        for seg, value in (("app_id", app_id), ("tenant_id", tenant_id)):
            if value == "*":
                raise InvalidArgumentError(
                    f"A token is bound to one {seg}; '*' is not allowed. Use role admin to reach other tenants.",
                    field=seg,
                )
        scope = resolve_scope({"app_id": app_id, "tenant_id": tenant_id}, ScopeDefaults(), "write")
        token_id = secrets.token_hex(6)
        token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        rec = TokenRecord(
            id=token_id,
            hash=_hash(token),
            app_id=scope.app_id,
            tenant_id=scope.tenant_id,
            role=role,  # type: ignore[arg-type]
            name=name,
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            rate_limits=rate_limits or RateLimits(),
        )
        with self._editing() as records:
            records[rec.id] = rec
        return token, rec

    def revoke(self, token_id: str) -> TokenRecord:
        """Mark a token revoked (kept in the file so the audit log's ids stay explainable)."""
        with self._editing() as records:
            rec = records.get(token_id)
            if rec is None:
                raise NotFoundError(
                    f"No token with id {token_id!r}; `mem-mcp token list` shows the ids.", field="token_id"
                )
            records[token_id] = replace(rec, revoked=True)
            return records[token_id]


class RateLimiter:
    """Token buckets per (token, kind): each kind refills at limit/60 per second up to ``limit``, so a
    token may spend a minute's allowance in a burst and then its steady rate. Every request counts
    against ``per_minute``; adds and searches also against their own limits."""

    def __init__(self, default: RateLimits) -> None:
        self.default = default
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # -> (tokens, last refill)

    def _take(self, key: tuple[str, str], limit: int, now: float, commit: bool) -> float:
        """0 if a request fits (consuming it when ``commit``), else seconds until one does."""
        tokens, last = self._buckets.get(key, (float(limit), now))
        rate = limit / 60.0
        tokens = min(float(limit), tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate
        if commit:
            self._buckets[key] = (tokens - 1.0, now)
        return 0.0

    def check(self, token_id: str, limits: RateLimits, kind: LimitKind | None) -> None:
        """Count one request, or raise RateLimitedError (nothing counted) with the seconds to wait."""
        eff = limits.merged(self.default)
        checks = [("all", eff.per_minute or 0)]
        if kind is not None:
            checks.append((kind, getattr(eff, f"{kind}_per_minute") or 0))
        checks = [(k, lim) for k, lim in checks if lim > 0]
        now = time.monotonic()
        with self._lock:
            waits = [(self._take((token_id, k), lim, now, False), k, lim) for k, lim in checks]
            wait, which, limit = max(waits, default=(0.0, "", 0))
            if wait > 0:
                what = "requests" if which == "all" else f"{which} requests"
                raise RateLimitedError(
                    f"Too many {what} for this token: the limit is {limit} per minute. "
                    f"Wait {wait:.1f} s and try again, and spread calls out.",
                    retry_after_s=round(wait, 2),
                    limit_per_minute=limit,
                    limit_kind=which,
                )
            for k, lim in checks:
                self._take((token_id, k), lim, now, True)


__all__ = [
    "ROLES",
    "Role",
    "RateLimits",
    "RateLimiter",
    "TokenRecord",
    "TokenStore",
    "role_allows",
]
