"""User profiles (DESIGN §2, seed 001): profile schemas, and each user's attribute values with history.

A **profile schema** belongs to an app (``app_id``) and is shared by all its users: a name, a description
and a list of attributes (``attribute_id``, ``name``, ``description``, ``default_value``), edited by
add/update/delete operations. Attribute names are unique, and near-synonyms (姓名/名字, 年龄/岁数,
name/full name, 年龄/age) are refused: extraction could put a value under either, so one would stay empty
or the two would contradict each other.

A **user profile** is, per schema and per ``app_id`` + ``tenant_id``, the current value of each
attribute. ``add_memories(messages=..., profile_schema_id=...)`` lets the extractor propose new values;
``apply_updates`` writes a new *version* of an attribute whose value changed and retires the old one in
the same commit, so the earlier value stays in the attribute's history with the messages it came from.
Tenants are isolated exactly like memories: the scope comes from ``resolve_scope`` with the caller's
defaults, so a token bound to a tenant (HTTP) reads and fills only that tenant's profile.

Schemas are shared by every user of an app, so creating, changing and deleting them needs the admin
role (``OPERATION_ROLES`` in service/context.py); a read or write token of one tenant reads them.

``MemoryService`` exposes these operations with thin methods. ``ProfileManager`` gets the database and
the operation envelope injected (it never imports the service), so every operation goes through the
request log like the others.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import (
    InvalidArgumentError,
    ProfileSchemaNotFoundError,
)
from ..extraction import (
    ExtractionResult,
    ExtractMessage,
    ProfileAttributeSpec,
    ProfileSpec,
    ProfileUpdate,
)
from ..filters import sql_string
from ..ids import new_id, now
from ..models import (
    AttributeOperation,
    ListOffset,
    PageLimit,
    ProfileAttributeInput,
    ProfileEvent,
    ProfileSchema,
    ProfileSchemaDeleted,
    ProfileSchemaList,
    ProfileSchemaSummary,
    ProfileValueVersion,
    Scope,
    UserProfile,
    UserProfileAttribute,
)
from ..scope import resolve_scope
from ..storage import Database
from ..validation import check_bounded
from .context import CallContext, Envelope
from .profile_inputs import (
    MAX_VALUE_CHARS,
    attribute_input,
    attribute_list,
    attribute_name,
    check_attributes,
    dump_attributes,
    find_attribute,
    load_attributes,
    new_attribute,
    operations,
    schema_description,
    schema_name,
)

log = logging.getLogger(__name__)

AttributeArg = ProfileAttributeInput | Mapping[str, Any]
OperationArg = AttributeOperation | Mapping[str, Any]


class ProfileManager:
    """Profile schemas and user profiles over the service's database and request log."""

    def __init__(self, db: Database, envelope: Envelope) -> None:
        self.db = db
        self.envelope = envelope
        # Read-modify-write of a schema, and of a tenant's current values, happen under this lock, so two
        # calls in this process never lose each other's changes.
        self._lock = threading.Lock()

    # -- schemas --------------------------------------------------------------------------------

    def create_schema(
        self,
        name: str,
        attributes: Sequence[AttributeArg],
        description: str = "",
        *,
        app_id: str | None,
        ctx: CallContext | None,
    ) -> ProfileSchema:
        with self.envelope.operation("CreateProfileSchema", ctx) as req:
            req.scope = scope = self._scope(req.ctx, app_id)
            clean_name = schema_name(name)
            clean_description = schema_description(description)
            attrs = [new_attribute(attribute_input(a, i)) for i, a in enumerate(attribute_list(attributes))]
            check_attributes(attrs, "attributes")
            ts = now()
            schema_id = new_id("ps")
            row = {
                "profile_schema_id": schema_id,
                "app_id": scope.app_id,
                "name": clean_name,
                "description": clean_description,
                "attributes": dump_attributes(attrs),
                "created_at": ts,
                "updated_at": ts,
            }
            self.db.insert(self.db.profile_schemas(), [row])
            req.detail = schema_id
            return _schema_model(row)

    def list_schemas(
        self, *, offset: int, limit: int, app_id: str | None, ctx: CallContext | None
    ) -> ProfileSchemaList:
        with self.envelope.operation("ListProfileSchemas", ctx) as req:
            req.scope = scope = self._scope(req.ctx, app_id)
            check_bounded("offset", offset, ListOffset)
            check_bounded("limit", limit, PageLimit)
            where = f"app_id = {sql_string(scope.app_id)}"
            table = self.db.profile_schemas()
            rows = self.db.rows(table, where, order_by=[("created_at", "ascending")], offset=offset, limit=limit)
            summaries = [
                ProfileSchemaSummary(
                    profile_schema_id=r["profile_schema_id"],
                    name=r["name"],
                    description=r["description"] or "",
                    attribute_count=len(json.loads(r["attributes"] or "[]")),
                    created_at=r["created_at"],
                    updated_at=r["updated_at"],
                )
                for r in rows
            ]
            return ProfileSchemaList(profile_schemas=summaries, total=self.db.count(table, where))

    def get_schema(self, profile_schema_id: str, *, app_id: str | None, ctx: CallContext | None) -> ProfileSchema:
        with self.envelope.operation("GetProfileSchema", ctx) as req:
            req.scope = scope = self._scope(req.ctx, app_id)
            req.detail = profile_schema_id
            return _schema_model(self._schema_row(profile_schema_id, scope.app_id))

    def update_schema(
        self,
        profile_schema_id: str,
        *,
        name: str | None,
        description: str | None,
        attribute_operations: Sequence[OperationArg] | None,
        app_id: str | None,
        ctx: CallContext | None,
    ) -> ProfileSchema:
        with self.envelope.operation("UpdateProfileSchema", ctx) as req:
            req.scope = scope = self._scope(req.ctx, app_id)
            req.detail = profile_schema_id
            if name is None and description is None and not attribute_operations:
                raise InvalidArgumentError(
                    "Nothing to change: give `name`, `description` or `attribute_operations` "
                    '(e.g. [{"op": "add", "name": "宠物"}]).',
                    field="attribute_operations",
                )
            ops = operations(attribute_operations or [])
            with self._lock:
                row = self._schema_row(profile_schema_id, scope.app_id)
                attrs = load_attributes(row["attributes"])
                deleted: list[str] = []
                for i, op in enumerate(ops):
                    field = f"attribute_operations[{i}]"
                    if op.op == "add":
                        if op.attribute_id is not None:
                            raise InvalidArgumentError(
                                f"{field}: an `add` gets a new attribute_id; omit attribute_id (use `update` to change "
                                "an existing attribute).",
                                field=f"{field}.attribute_id",
                            )
                        if op.name is None:
                            raise InvalidArgumentError(f"{field}: `add` needs a `name`.", field=f"{field}.name")
                        attrs.append(
                            new_attribute(
                                ProfileAttributeInput(
                                    name=attribute_name(op.name, f"{field}.name"),
                                    description=op.description or "",
                                    default_value=op.default_value or None,
                                )
                            )
                        )
                        continue
                    index = find_attribute(attrs, op.attribute_id, field)
                    if op.op == "delete":
                        deleted.append(attrs.pop(index).attribute_id)
                        continue
                    if op.name is None and op.description is None and op.default_value is None:
                        raise InvalidArgumentError(
                            f"{field}: `update` changes nothing; give `name`, `description` or `default_value` "
                            "('' clears the default).",
                            field=field,
                        )
                    current = attrs[index]
                    attrs[index] = current.model_copy(
                        update={
                            "name": attribute_name(op.name, f"{field}.name") if op.name is not None else current.name,
                            "description": op.description if op.description is not None else current.description,
                            "default_value": (op.default_value or None)
                            if op.default_value is not None
                            else current.default_value,
                        }
                    )
                check_attributes(attrs, "attribute_operations")
                values: dict[str, Any] = {"attributes": dump_attributes(attrs), "updated_at": now()}
                if name is not None:
                    values["name"] = schema_name(name)
                if description is not None:
                    values["description"] = schema_description(description)
                where = f"profile_schema_id = {sql_string(profile_schema_id)} AND app_id = {sql_string(scope.app_id)}"
                self.db.update(self.db.profile_schemas(), where, values)
                if deleted:
                    # A deleted attribute takes its values (every user, every version) with it.
                    ids = ", ".join(sql_string(a) for a in deleted)
                    self.db.delete(self.db.profile_values(), f"{where} AND attribute_id IN ({ids})")
                return _schema_model(self._schema_row(profile_schema_id, scope.app_id))

    def delete_schema(
        self, profile_schema_id: str, *, app_id: str | None, ctx: CallContext | None
    ) -> ProfileSchemaDeleted:
        with self.envelope.operation("DeleteProfileSchema", ctx) as req:
            req.scope = scope = self._scope(req.ctx, app_id)
            req.detail = profile_schema_id
            self._schema_row(profile_schema_id, scope.app_id)
            where = f"profile_schema_id = {sql_string(profile_schema_id)} AND app_id = {sql_string(scope.app_id)}"
            values = self.db.profile_values()
            count = self.db.count(values, where)
            self.db.delete(self.db.profile_schemas(), where)
            self.db.delete(values, where)
            return ProfileSchemaDeleted(deleted=True, profile_schema_id=profile_schema_id, values_deleted=count)

    # -- profiles -------------------------------------------------------------------------------

    def get_user_profile(
        self,
        profile_schema_id: str | None,
        *,
        tenant_id: str | None,
        app_id: str | None,
        include_history: bool,
        ctx: CallContext | None,
    ) -> UserProfile:
        given = {k: v for k, v in (("app_id", app_id), ("tenant_id", tenant_id)) if v is not None}
        with self.envelope.operation("GetUserProfile", ctx, None, given, "write") as req:
            scope = req.scope
            assert scope is not None
            if profile_schema_id is None:
                profile_schema_id = self._only_schema_id(scope.app_id)
            req.detail = profile_schema_id
            schema = _schema_model(self._schema_row(profile_schema_id, scope.app_id))
            rows = self._value_rows(profile_schema_id, scope)
            current = _current(rows)
            attributes = []
            for attr in schema.attributes:
                row = current.get(attr.attribute_id)
                history = None
                if include_history:
                    history = [
                        _version_model(r)
                        for r in sorted(
                            (r for r in rows if r["attribute_id"] == attr.attribute_id), key=lambda r: r["version"]
                        )
                    ]
                attributes.append(
                    UserProfileAttribute(
                        attribute_id=attr.attribute_id,
                        name=attr.name,
                        description=attr.description,
                        value=row["value"] if row else None,
                        default_value=attr.default_value,
                        updated_at=row["created_at"] if row else None,
                        source=list(row["source"] or []) if row and row["value"] is not None else [],
                        history=history,
                    )
                )
            return UserProfile(
                profile_schema_id=schema.profile_schema_id,
                schema_name=schema.name,
                schema_description=schema.description,
                app_id=scope.app_id,
                tenant_id=scope.tenant_id,
                attributes=attributes,
            )

    # -- extraction -----------------------------------------------------------------------------

    def schema_for_add(
        self, profile_schema_id: str | None, profile_schema: str | None, scope: Scope, has_messages: bool
    ) -> str | None:
        """Check add_memories' profile schema argument (either spelling) before anything is written."""
        if profile_schema_id is not None and profile_schema is not None and profile_schema_id != profile_schema:
            raise InvalidArgumentError(
                "`profile_schema_id` and `profile_schema` name different schemas; give one of them.",
                field="profile_schema_id",
            )
        schema_id = profile_schema_id if profile_schema_id is not None else profile_schema
        if schema_id is None:
            return None
        if not isinstance(schema_id, str) or not schema_id.strip():
            raise InvalidArgumentError(
                "`profile_schema_id` is empty; give the id create_profile_schema returned, or omit it.",
                field="profile_schema_id",
            )
        if not has_messages:
            raise InvalidArgumentError(
                "A profile is extracted from a conversation: pass `messages` with `profile_schema_id` (`text` is "
                "stored as written, without extraction).",
                field="profile_schema_id",
            )
        self._schema_row(schema_id.strip(), scope.app_id)
        return schema_id.strip()

    def spec_for_job(self, job: Mapping[str, Any]) -> ProfileSpec | None:
        """The schema of an extraction job with the tenant's current values, or None (no schema, or it was
        deleted since the messages were saved)."""
        schema_id = job.get("profile_schema_id")
        if not schema_id:
            return None
        scope = Scope(app_id=job["app_id"], tenant_id=job["tenant_id"], agent_id=job["agent_id"], run_id=job["run_id"])
        try:
            schema = _schema_model(self._schema_row(schema_id, scope.app_id))
        except ProfileSchemaNotFoundError:
            log.warning("job %s: profile schema %s no longer exists; profile skipped", job["request_id"], schema_id)
            return None
        current = _current(self._value_rows(schema_id, scope))
        return ProfileSpec(
            profile_schema_id=schema.profile_schema_id,
            name=schema.name,
            description=schema.description,
            attributes=[
                ProfileAttributeSpec(
                    attribute_id=a.attribute_id,
                    name=a.name,
                    description=a.description,
                    current_value=current[a.attribute_id]["value"] if a.attribute_id in current else None,
                )
                for a in schema.attributes
            ],
        )

    def apply_updates(
        self,
        job: Mapping[str, Any],
        spec: ProfileSpec | None,
        result: ExtractionResult,
        messages: Sequence[ExtractMessage],
    ) -> list[ProfileEvent]:
        """Write the extractor's profile updates: a changed value becomes a new version; the old one is kept."""
        if spec is None or not result.profile_updates:
            return []
        scope = Scope(app_id=job["app_id"], tenant_id=job["tenant_id"], agent_id=job["agent_id"], run_id=job["run_id"])
        names = {a.attribute_id: a.name for a in spec.attributes}
        merged: dict[str, ProfileUpdate] = {}
        for upd in result.profile_updates:
            if upd.attribute_id not in names:
                log.warning("job %s: update for unknown attribute %s dropped", job["request_id"], upd.attribute_id)
                continue
            earlier = merged.get(upd.attribute_id)
            sources = [*(earlier.source_message_ids if earlier else []), *upd.source_message_ids]
            merged[upd.attribute_id] = upd.model_copy(update={"source_message_ids": list(dict.fromkeys(sources))})
        default_source = [m.id for m in messages if m.role == "user"] or list(job["message_ids"] or [])
        events: list[ProfileEvent] = []
        writes: list[dict[str, Any]] = []
        table = self.db.profile_values()
        with self._lock:
            current = _current(self._value_rows(spec.profile_schema_id, scope))
            for attribute_id, upd in merged.items():
                row = current.get(attribute_id)
                old = row["value"] if row else None
                new = None if upd.clear else _clip_value(upd.value)
                base = {
                    "event": "NONE",
                    "profile_schema_id": spec.profile_schema_id,
                    "attribute_id": attribute_id,
                    "name": names[attribute_id],
                }
                if new is None and not upd.clear:
                    continue  # an empty value is no update
                if new == old:
                    if new is not None:
                        events.append(ProfileEvent(**{**base, "value": new}))
                    continue
                event = "DELETE" if new is None else ("ADD" if old is None else "UPDATE")
                ts = now()
                new_row = {
                    "row_key": new_id("pv"),
                    "profile_schema_id": spec.profile_schema_id,
                    "attribute_id": attribute_id,
                    "app_id": scope.app_id,
                    "tenant_id": scope.tenant_id,
                    "version": (row["version"] + 1) if row else 1,
                    "value": new,
                    "status": "current",
                    "event": event,
                    "source": upd.source_message_ids or default_source,
                    "confidence": upd.confidence,
                    "extractor": result.extractor,
                    "model": result.model,
                    "request_id": job["request_id"],
                    "created_at": ts,
                    "superseded_at": None,
                }
                writes.append(new_row)
                if row is not None:
                    writes.append({**row, "status": "superseded", "superseded_at": ts})
                events.append(ProfileEvent(**{**base, "event": event, "value": new, "old_value": old}))
            # One commit for the new versions and the retired ones, so a reader never sees two current values.
            self.db.upsert(table, "row_key", writes)
        return events

    # -- helpers --------------------------------------------------------------------------------

    def _scope(self, ctx: CallContext, app_id: str | None) -> Scope:
        return resolve_scope({"app_id": app_id} if app_id is not None else None, ctx.defaults, "write")

    def _schema_row(self, profile_schema_id: Any, app_id: str) -> dict[str, Any]:
        if not isinstance(profile_schema_id, str) or not profile_schema_id.strip():
            raise InvalidArgumentError(
                "`profile_schema_id` is required: the id create_profile_schema returned (list_profile_schemas "
                "shows them).",
                field="profile_schema_id",
            )
        rows = self.db.rows(
            self.db.profile_schemas(),
            f"profile_schema_id = {sql_string(profile_schema_id)} AND app_id = {sql_string(app_id)}",
        )
        if not rows:
            raise ProfileSchemaNotFoundError(
                f"No profile schema {profile_schema_id!r} in app {app_id!r}. list_profile_schemas shows the app's "
                "schemas; create_profile_schema makes one.",
                field="profile_schema_id",
            )
        return rows[0]

    def _only_schema_id(self, app_id: str) -> str:
        """The app's one profile schema, for a caller that names none (a model in a conversation)."""
        rows = self.db.rows(
            self.db.profile_schemas(), f"app_id = {sql_string(app_id)}", ["profile_schema_id", "name"], limit=11
        )
        if not rows:
            raise ProfileSchemaNotFoundError(
                f"App {app_id!r} has no profile schema, so there is no profile to read. An operator defines one "
                "with `mem-mcp profile-schema create` (or create_profile_schema).",
                field="profile_schema_id",
            )
        if len(rows) > 1:
            named = ", ".join(f"{r['profile_schema_id']} ({r['name']})" for r in rows[:10])
            raise InvalidArgumentError(
                f"App {app_id!r} has several profile schemas; pass `profile_schema_id`, one of: {named}.",
                field="profile_schema_id",
            )
        return str(rows[0]["profile_schema_id"])

    def _value_rows(self, profile_schema_id: str, scope: Scope) -> list[dict[str, Any]]:
        return self.db.rows(
            self.db.profile_values(),
            f"profile_schema_id = {sql_string(profile_schema_id)} AND app_id = {sql_string(scope.app_id)} "
            f"AND tenant_id = {sql_string(scope.tenant_id)}",
        )


