"""The profile half of the ``MemoryService`` facade: schemas and user profiles, delegated to
``ProfileManager`` (profiles.py). ``MemoryService`` inherits these methods; they are here so the
facade's module stays within the size limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..models import (
    AttributeOperation,
    ProfileAttributeInput,
    ProfileSchema,
    ProfileSchemaDeleted,
    ProfileSchemaList,
    UserProfile,
)
from .context import CallContext

if TYPE_CHECKING:
    from .profiles import ProfileManager


class ProfileOperations:
    """Profile schema and user profile operations of ``MemoryService``."""

    profiles: ProfileManager  # MemoryService's property: the ProfileManager over its database

    def create_profile_schema(
        self,
        name: str,
        attributes: Sequence[ProfileAttributeInput | Mapping[str, Any]],
        description: str = "",
        *,
        app_id: str | None = None,
        ctx: CallContext | None = None,
    ) -> ProfileSchema:
        """Define the attributes to extract about each user of the app (e.g. 年龄, 职业, 爱好). Names must be
        unique and not near-synonyms of each other (姓名/名字, 年龄/岁数)."""
        return self.profiles.create_schema(name, attributes, description, app_id=app_id, ctx=ctx)

    def list_profile_schemas(
        self, *, offset: int = 0, limit: int = 50, app_id: str | None = None, ctx: CallContext | None = None
    ) -> ProfileSchemaList:
        """The app's profile schemas, oldest first, with the total."""
        return self.profiles.list_schemas(offset=offset, limit=limit, app_id=app_id, ctx=ctx)

    def get_profile_schema(
        self, profile_schema_id: str, *, app_id: str | None = None, ctx: CallContext | None = None
    ) -> ProfileSchema:
        """One profile schema with its attributes."""
        return self.profiles.get_schema(profile_schema_id, app_id=app_id, ctx=ctx)

    def update_profile_schema(
        self,
        profile_schema_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        attribute_operations: Sequence[AttributeOperation | Mapping[str, Any]] | None = None,
        app_id: str | None = None,
        ctx: CallContext | None = None,
    ) -> ProfileSchema:
        """Rename or describe a schema, and add, update or delete attributes ({"op": "add"|"update"|"delete",
        "attribute_id", "name", "description", "default_value"}). A deleted attribute's values go with it."""
        return self.profiles.update_schema(
            profile_schema_id,
            name=name,
            description=description,
            attribute_operations=attribute_operations,
            app_id=app_id,
            ctx=ctx,
        )

    def delete_profile_schema(
        self, profile_schema_id: str, *, app_id: str | None = None, ctx: CallContext | None = None
    ) -> ProfileSchemaDeleted:
        """Delete a schema and every user's values for it."""
        return self.profiles.delete_schema(profile_schema_id, app_id=app_id, ctx=ctx)

    def get_user_profile(
        self,
        profile_schema_id: str | None = None,
        *,
        tenant_id: str | None = None,
        app_id: str | None = None,
        include_history: bool = False,
        ctx: CallContext | None = None,
    ) -> UserProfile:
        """A user's profile: each attribute with its value (absent while unknown), default value and when it
        changed; with ``include_history`` every earlier value and the messages it came from. Without
        ``profile_schema_id``, the app's schema if it has exactly one."""
        return self.profiles.get_user_profile(
            profile_schema_id, tenant_id=tenant_id, app_id=app_id, include_history=include_history, ctx=ctx
        )
