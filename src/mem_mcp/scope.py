"""Scope resolution: fills the segments a caller omits from the connection's defaults and enforces the
rules of DESIGN §2 (full scope for writes; ``*`` on agent_id/run_id for search and list; tenant ``*``
only for an admin listing; operations on one memory by id take the memory's own agent and run where the
caller omits them)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, Mapping

from .errors import InvalidScopeError
from .models import Scope, ScopeInput

WILDCARD = "*"
SEGMENTS = ("app_id", "tenant_id", "agent_id", "run_id")
MAX_SEGMENT_CHARS = 128
# Any printable text (Chinese included) but no control characters; '*' is only ever a whole segment.
_SEGMENT_RE = re.compile(r"^[^\x00-\x1f\x7f]{1,128}$")

Mode = Literal["write", "read", "list", "id"]


@dataclass(frozen=True)
class ScopeDefaults:
    """What a connection fills in for omitted segments.

    ``locked`` (HTTP with a token) means app_id and tenant_id are bound to the caller and a different
    value in a request is refused. ``read_agent``/``read_run`` are the defaults on search and list:
    ``*`` so that a new conversation recalls what earlier ones saved.
    """

    app_id: str = "default"
    tenant_id: str = "default"
    agent_id: str = "default"
    run_id: str = "default"
    locked: bool = False
    admin: bool = False
    read_agent: str = WILDCARD
    read_run: str = WILDCARD


def resolve_scope(scope: ScopeInput | Mapping[str, Any] | None, defaults: ScopeDefaults, mode: Mode) -> Scope:
    """Turn a caller's (partial) scope into a full one, or raise InvalidScopeError saying what to fix.

    ``write``: every segment concrete (writes, get/update/delete of one memory, messages).
    ``read``: ``*`` allowed on agent_id and run_id (search).
    ``list``: as read, plus ``*`` on tenant_id for an admin.
    ``id``: one memory by id (get, update, delete, history): omitted agent_id and run_id are ``*``, the
    memory's own, so a later conversation reaches what an earlier one saved; given ones must match.
    App and tenant apply as always.
    """
    if scope is None:
        given: dict[str, Any] = {}
    elif isinstance(scope, ScopeInput):
        given = scope.model_dump(exclude_none=True)
    elif isinstance(scope, Mapping):
        unknown = set(scope) - set(SEGMENTS)
        if unknown:
            raise InvalidScopeError(
                f"Unknown scope segment(s) {sorted(unknown)}; a scope has only {list(SEGMENTS)}.", field="scope"
            )
        given = {k: v for k, v in scope.items() if v is not None}
    else:
        raise InvalidScopeError("scope must be an object with app_id, tenant_id, agent_id, run_id.", field="scope")

    fallback = {
        "app_id": defaults.app_id,
        "tenant_id": defaults.tenant_id,
        "agent_id": defaults.agent_id if mode == "write" else WILDCARD if mode == "id" else defaults.read_agent,
        "run_id": defaults.run_id if mode == "write" else WILDCARD if mode == "id" else defaults.read_run,
    }
    values: dict[str, str] = {}
    for seg in SEGMENTS:
        value = given.get(seg, fallback[seg])
        if not isinstance(value, str):
            raise InvalidScopeError(f"scope.{seg} must be a string, got {type(value).__name__}.", field=f"scope.{seg}")
        value = value.strip()
        _check_segment(seg, value, mode, defaults)
        values[seg] = value

    if defaults.locked and not defaults.admin:
        for seg in ("app_id", "tenant_id"):
            if values[seg] != getattr(defaults, seg):
                raise InvalidScopeError(
                    f"scope.{seg} is bound to your credentials ({getattr(defaults, seg)!r}); omit it.",
                    field=f"scope.{seg}",
                )
    return Scope(**values)


def _has_surrogate(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_segment(seg: str, value: str, mode: Mode, defaults: ScopeDefaults) -> None:
    if not value:
        raise InvalidScopeError(
            f"scope.{seg} is empty; omit it to use the default, or give a value.", field=f"scope.{seg}"
        )
    if WILDCARD in value:
        if value != WILDCARD:
            raise InvalidScopeError(
                f"scope.{seg} {value!r} mixes '*' with text; only a bare '*' is a wildcard.", field=f"scope.{seg}"
            )
        allowed = mode != "write" and (
            seg in ("agent_id", "run_id") or (seg == "tenant_id" and mode == "list" and defaults.admin)
        )
        if not allowed:
            if mode == "write":
                why = "this operation needs a concrete scope (writes and single-memory get/update/delete)"
            elif seg == "tenant_id":
                why = "only an admin may list across tenants"
            else:
                why = f"'*' is not allowed in {seg}"
            raise InvalidScopeError(
                f"scope.{seg} is '*', but {why}. Give a concrete {seg}, or omit it to use the default.",
                field=f"scope.{seg}",
            )
        return
    if not _SEGMENT_RE.match(value) or _has_surrogate(value):
        raise InvalidScopeError(
            f"scope.{seg} must be 1-{MAX_SEGMENT_CHARS} printable characters with no control characters.",
            field=f"scope.{seg}",
        )


def is_wildcard(value: str) -> bool:
    return value == WILDCARD
