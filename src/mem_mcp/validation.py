"""Argument checks shared by the service's operations, and the one pydantic -> typed-error mapping.

Every check raises a typed error (``mem_mcp.errors``) naming the field and the fix, before anything is
written. Integer bounds come from the aliases in ``models.py`` (``TopK``, ``PageLimit``, ...), which the
MCP tool schemas use too.
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping, Sequence, get_args

from pydantic import ValidationError

from .errors import EmptyTextError, InvalidArgumentError, TextTooLongError
from .models import BUILTIN_STRATEGIES, CustomStrategy, MessageInput, TtlDays

MAX_MESSAGES_PER_CALL = 500
MAX_TAGS = 32
MAX_METADATA_CHARS = 16_000
#: Integers metadata keeps exactly: signed 64 bits (JSON readers in other languages agree on these).
METADATA_INT_RANGE = (-(2**63), 2**63 - 1)
STORE_NAME_CHARS = 64

#: Sort orders of list and search (besides "relevance"): name -> (column, direction).
ORDER_COLUMNS = {
    "created_at_desc": ("created_at", "descending"),
    "created_at_asc": ("created_at", "ascending"),
    "updated_at_desc": ("updated_at", "descending"),
    "updated_at_asc": ("updated_at", "ascending"),
}


def bounds(alias: Any) -> tuple[Any, Any]:
    """The (low, high) of a bounded alias such as ``models.TopK`` (``ge`` and ``le``)."""
    low = high = None
    for meta in get_args(alias)[1:]:
        for item in [meta, *getattr(meta, "metadata", [])]:
            low = getattr(item, "ge", None) if getattr(item, "ge", None) is not None else low
            high = getattr(item, "le", None) if getattr(item, "le", None) is not None else high
    if low is None or high is None:
        raise TypeError(f"{alias!r} has no ge/le bounds")
    return low, high


def max_length(alias: Any) -> int:
    """The ``max_length`` of a bounded string alias such as ``models.SchemaName``."""
    for meta in get_args(alias)[1:]:
        for item in [meta, *getattr(meta, "metadata", [])]:
            if getattr(item, "max_length", None) is not None:
                return int(item.max_length)
    raise TypeError(f"{alias!r} has no max_length")


def check_int(name: str, value: Any, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidArgumentError(f"`{name}` must be an integer from {low} to {high}, got {value!r}.", field=name)


def check_bounded(name: str, value: Any, alias: Any) -> None:
    """``value`` is an integer within the bounds of ``alias`` (e.g. ``check_bounded("top_k", 5, TopK)``)."""
    check_int(name, value, *bounds(alias))


def invalid(exc: ValidationError, field: str, *, hint: str = "", name_location: bool = True) -> InvalidArgumentError:
    """The first error of a pydantic validation as an ``InvalidArgumentError``: the message names where in
    ``field`` it is (``attributes[0].name``) and ``hint`` says what a valid value looks like. With
    ``name_location`` the error's ``field`` is that dotted place too; otherwise it is ``field`` itself."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    where = f"{field}.{loc}" if loc else field
    message = f"`{where}` is invalid: {err['msg']}." + (f" {hint}" if hint else "")
    return InvalidArgumentError(message, field=where if name_location else field)


def check_fraction(name: str, value: Any, alias: Any) -> None:
    """``value`` is a number within the bounds of ``alias`` (e.g. ``models.MinScore``)."""
    low, high = bounds(alias)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidArgumentError(f"{name} must be a number in [{low}, {high}], got {value!r}.", field=name)


