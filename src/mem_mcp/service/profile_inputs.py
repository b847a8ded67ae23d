"""Checking what a caller sends to the profile operations: schema names, descriptions, attribute lists and
attribute operations. Each refusal is an ``InvalidArgumentError`` that names the field and the fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from ..errors import AttributeNotFoundError, DuplicateAttributeError, EmptySchemaError, InvalidArgumentError
from ..ids import new_id
from ..models import (
    MAX_PROFILE_ATTRIBUTES,
    AttributeOperation,
    ProfileAttribute,
    ProfileAttributeInput,
    SchemaDescription,
    SchemaName,
)
from ..profile_concepts import name_key, near_synonym
from ..validation import invalid, max_length

MAX_ATTRIBUTES = MAX_PROFILE_ATTRIBUTES
MAX_SCHEMA_NAME_CHARS = max_length(SchemaName)
MAX_SCHEMA_DESCRIPTION_CHARS = max_length(SchemaDescription)
MAX_VALUE_CHARS = 1000
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def text(value: Any, field: str, limit: int, *, required: bool) -> str:
    if not isinstance(value, str):
        raise InvalidArgumentError(f"`{field}` must be a string.", field=field)
    value = value.strip()
    if required and not value:
        raise InvalidArgumentError(f"`{field}` is empty; give it a short, specific name.", field=field)
    if len(value) > limit:
        raise InvalidArgumentError(f"`{field}` has {len(value)} characters; the limit is {limit}.", field=field)
    return value


def schema_name(name: Any) -> str:
    value = text(name, "name", MAX_SCHEMA_NAME_CHARS, required=True)
    if CONTROL.search(value):
        raise InvalidArgumentError("`name` contains control characters.", field="name")
    return value


def schema_description(description: Any) -> str:
    return text(
        description if description is not None else "", "description", MAX_SCHEMA_DESCRIPTION_CHARS, required=False
    )


def attribute_name(name: Any, field: str) -> str:
    value = text(name, field, 64, required=True)
    if CONTROL.search(value):
        raise InvalidArgumentError(f"`{field}` contains control characters.", field=field)
    return value


def attribute_list(attributes: Any) -> list[Any]:
    if attributes is None or (isinstance(attributes, Sequence) and not isinstance(attributes, str) and not attributes):
        raise EmptySchemaError(
            'A profile schema needs at least one attribute, e.g. [{"name": "年龄", "description": "用户年龄"}, '
            '{"name": "职业"}].',
            field="attributes",
        )
    if isinstance(attributes, (str, Mapping)) or not isinstance(attributes, Sequence):
        raise InvalidArgumentError(
            "`attributes` must be a list of objects with name, description and default_value.", field="attributes"
        )
    return list(attributes)


def attribute_input(item: Any, i: int) -> ProfileAttributeInput:
    field = f"attributes[{i}]"
    if isinstance(item, ProfileAttributeInput):
        data: Any = item.model_dump()
    elif isinstance(item, Mapping):
        data = dict(item)
    else:
        raise InvalidArgumentError(
            f'`{field}` must be an object like {{"name": "年龄", "description": "用户年龄"}}.', field=field
        )
    try:
        parsed = ProfileAttributeInput.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc, field) from exc
    return parsed.model_copy(update={"name": attribute_name(parsed.name, f"{field}.name")})


def operations(items: Any) -> list[AttributeOperation]:
    if isinstance(items, (str, Mapping)) or not isinstance(items, Sequence):
        raise InvalidArgumentError(
            '`attribute_operations` must be a list like [{"op": "add", "name": "宠物"}, '
            '{"op": "delete", "attribute_id": "attr_..."}].',
            field="attribute_operations",
        )
    ops = []
    for i, item in enumerate(items):
        field = f"attribute_operations[{i}]"
        try:
            ops.append(
                AttributeOperation.model_validate(item.model_dump() if isinstance(item, AttributeOperation) else item)
            )
        except ValidationError as exc:
            raise invalid(
                exc,
                field,
                hint='Each operation is {"op": "add"|"update"|"delete", "attribute_id", "name", '
                '"description", "default_value"}.',
            ) from exc
    return ops


def find_attribute(attrs: list[ProfileAttribute], attribute_id: str | None, field: str) -> int:
    if not attribute_id:
        raise InvalidArgumentError(
            f"{field}: `update` and `delete` need an `attribute_id`.", field=f"{field}.attribute_id"
        )
    for i, attr in enumerate(attrs):
        if attr.attribute_id == attribute_id:
            return i
    known = ", ".join(f"{a.attribute_id} ({a.name})" for a in attrs[:30])
    raise AttributeNotFoundError(
        f"{field}: the schema has no attribute {attribute_id!r}. Its attributes: {known}.",
        field=f"{field}.attribute_id",
    )


def check_attributes(attrs: list[ProfileAttribute], field: str) -> None:
    if not attrs:
        raise EmptySchemaError(
            "A profile schema needs at least one attribute; this would leave none. Delete the schema instead, or "
            "keep an attribute.",
            field=field,
        )
    if len(attrs) > MAX_ATTRIBUTES:
        raise InvalidArgumentError(
            f"A profile schema has at most {MAX_ATTRIBUTES} attributes; this has {len(attrs)}.", field=field
        )
    seen: dict[str, ProfileAttribute] = {}
    for attr in attrs:
        key = name_key(attr.name)
        if key in seen:
            raise DuplicateAttributeError(
                f"Attribute name {attr.name!r} appears twice (as {seen[key].name!r}); attribute names must be unique "
                "in a schema.",
                field=field,
                name=attr.name,
            )
        for other in seen.values():
            concept = near_synonym(other.name, attr.name)
            if concept is not None:
                raise DuplicateAttributeError(
                    f"Attributes {other.name!r} and {attr.name!r} mean the same thing ({concept.label}). With both, "
                    "extraction cannot tell which one a value belongs to, so one stays empty or they contradict each "
                    "other. Keep one attribute per meaning (put what you need in its description).",
                    field=field,
                    name=attr.name,
                    conflicts_with=other.name,
                )
        seen[key] = attr


# -- rows -----------------------------------------------------------------------------------------


def new_attribute(spec: ProfileAttributeInput) -> ProfileAttribute:
    return ProfileAttribute(
        attribute_id=new_id("attr"),
        name=spec.name,
        description=spec.description.strip(),
        default_value=spec.default_value if spec.default_value not in (None, "") else None,
    )


def dump_attributes(attrs: list[ProfileAttribute]) -> str:
    return json.dumps([a.model_dump() for a in attrs], ensure_ascii=False)


def load_attributes(raw: str | None) -> list[ProfileAttribute]:
    return [ProfileAttribute.model_validate(a) for a in json.loads(raw or "[]")]
