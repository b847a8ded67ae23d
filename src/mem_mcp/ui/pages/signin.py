"""``/signin`` and ``POST /signout`` (token sign-in, for a console started with ``--sign-in``), and
``/lang/{code}`` (the language cookie)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ...scope import ScopeDefaults
from ...service import CallContext
from ..console import Pages, Visit, base_path, local_path, sent_csrf
from ..i18n import LANG_COOKIE, LANGUAGES, negotiate
from ..security import SESSION_COOKIE, csrf_ok


class SignInPages(Pages):
    async def signin(self, request: Request) -> Response:
        session, cookies = self.console.session(request)
        lang = negotiate(request.headers.get("accept-language"), request.cookies.get(LANG_COOKIE))
        base = base_path(request)
        if not self.console.sessions.sign_in:
            return RedirectResponse(f"{base}/", status_code=303)
        ctx = CallContext(defaults=ScopeDefaults(), role="read")
        visit = Visit(request=request, session=session, lang=lang, ctx=ctx, record=None, base=base, cookies=cookies)
        failed = False
        if request.method == "POST":
            visit.form = await request.form()
            if not csrf_ok(session, sent_csrf(request, visit.form)):
                return self.console.set_cookies(self.console.csrf_refused(visit), cookies, request)
            token = visit.field("token")
            if self.console.sessions.tokens is not None and self.console.sessions.tokens.verify(token) is not None:
                self.console.sessions.drop(request.cookies.get(SESSION_COOKIE))
                sid, _ = self.console.sessions.new(token)
                home = RedirectResponse(f"{base}/", status_code=303)
                return self.console.set_cookies(home, [(SESSION_COOKIE, sid)], request)
            failed = True
        response = self.render(visit, "signin.html", status_code=403 if failed else 200, page="signin", failed=failed)
        return self.console.set_cookies(response, cookies, request)

    def signout(self, visit: Visit) -> Response:
        self.console.sessions.drop(visit.request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse(f"{visit.base}/signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=f"{visit.base}/")
        return response

    async def language(self, request: Request) -> Response:
        code = request.path_params["code"]
        base = base_path(request)
        back = local_path(request.query_params.get("next", ""), base) or f"{base}/"
        response = RedirectResponse(back, status_code=303)
        if code in LANGUAGES:
            response.set_cookie(
                LANG_COOKIE,
                code,
                max_age=365 * 86400,
                path=f"{base}/",
                samesite="strict",
                httponly=True,
                secure=request.url.scheme == "https",
            )
        return response
