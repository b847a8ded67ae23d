"""``/profiles``: a profile schema's values for a user, with each value's history."""

from __future__ import annotations

from starlette.responses import Response

from ..console import Pages, Visit


class ProfilePages(Pages):
    def profiles(self, visit: Visit) -> Response:
        app_id = visit.field("app") if visit.admin and visit.field("app") else None
        schemas = self.svc.list_profile_schemas(limit=100, app_id=app_id, ctx=visit.ctx).profile_schemas
        chosen = visit.field("schema") or (schemas[0].profile_schema_id if schemas else "")
        profile = None
        if chosen:
            tenant = visit.field("tenant") if visit.admin and visit.field("tenant") else None
            profile = self.svc.get_user_profile(
                chosen, tenant_id=tenant, app_id=app_id, include_history=True, ctx=visit.ctx
            )
        return self.render(visit, "profiles.html", page="profiles", schemas=schemas, chosen=chosen, profile=profile)
