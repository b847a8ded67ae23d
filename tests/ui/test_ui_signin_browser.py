"""Token sign-in in a real browser against `mem-mcp ui --sign-in`: each token sees its own tenant, the
session cookie is out of the page's reach (HttpOnly, SameSite=Strict), and signing out ends it."""

from __future__ import annotations

import re
from typing import Any, Iterator

import pytest

from console_harness import Console  # noqa: E402
from mem_mcp.auth import TokenStore  # noqa: E402
from mem_mcp.config import Settings  # noqa: E402
from mem_mcp.service import MemoryService  # noqa: E402

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Console, dict[str, str]]]:
    data = tmp_path_factory.mktemp("team") / "data"
    settings = Settings(data_dir=data, _env_file=None)
    svc = MemoryService(settings)
    try:
        svc.add_memories(text="Alice is allergic to cats", scope={"tenant_id": "alice"})
        svc.add_memories(text="Bob collects stamps", scope={"tenant_id": "bob"})
    finally:
        svc.close()
    store = TokenStore(settings.token_path)
    tokens = {t: store.create(app_id="default", tenant_id=t, role="write", name=t)[0] for t in ("alice", "bob")}
    console = Console(data, "--sign-in")
    try:
        yield console, tokens
    finally:
        console.stop()


def sign_in(page: Any, console: Console, token: str) -> None:
    page.goto(f"{console.url}/memories")
    expect(page).to_have_url(re.compile(r"/signin$"))
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def test_each_token_sees_its_own_tenant_and_the_cookie_is_out_of_scripts_reach(page: Any, team: Any) -> None:
    console, tokens = team
    page.goto(f"{console.url}/signin")
    page.get_by_label("Token").fill(tokens["alice"][:-3] + "abc")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")

    sign_in(page, console, tokens["alice"])
    expect(page.get_by_text(re.compile("Tenant alice · role write"))).to_be_visible()
    page.goto(f"{console.url}/memories")
    expect(page.locator("td.text")).to_have_text(["Alice is allergic to cats"])
    assert page.evaluate("document.cookie") == ""
    (session,) = [c for c in page.context.cookies() if c["name"] == "mmcp_ui"]
    assert session["httpOnly"] and session["sameSite"] == "Strict" and session["expires"] == -1

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/signin$"))
    page.goto(f"{console.url}/memories")
    expect(page).to_have_url(re.compile(r"/signin$"))  # the session is gone on the server too

    sign_in(page, console, tokens["bob"])
    page.goto(f"{console.url}/memories?tenant=alice")  # naming another tenant changes nothing
    expect(page.locator("td.text")).to_have_text(["Bob collects stamps"])