def check_text(
    text: Any,
    name: str,
    limit: int,
    *,
    empty: str = "give the fact to remember as a sentence",
    too_long: str = "Split it into several shorter memories (one fact each).",
) -> str:
    """``text`` stripped, or a typed error naming ``name``; ``empty`` and ``too_long`` say the fix."""
    if not isinstance(text, str):
        raise InvalidArgumentError(f"`{name}` must be a string.", field=name)
    check_encodable(text, name)
    stripped = text.strip()
    if not stripped:
        raise EmptyTextError(f"`{name}` is empty; {empty}.", field=name)
    if len(stripped) > limit:
        raise TextTooLongError(f"`{name}` has {len(stripped)} characters; the limit is {limit}. {too_long}", field=name)
    return stripped


def check_order(order_by: str) -> None:
    if order_by != "relevance" and order_by not in ORDER_COLUMNS:
        raise InvalidArgumentError(
            f"`order_by` {order_by!r} is not one of {['relevance', *ORDER_COLUMNS]}.", field="order_by"
        )


def check_store_name(name: Any) -> None:
    if (
        not isinstance(name, str)
        or not name.strip()
        or len(name) > STORE_NAME_CHARS
        or any(not (ch.isalnum() or ch in "-_.") for ch in name)
        or name.startswith(".")
    ):
        raise InvalidArgumentError(
            f"Store name {name!r} is invalid: use 1-{STORE_NAME_CHARS} letters (any script), digits, '-', '_' or '.'.",
            field="name",
        )


def check_ttl(ttl: Any) -> None:
    low, high = bounds(TtlDays)
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not low <= ttl <= high:
        raise InvalidArgumentError(
            f"short_term_ttl must be a number of days from {low} to {high}, got {ttl!r}.", field="short_term_ttl"
        )


def custom_strategies(items: Sequence[CustomStrategy | Mapping[str, Any]] | None) -> list[CustomStrategy]:
    out: list[CustomStrategy] = []
    for i, item in enumerate(items or []):
        try:
            out.append(item if isinstance(item, CustomStrategy) else CustomStrategy.model_validate(item))
        except ValidationError as exc:
            raise invalid(exc, f"custom_strategies[{i}]", name_location=False) from exc
    names = [c.name for c in out]
    if len(set(names)) != len(names) or set(names) & set(BUILTIN_STRATEGIES):
        raise InvalidArgumentError(
            "Custom strategy names must be unique and differ from the built-in ones.", field="custom_strategies"
        )
    return out


def strategies(items: Sequence[str] | None, custom: list[CustomStrategy]) -> list[str]:
    chosen = list(items) if items is not None else ["fact", "preference"]
    known = set(BUILTIN_STRATEGIES) | {c.name for c in custom}
    unknown = [s for s in chosen if s not in known]
    if unknown:
        raise InvalidArgumentError(
            f"Unknown extraction strategies {unknown}; built in: {list(BUILTIN_STRATEGIES)}, or define them in "
            "custom_strategies.",
            field="extraction_strategies",
        )
    return chosen


