"""SQL literals for LanceDB ``where`` predicates: the only place a value becomes SQL text.

Every value that reaches a predicate goes through :func:`sql_string` (directly or through
:func:`in_list`, :func:`scope_where`) or :func:`ts_literal`, so caller text is always matched
literally. A value that cannot be a literal (not a string, a NUL, a lone surrogate) raises
:class:`~mem_mcp.errors.InvalidArgumentError` naming the caller's field; the filter compiler
(``mem_mcp.filters``) reports the same problems as filter errors, through :func:`literal_problem`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Final, Literal

from mem_mcp.errors import InvalidArgumentError
from mem_mcp.models import Scope
from mem_mcp.scope import SEGMENTS

__all__ = ["LiteralProblem", "in_list", "literal_problem", "scope_where", "sql_string", "ts_literal"]

#: Why a value cannot be a SQL string literal.
LiteralProblem = Literal["not_a_string", "nul", "surrogate"]

_MESSAGES: Final[dict[str, str]] = {
    "not_a_string": "{field} must be a string, got {kind}.",
    "nul": "{field} may not contain the NUL character (\\u0000). Remove it and retry.",
    "surrogate": "{field} must be valid Unicode (it holds a lone surrogate). Fix the text and retry.",
}


def literal_problem(value: object) -> LiteralProblem | None:
    """Why ``value`` cannot be quoted by :func:`sql_string`, or None if it can."""
    if not isinstance(value, str):
        return "not_a_string"
    if "\x00" in value:
        return "nul"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates cannot reach Arrow/Lance as UTF-8.
        return "surrogate"
    return None


def sql_string(value: str, field: str = "value") -> str:
    """Quote ``value`` as a SQL string literal: ``it's`` -> ``'it''s'``.

    Backslashes need no escaping: Lance's SQL dialect keeps them literal (verified).

    Raises:
        InvalidArgumentError: ``value`` is not a string, or holds a NUL or a lone surrogate; its
            ``field`` is ``field``.
    """
    problem = literal_problem(value)
    if problem is not None:
        message = _MESSAGES[problem].format(field=field, kind=type(value).__name__)
        raise InvalidArgumentError(message, field=field)
    return "'" + value.replace("'", "''") + "'"


def in_list(values: Iterable[str], field: str = "value") -> str:
    """``('a', 'b')`` for ``column IN ...``; no values give ``(NULL)``, which matches no row."""
    items = [sql_string(v, field) for v in values]
    return "(" + (", ".join(items) if items else "NULL") + ")"


def ts_literal(value: datetime) -> str:
    """A UTC ``timestamp '...Z'`` literal with microseconds (a naive ``value`` is local time)."""
    moment = value.astimezone(timezone.utc).replace(tzinfo=None)
    return "timestamp '" + moment.isoformat(timespec="microseconds") + "Z'"


def scope_where(scope: Scope) -> str:
    """The rows of ``scope``: one equality per concrete segment (a ``*`` segment matches every row)."""
    return " AND ".join(
        f"{seg} = {sql_string(getattr(scope, seg), seg)}" for seg in SEGMENTS if getattr(scope, seg) != "*"
    )