# -- validation -----------------------------------------------------------------------------------


def _schema_model(row: Mapping[str, Any]) -> ProfileSchema:
    return ProfileSchema(
        profile_schema_id=row["profile_schema_id"],
        name=row["name"],
        description=row["description"] or "",
        app_id=row["app_id"],
        attributes=load_attributes(row["attributes"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _current(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The current version of each attribute (the newest, should two writers have raced)."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["status"] != "current":
            continue
        seen = out.get(row["attribute_id"])
        if seen is None or (row["version"], row["created_at"]) > (seen["version"], seen["created_at"]):
            out[row["attribute_id"]] = row
    return out


def _version_model(row: Mapping[str, Any]) -> ProfileValueVersion:
    return ProfileValueVersion(
        version=row["version"],
        event=row["event"],
        value=row["value"],
        source=list(row["source"] or []),
        extractor=row["extractor"],
        model=row["model"],
        confidence=round(float(row["confidence"]), 3) if row["confidence"] is not None else None,
        request_id=row["request_id"],
        at=row["created_at"],
        superseded_at=row["superseded_at"],
    )


def _clip_value(value: str | None) -> str | None:
    if value is None:
        return None
    value = re.sub(r"\s+", " ", value).strip()
    return value[:MAX_VALUE_CHARS] or None