def encoding_problem(value: str) -> str | None:
    """Why UTF-8 cannot carry ``value`` (a lone surrogate, e.g. half of a cut emoji), or None."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"a lone surrogate (U+{ord(value[exc.start]):04X}) at character {exc.start}"
    return None


def check_encodable(value: str, field: str) -> None:
    """Refuse text that cannot be stored as UTF-8, naming the field."""
    problem = encoding_problem(value)
    if problem is not None:
        raise InvalidArgumentError(
            f"`{field}` holds {problem}, which cannot be stored as text (usually a string cut in the middle "
            "of an emoji or a broken encoding). Fix the text and retry.",
            field=field,
        )


def _check_json(value: Any, path: str) -> Any:
    """``value`` as JSON that reads back exactly, or InvalidArgumentError naming ``path``."""
    if value is None or isinstance(value, bool):
        if value is None:
            raise InvalidArgumentError(
                f"`{path}` is null, and null values in metadata are not kept (the key would come back missing). "
                "Leave the key out instead.",
                field=path,
            )
        return value
    if isinstance(value, int):
        low, high = METADATA_INT_RANGE
        if not low <= value <= high:
            raise InvalidArgumentError(
                f"`{path}` is {value}, outside the integers metadata keeps exactly (-2^63 to 2^63-1). "
                "Store it as a string.",
                field=path,
            )
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidArgumentError(
                f"`{path}` is {value}, which JSON cannot carry. Use a finite number, or a string.",
                field=path,
            )
        return value
    if isinstance(value, str):
        check_encodable(value, path)
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidArgumentError(f"`{path}` has a key {key!r} that is not a string.", field=path)
            check_encodable(key, f"{path} key {key!r}")
            out[key] = _check_json(item, f"{path}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [_check_json(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise InvalidArgumentError(
        f"`{path}` is a {type(value).__name__}, which is not JSON (use strings, numbers, booleans, lists, objects).",
        field=path,
    )


def check_metadata(metadata: Any) -> dict[str, Any]:
    """A JSON object that comes back exactly as given: finite numbers, integers within signed 64 bits,
    no nulls, text UTF-8 can carry; anything else is INVALID_ARGUMENT naming the key."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidArgumentError('`metadata` must be a JSON object, e.g. {"source": "chat"}.', field="metadata")
    clean = _check_json(metadata, "metadata")
    encoded = json.dumps(clean, ensure_ascii=False, allow_nan=False)
    if len(encoded) > MAX_METADATA_CHARS:
        raise InvalidArgumentError("`metadata` is over 16,000 characters of JSON; keep it small.", field="metadata")
    return clean


def check_tags(tags: Any) -> list[str]:
    if tags is None:
        return []
    if (
        isinstance(tags, str)
        or not isinstance(tags, Sequence)
        or not all(isinstance(t, str) and t.strip() for t in tags)
    ):
        raise InvalidArgumentError("`tags` must be a list of non-empty strings.", field="tags")
    if len(tags) > MAX_TAGS:
        raise InvalidArgumentError(f"At most {MAX_TAGS} tags per memory.", field="tags")
    for i, t in enumerate(tags):
        check_encodable(t, f"tags[{i}]")
    return [t.strip() for t in tags]


def check_type(mem_type: Any) -> str:
    if not isinstance(mem_type, str) or not mem_type.strip() or len(mem_type) > 64:
        raise InvalidArgumentError("`type` must be a memory type name such as 'fact' or 'preference'.", field="type")
    check_encodable(mem_type, "type")
    return mem_type.strip()


def check_types(types: Any) -> None:
    if isinstance(types, str) or not all(isinstance(t, str) and t for t in types):
        raise InvalidArgumentError(
            "`types` must be a list of memory types, e.g. ['fact', 'preference'].", field="types"
        )


def parse_messages(messages: Any, max_chars: int) -> list[MessageInput]:
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise InvalidArgumentError("`messages` must be a list of {role, content} objects.", field="messages")
    if len(messages) > MAX_MESSAGES_PER_CALL:
        raise InvalidArgumentError(
            f"At most {MAX_MESSAGES_PER_CALL} messages per call; send them in batches.", field="messages"
        )
    parsed: list[MessageInput] = []
    for i, raw in enumerate(messages):
        try:
            msg = raw if isinstance(raw, MessageInput) else MessageInput.model_validate(raw)
        except ValidationError as exc:
            raise invalid(
                exc,
                f"messages[{i}]",
                name_location=False,
                hint='Each message is {"role": "user"|"assistant"|"system"|"tool", "content": "text"}.',
            ) from exc
        content = msg.plain_text()
        check_encodable(content, f"messages[{i}].content")
        if not content.strip():
            raise EmptyTextError(f"messages[{i}].content is empty.", field=f"messages[{i}].content")
        if len(content) > max_chars * 4:
            raise TextTooLongError(
                f"messages[{i}].content has {len(content)} characters; the limit is {max_chars * 4}.",
                field=f"messages[{i}].content",
            )
        parsed.append(msg)
    return parsed
