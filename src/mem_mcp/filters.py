r"""Caller filters -> LanceDB ``where`` predicates.

A filter is a JSON object sent by an MCP tool call or the CLI, e.g.::

    {"type": "fact", "tags": {"$in": ["work", "家庭"]},
     "created_at": {"$gte": "2026-01-02T10:00:00+08:00"},
     "$or": [{"metadata.project": "apollo"}, {"metadata.priority": {"$gt": 3}}]}

Field conditions are AND-ed; ``$and``/``$or`` take non-empty lists of objects and ``$not`` one
object. A condition is a bare value (``$eq``) or an object of operators, AND-ed: ``$eq $ne $gt $gte
$lt $lte $in $nin $contains``.

The compiler is an allow-list: only the fields in :data:`FILTER_FIELDS` and the operators above are
accepted, column names are never taken from the caller, and every caller value (and metadata key) is
emitted as an escaped SQL literal, so caller text is always matched literally. Anything else raises
:class:`~mem_mcp.errors.InvalidFilterError` with a message meant for the model that sent it.

Negations (``$ne``, ``$nin``, ``$not``) match rows where the value is missing, as a caller expects:
``{"metadata.x": {"$ne": "a"}}`` also returns rows without ``x``.

Metadata (a Lance JSON column) is read as JSON text with ``json_extract(json_get(...), '$')``
rather than with ``json_get_string``/``json_get_float``/``json_get_bool``: those raise a query error
(not NULL) on a row whose value has another JSON type, so one odd row would break every search. On
JSON text the value's type is explicit: strings are compared with their JSON encoding, numbers with
``TRY_CAST(... AS DOUBLE)`` (so 5 matches 5.0 and the string "5" does not), booleans with
``'true'``/``'false'``. ``$contains`` on metadata is a regex over the JSON text that only matches at
character boundaries of the decoded string, so escapes such as ``\n`` never produce false hits.

Limits: a metadata key containing ``.`` cannot be addressed (the dot always means nesting); a
numeric segment also indexes a JSON array (``metadata.list.0``); ``$gt``/``$lt`` on metadata strings
order by their JSON text, which equals code-point order except around ``"``, ``\`` and control
characters; numbers compare as doubles; ``$contains`` is case-sensitive; time values without an
offset are taken as UTC and ``$eq`` on a time is an exact instant, not a day.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Final

from mem_mcp.errors import InvalidFilterError
from mem_mcp.storage import sql

__all__ = ["FILTER_FIELDS", "FILTER_OPERATORS", "compile_filter", "sql_string"]

#: Fields a filter may name (``metadata.<key>`` stands for any key, dotted for nested objects).
FILTER_FIELDS: tuple[str, ...] = (
    "created_at",
    "updated_at",
    "type",
    "agent_id",
    "run_id",
    "status",
    "tags",
    "metadata.<key>",
)
#: Field operators, in the order the error messages list them.
FILTER_OPERATORS: tuple[str, ...] = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$contains")
COMBINATORS: tuple[str, ...] = ("$and", "$or", "$not")

MAX_DEPTH: Final = 8
MAX_CONDITIONS: Final = 200
MAX_LIST_ITEMS: Final = 100
MAX_STRING_CHARS: Final = 1000
MAX_METADATA_PATH: Final = 8
# Bounds the SQL handed to Lance's parser (200 conditions x 100 items x 1000 chars would be 20 MB).
MAX_PREDICATE_CHARS: Final = 100_000
STATUS_VALUES: tuple[str, ...] = ("active", "superseded", "deleted")

_TIME_FIELDS: Final = ("created_at", "updated_at")
_STRING_FIELDS: Final = ("type", "agent_id", "run_id")
_COMPARISONS: Final = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}

_TIME_OPS: Final = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin")
_EQUALITY_OPS: Final = ("$eq", "$ne", "$in", "$nin")
_STATUS_OPS: Final = _EQUALITY_OPS
_TAGS_OPS: Final = ("$eq", "$ne", "$in", "$nin", "$contains")

_EXAMPLE = '{"type": "fact", "tags": {"$in": ["work"]}, "created_at": {"$gte": "2026-01-02"}}'
_FIELDS_TEXT = ", ".join(FILTER_FIELDS)


_LITERAL_MESSAGES: Final = {
    "not_a_string": "Expected a string, got {kind}. Pass the value as a JSON string.",
    "nul": "Filter strings may not contain the NUL character (\\u0000). Remove it and retry.",
    "surrogate": "Filter strings must be valid Unicode (this one holds a lone surrogate). Fix the text and retry.",
}


def sql_string(value: str) -> str:
    """``storage.sql.sql_string`` for a filter value: ``it's`` -> ``'it''s'``.

    Raises:
        InvalidFilterError: (field ``filter``) the value is not a string, or holds a NUL or a lone
            surrogate.
    """
    problem = sql.literal_problem(value)
    if problem is not None:
        raise InvalidFilterError(_LITERAL_MESSAGES[problem].format(kind=type(value).__name__), field="filter")
    return sql.sql_string(value)


def compile_filter(filter: Mapping[str, Any] | None) -> str | None:  # noqa: A002 - the public name
    """Compile a caller filter to a LanceDB ``where`` predicate; ``None`` or ``{}`` -> ``None``."""
    if filter is None:
        return None
    if not isinstance(filter, Mapping):
        raise InvalidFilterError(
            f"The filter must be a JSON object, got {_kind(filter)}. Example: {_EXAMPLE}. Fields: {_FIELDS_TEXT}.",
            field="filter",
        )
    if not filter:
        return None
    predicate = _Compiler().compile_object(filter, "filter", 1)
    if len(predicate) > MAX_PREDICATE_CHARS:
        raise InvalidFilterError(
            f"The filter is too large ({len(predicate)} characters of SQL once compiled; the limit is "
            f"{MAX_PREDICATE_CHARS}). Use fewer or shorter values, or split the request.",
            field="filter",
        )
    return predicate


# -- compiler ------------------------------------------------------------------------------------


class _Compiler:
    """One compilation: carries the running condition count."""

    def __init__(self) -> None:
        self.conditions = 0

    def compile_object(self, node: Mapping[str, Any], path: str, depth: int) -> str:
        """An object of field conditions and combinators, AND-ed."""
        if depth > MAX_DEPTH:
            raise InvalidFilterError(
                f"The filter at {path} is nested more than {MAX_DEPTH} levels deep ($and/$or/$not inside "
                "each other). Flatten it: conditions in one object are already AND-ed, and $in replaces "
                "an $or of equalities.",
                field=path,
            )
        parts: list[str] = []
        for key, value in node.items():
            if not isinstance(key, str):
                raise InvalidFilterError(
                    f"Filter keys must be strings, got {key!r} at {path}. Use field names: {_FIELDS_TEXT}.",
                    field=path,
                )
            sub = f"{path}.{key}"
            if key in ("$and", "$or"):
                parts.append(self._compile_list(key, value, sub, depth))
            elif key == "$not":
                if not isinstance(value, Mapping) or not value:
                    raise InvalidFilterError(
                        f"$not at {sub} takes one non-empty object of conditions, got {_kind(value)}. "
                        'Example: {"$not": {"type": "fact"}}.',
                        field=sub,
                    )
                # IS NOT TRUE, not NOT: rows where the inner test is NULL (value missing) are kept.
                parts.append(f"(({self.compile_object(value, sub, depth + 1)}) IS NOT TRUE)")
            elif key.startswith("$"):
                raise InvalidFilterError(
                    f"Unknown combinator {key!r} at {path}. At this level use field names ({_FIELDS_TEXT}) "
                    f"or the combinators {', '.join(COMBINATORS)}; operators such as $eq or $in go inside "
                    'a field, e.g. {"type": {"$in": ["fact", "preference"]}}.',
                    field=sub,
                )
            else:
                parts.append(self._compile_field(key, value, sub))
        return _join(parts, "AND")

    def _compile_list(self, op: str, value: Any, path: str, depth: int) -> str:
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence) or not value:
            raise InvalidFilterError(
                f"{op} at {path} takes a non-empty list of objects, got {_kind(value)}. "
                f'Example: {{"{op}": [{{"type": "fact"}}, {{"tags": "work"}}]}}.',
                field=path,
            )
        parts: list[str] = []
        for i, item in enumerate(value):
            sub = f"{path}[{i}]"
            if not isinstance(item, Mapping) or not item:
                raise InvalidFilterError(
                    f"Each item of {op} must be a non-empty object of conditions; {sub} is {_kind(item)}. "
                    f'Example: {{"{op}": [{{"type": "fact"}}, {{"tags": "work"}}]}}.',
                    field=sub,
                )
            parts.append(self.compile_object(item, sub, depth + 1))
        return _join(parts, "AND" if op == "$and" else "OR")

    def _compile_field(self, field: str, cond: Any, path: str) -> str:
        kind = _field_kind(field, path)
        keys = _metadata_path(field, path) if kind == "metadata" else []
        ops = _operators(cond, field, path)
        parts: list[str] = []
        for op, value in ops:
            self.conditions += 1
            if self.conditions > MAX_CONDITIONS:
                raise InvalidFilterError(
                    f"The filter has more than {MAX_CONDITIONS} conditions (limit reached at {path}). "
                    "Use $in with a list instead of many equalities, or split the request.",
                    field=path,
                )
            sub = f"{path}.{op}" if isinstance(cond, Mapping) else path
            if kind == "time":
                parts.append(_time_condition(field, op, value, sub))
            elif kind == "string":
                parts.append(_string_condition(field, op, value, sub))
            elif kind == "status":
                parts.append(_status_condition(op, value, sub))
            elif kind == "tags":
                parts.append(_tags_condition(op, value, sub))
            else:
                parts.append(_metadata_condition(field, keys, op, value, sub))
        return _join(parts, "AND")


def _field_kind(field: str, path: str) -> str:
    if field in _TIME_FIELDS:
        return "time"
    if field in _STRING_FIELDS:
        return "string"
    if field in ("status", "tags"):
        return field
    if field == "metadata" or field.startswith("metadata."):
        return "metadata"
    raise InvalidFilterError(
        f"Unknown filter field {field!r} at {path}. Allowed fields: {_FIELDS_TEXT} "
        f"(e.g. metadata.project), plus the combinators {', '.join(COMBINATORS)}. "
        "Put custom attributes under metadata.<key>.",
        field=path,
    )


def _operators(cond: Any, field: str, path: str) -> list[tuple[str, Any]]:
    """A field condition as (operator, value) pairs; a bare value means ``$eq``."""
    if not isinstance(cond, Mapping):
        return [("$eq", cond)]
    if not cond:
        raise InvalidFilterError(
            f"The condition on {field!r} at {path} is an empty object. Give a value or an operator "
            f'object, e.g. {{"{field}": {{"$eq": ...}}}}. Operators: {", ".join(_allowed_ops(field))}.',
            field=path,
        )
    pairs: list[tuple[str, Any]] = []
    for op, value in cond.items():
        allowed = _allowed_ops(field)
        if not isinstance(op, str) or not op.startswith("$"):
            hint = (
                f" To reach inside a nested metadata object use a dotted field, e.g. {field}.{op}."
                if field.startswith("metadata.") and isinstance(op, str)
                else ""
            )
            raise InvalidFilterError(
                f"The condition on {field!r} at {path} must be a plain value or an object of operators, "
                f"but it has the key {op!r}. Operators allowed on {field}: {', '.join(allowed)}.{hint}",
                field=path,
            )
        if op not in allowed:
            known = "Unknown" if op not in FILTER_OPERATORS else "Unsupported"
            raise InvalidFilterError(
                f"{known} operator {op!r} on field {field!r} at {path}. Operators allowed on {field}: "
                f"{', '.join(allowed)}. Use one of these instead.",
                field=f"{path}.{op}",
            )
        pairs.append((op, value))
    return pairs


def _allowed_ops(field: str) -> tuple[str, ...]:
    if field in _TIME_FIELDS:
        return _TIME_OPS
    if field == "status":
        return _STATUS_OPS
    if field == "tags":
        return _TAGS_OPS
    return FILTER_OPERATORS


# -- conditions per field kind -------------------------------------------------------------------


def _scalar_condition(field: str, op: str, value: Any, path: str, literal: Callable[[Any, str], str]) -> str:
    """``$eq $ne $in $nin`` on a scalar column, ``literal(value, path)`` quoting each value. The negations
    keep rows where the column is NULL (a missing value is "not equal")."""
    if op in ("$in", "$nin"):
        items = ", ".join(literal(v, f"{path}[{i}]") for i, v in enumerate(_list(value, field, op, path)))
        if op == "$in":
            return f"{field} IN ({items})"
        return f"({field} IS NULL OR {field} NOT IN ({items}))"
    if op == "$eq":
        return f"{field} = {literal(value, path)}"
    if op == "$ne":
        return f"({field} IS NULL OR {field} <> {literal(value, path)})"
    raise AssertionError(f"not an equality operator: {op}")


def _time_condition(field: str, op: str, value: Any, path: str) -> str:
    if op in _EQUALITY_OPS:
        return _scalar_condition(field, op, value, path, lambda v, p: _timestamp(v, field, p))
    return f"{field} {_COMPARISONS[op]} {_timestamp(value, field, path)}"


def _string_condition(field: str, op: str, value: Any, path: str) -> str:
    if op in _EQUALITY_OPS:
        return _scalar_condition(field, op, value, path, lambda v, p: _text(v, field, p))
    literal = _text(value, field, path)
    if op == "$contains":
        return f"{field} LIKE {_like_contains(value)} ESCAPE '\\'"
    return f"{field} {_COMPARISONS[op]} {literal}"


def _status_condition(op: str, value: Any, path: str) -> str:
    def status(v: Any, where: str) -> str:
        if not isinstance(v, str) or v not in STATUS_VALUES:
            raise InvalidFilterError(
                f"Invalid status {v!r} at {where}. status must be one of {', '.join(STATUS_VALUES)}; "
                "use one of these exact lowercase values.",
                field=where,
            )
        return sql_string(v)

    return _scalar_condition("status", op, value, path, status)


def _tags_condition(op: str, value: Any, path: str) -> str:
    if op in ("$in", "$nin"):
        items = ", ".join(_text(v, "tags", f"{path}[{i}]") for i, v in enumerate(_list(value, "tags", op, path)))
        if op == "$in":
            return f"array_has_any(tags, [{items}])"
        # array_has_any over a NULL list is NULL: keep untagged rows in the negation.
        return f"(tags IS NULL OR NOT array_has_any(tags, [{items}]))"
    if isinstance(value, (list, tuple)):
        raise InvalidFilterError(
            f"tags {op} at {path} takes one tag string, got a list. For any of several tags use "
            '{"tags": {"$in": [...]}}; for all of them use {"$and": [{"tags": "a"}, {"tags": "b"}]}.',
            field=path,
        )
    literal = _text(value, "tags", path)
    if op == "$ne":
        return f"(tags IS NULL OR NOT array_has(tags, {literal}))"
    return f"array_has(tags, {literal})"


def _metadata_condition(field: str, keys: list[str], op: str, value: Any, path: str) -> str:
    json_value = "metadata"
    for key in keys:
        # json_get takes the key as a plain string (no JSONPath parsing), so any key is safe.
        json_value = f"json_get({json_value}, {sql_string(key)})"
    text = f"json_extract({json_value}, '$')"

    if op in ("$in", "$nin"):
        items = _list(value, field, op, path)
        tests = [_metadata_eq(text, field, v, f"{path}[{i}]") for i, v in enumerate(items)]
        either = _join(tests, "OR")
        return either if op == "$in" else f"(({either}) IS NOT TRUE)"
    if op == "$eq":
        return _metadata_eq(text, field, value, path)
    if op == "$ne":
        return f"(({_metadata_eq(text, field, value, path)}) IS NOT TRUE)"
    if op == "$contains":
        if not isinstance(value, str):
            raise InvalidFilterError(
                f"$contains on {field!r} at {path} takes a string (substring of a string value), got "
                f"{_kind(value)}. Use $eq for numbers and booleans.",
                field=path,
            )
        _check_text(value, field, path)
        # JSON text is escaped; the regex walks whole escape tokens from the opening quote, so the
        # needle's encoding can only match at a character boundary of the decoded string.
        needle = _json_string(value)[1:-1]
        pattern = '^"(?:[^"\\\\]|\\\\.)*' + _regex_escape(needle)
        return f"regexp_like({text}, {sql_string(pattern)})"

    cmp = _COMPARISONS[op]
    if isinstance(value, str):
        _check_text(value, field, path)
        # Drop the closing quote on both sides so "ab" < "ab " holds (the quote sorts above a space).
        prefix = _json_string(value)[:-1]
        return f"({text} LIKE '\"%' AND left({text}, -1) {cmp} {sql_string(prefix)})"
    if _is_number(value):
        return f"TRY_CAST({text} AS DOUBLE) {cmp} {_number(value, field, path)}"
    raise InvalidFilterError(
        f"{op} on {field!r} at {path} takes a number or a string, got {_kind(value)}. "
        'Compare numbers with numbers (e.g. 3) and strings with strings (e.g. "2026-01-02").',
        field=path,
    )


def _metadata_eq(text: str, field: str, value: Any, path: str) -> str:
    """``text`` (a JSON-text expression) equals ``value``; a value of another JSON type never matches."""
    if value is None:
        return f"({text} IS NULL OR {text} = 'null')"
    if isinstance(value, bool):
        return f"{text} = 'true'" if value else f"{text} = 'false'"
    if _is_number(value):
        return f"TRY_CAST({text} AS DOUBLE) = {_number(value, field, path)}"
    if isinstance(value, str):
        _check_text(value, field, path)
        return f"{text} = {sql_string(_json_string(value))}"
    raise InvalidFilterError(
        f"The value for {field!r} at {path} must be a string, number, boolean or null, got {_kind(value)}. "
        "Lists go only in $in/$nin; for nested objects use a dotted field such as metadata.a.b.",
        field=path,
    )


def _metadata_path(field: str, path: str) -> list[str]:
    keys = field.split(".")[1:]
    if not keys or any(k == "" for k in keys):
        raise InvalidFilterError(
            f"Invalid metadata field {field!r} at {path}: name a key, as metadata.<key> "
            "(e.g. metadata.project), or metadata.<key>.<subkey> for a nested object; keys may not be empty.",
            field=path,
        )
    if len(keys) > MAX_METADATA_PATH:
        raise InvalidFilterError(
            f"Metadata field {field!r} at {path} is nested {len(keys)} keys deep; at most "
            f"{MAX_METADATA_PATH} are allowed. Use a shorter path.",
            field=path,
        )
    for key in keys:
        _check_text(key, field, path)
    return keys


# -- values --------------------------------------------------------------------------------------


def _timestamp(value: Any, field: str, path: str) -> str:
    """A UTC ``timestamp '...Z'`` literal from an ISO 8601 string or epoch seconds."""
    hint = (
        'Use an ISO 8601 string ("2026-01-02", "2026-01-02T10:00:00", "2026-01-02T10:00:00+08:00", '
        '"2026-01-02T02:00:00Z"; no offset means UTC) or epoch seconds (a number).'
    )
    if _is_number(value):
        if not _finite(value):
            raise InvalidFilterError(f"Invalid time {value!r} for {field!r} at {path}. {hint}", field=path)
        try:
            moment = datetime.fromtimestamp(value, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            extra = " It looks like milliseconds; divide by 1000." if abs(value) > 1e11 else ""
            raise InvalidFilterError(
                f"Time {value!r} for {field!r} at {path} is out of range.{extra} {hint}", field=path
            ) from None
    elif isinstance(value, str):
        _check_text(value, field, path)
        try:
            moment = datetime.fromisoformat(value.strip())
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            moment = moment.astimezone(timezone.utc)
        except (ValueError, OverflowError):
            raise InvalidFilterError(f"Invalid time {value!r} for {field!r} at {path}. {hint}", field=path) from None
    else:
        raise InvalidFilterError(
            f"The value for {field!r} at {path} must be a time, got {_kind(value)}. {hint}", field=path
        )
    return sql.ts_literal(moment)


def _text(value: Any, field: str, path: str) -> str:
    if not isinstance(value, str):
        raise InvalidFilterError(
            f"The value for {field!r} at {path} must be a string, got {_kind(value)}. "
            + ("Lists go only in $in/$nin. " if isinstance(value, (list, tuple)) else "")
            + f'Example: {{"{field}": "value"}}.',
            field=path,
        )
    _check_text(value, field, path)
    return sql_string(value)


def _check_text(value: str, field: str, path: str) -> None:
    if len(value) > MAX_STRING_CHARS:
        raise InvalidFilterError(
            f"A string for {field!r} at {path} is {len(value)} characters; filter strings are limited to "
            f"{MAX_STRING_CHARS}. Shorten it (for $contains, a distinctive part is enough).",
            field=path,
        )
    try:
        sql_string(value)
    except InvalidFilterError as exc:
        raise InvalidFilterError(f"Bad string for {field!r} at {path}: {exc.message}", field=path) from None


def _list(value: Any, field: str, op: str, path: str) -> list[Any]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence) or not value:
        raise InvalidFilterError(
            f"{op} on {field!r} at {path} takes a non-empty list of values (at most {MAX_LIST_ITEMS}), got "
            f'{_kind(value)}. Example: {{"{field}": {{"{op}": ["a", "b"]}}}}.',
            field=path,
        )
    if len(value) > MAX_LIST_ITEMS:
        raise InvalidFilterError(
            f"{op} on {field!r} at {path} has {len(value)} values; at most {MAX_LIST_ITEMS} are allowed. "
            "Split the request or use a broader condition.",
            field=path,
        )
    return list(value)


def _number(value: float, field: str, path: str) -> str:
    if not _finite(value):
        raise InvalidFilterError(
            f"The number {value!r} for {field!r} at {path} is not finite or too large. Use an ordinary number.",
            field=path,
        )
    return repr(float(value))


def _finite(value: float) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an int beyond the float range
        return False


def _is_number(value: Any) -> bool:
    # bool is an int subclass; True must never compare as 1.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _json_string(value: str) -> str:
    # Matches how Lance prints JSON strings (verified: same escapes, non-ASCII raw, lowercase \u00xx).
    return json.dumps(value, ensure_ascii=False)


def _like_contains(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return sql_string(f"%{escaped}%")


def _regex_escape(text: str) -> str:
    # Every ASCII non-alphanumeric as \x{..}: no character can act as regex syntax.
    return "".join(c if (c.isascii() and c.isalnum()) or not c.isascii() else f"\\x{{{ord(c):X}}}" for c in text)


def _join(parts: list[str], op: str) -> str:
    if len(parts) == 1:
        return parts[0]
    return "(" + f" {op} ".join(parts) + ")"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, Mapping):
        return "an object" if value else "an empty object"
    if isinstance(value, (list, tuple)):
        return "a list" if value else "an empty list"
    if isinstance(value, str):
        return f"the string {value[:60]!r}"
    if _is_number(value):
        return f"the number {value!r}"
    return f"a {type(value).__name__}"
