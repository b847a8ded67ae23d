"""What the tools put on the wire, sized for a model's context: tool definitions without the JSON
Schema noise pydantic generates, and results without null fields, as compact JSON.

A model reads every tool definition in every conversation and every result it asks for, so both are
kept small (issue 12's budget: the default tool set's definitions under 3,000 tokens, a search hit
under 150). A search hit also leaves out empty tags and metadata (``models.MemoryHit``). The slimming
changes the presentation only: what the server accepts, and the output schema a result validates
against, stay the same.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from ..errors import InvalidArgumentError

_NULL = {"type": "null"}


def slim_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An input schema as a model needs it: ``$ref`` inlined, ``anyOf [X, null]`` as ``X`` (omitting an
    argument is how a model says "none"), no ``title`` and no ``default: null``."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target = defs.get(node["$ref"].rsplit("/", 1)[-1], {})
            return walk({**target, **{k: v for k, v in node.items() if k != "$ref"}})
        if "anyOf" in node:
            arms = [a for a in node["anyOf"] if a != _NULL]
            if len(arms) == 1:
                return walk({**{k: v for k, v in node.items() if k != "anyOf"}, **arms[0]})
        return {
            k: walk(v) for k, v in node.items() if k not in ("title", "$defs") and not (k == "default" and v is None)
        }

    return walk(schema)


def strip_nulls(value: Any, schema: dict[str, Any] | None, defs: dict[str, Any]) -> Any:
    """``value`` without the null fields its (output) schema does not require, recursively, so the
    result still validates against that schema. (Empty lists stay: ``events: []`` says something.)"""
    schema = _resolve(schema, defs)
    if isinstance(value, dict):
        props = (schema or {}).get("properties", {})
        required = set((schema or {}).get("required", []))
        extra = (schema or {}).get("additionalProperties")
        out: dict[str, Any] = {}
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if key not in required and props and item is None:
                continue
            out[key] = strip_nulls(item, sub, defs) if props or isinstance(extra, dict) else item
        return out
    if isinstance(value, list):
        items = (schema or {}).get("items")
        return [strip_nulls(v, items, defs) for v in value] if isinstance(items, dict) else value
    return value


def _resolve(schema: dict[str, Any] | None, defs: dict[str, Any]) -> dict[str, Any] | None:
    """Follow ``$ref`` and pick the object arm of ``anyOf [object, null]``."""
    while schema:
        if "$ref" in schema:
            schema = defs.get(schema["$ref"].rsplit("/", 1)[-1])
            continue
        if "anyOf" in schema:
            arms = [a for a in schema["anyOf"] if a != _NULL]
            if len(arms) == 1:
                schema = arms[0]
                continue
        break
    return schema


def compact_json(value: Any) -> str:
    """JSON with no indentation or spaces, non-ASCII kept as is (a model reads it; 用户 is not \\u7528\\u6237)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def check_arguments(tool: str, arguments: dict[str, Any], schema: dict[str, Any]) -> None:
    """Refuse an argument the tool does not have, naming it and the closest real one (``tag`` for
    ``tags``), instead of silently dropping it."""
    known = list(schema.get("properties", {}))
    for name in arguments:
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean `{close[0]}`? " if close else ""
        raise InvalidArgumentError(
            f"`{name}` is not an argument of {tool}; {hint}Its arguments are: {', '.join(known)}. Nothing was done.",
            field=name,
        )
