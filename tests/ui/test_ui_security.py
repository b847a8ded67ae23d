"""The console's guards, over HTTP against the real app and a real service: escaping, the CSP, CSRF,
the loopback-only local console, token sign-in with its cookie, and tenant fencing with two tokens."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from console_harness import CLI, cli_env, free_port  # noqa: E402
from mem_mcp import __version__  # noqa: E402
from mem_mcp.auth import TokenStore  # noqa: E402
from mem_mcp.config import Settings  # noqa: E402
from mem_mcp.service import MemoryService  # noqa: E402
from mem_mcp.ui import build_app  # noqa: E402
from mem_mcp.ui.i18n import negotiate  # noqa: E402

LOCAL = "http://127.0.0.1"
SCRIPT = "<script>alert('xss')</script><img src=x onerror=alert(1)> typed by the user"


def csrf_of(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert match, html[:500]
    return match.group(1)


def item(memory: Any) -> str:
    s = memory.scope
    return json.dumps([s.app_id, s.tenant_id, s.agent_id, s.run_id, memory.id])


@pytest.fixture
def local(service: MemoryService, settings: Settings) -> TestClient:
    return TestClient(build_app(service, settings), base_url=LOCAL, follow_redirects=False)


def test_memory_text_is_escaped_and_pages_carry_a_csp(local: TestClient, service: MemoryService) -> None:
    mem_id = service.add_memories(text=SCRIPT).events[0].memory_id
    for path in ("/memories", f"/memories/{mem_id}", "/memories?q=typed"):
        page = local.get(path)
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page.text
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        # Every script is the console's own file: nothing inline for the CSP to have to allow.
        assert re.findall(r"<script[^>]*>", page.text) == [f'<script src="/static/console.js?v={__version__}" defer>']


def test_a_state_change_without_the_pages_token_is_refused(local: TestClient, service: MemoryService) -> None:
    memory = service.add_memories(text="The user likes hiking").events[0]
    current = service.get_memory(memory.memory_id, scope={"agent_id": "default", "run_id": "default"})
    html = local.get("/memories").text
    token = csrf_of(html)
    attempts = [
        ("/memories/delete", {"item": item(current), "confirmed": "1"}),
        (f"/memories/{current.id}/edit", {"text": "The user hates hiking", "agent": "default", "run": "default"}),
    ]
    for path, form in attempts:
        for sent in ({}, {"csrf": "forged"}):
            refused = local.post(path, data={**form, **sent})
            assert refused.status_code == 403 and "security token" in refused.text
    refused = local.post(
        "/memories/import", content=b'{"text": "planted"}\n', headers={"content-type": "application/x-ndjson"}
    )
    assert refused.status_code == 403 and "PERMISSION_DENIED" in refused.json()["error"]
    # The token of another session does not do either: it is bound to the session that got it.
    other = TestClient(local.app, base_url=LOCAL, follow_redirects=False)
    assert (
        other.post("/memories/delete", data={"item": item(current), "confirmed": "1", "csrf": token}).status_code == 403
    )
    after = service.get_memory(current.id, scope={"agent_id": "default", "run_id": "default"})
    assert (after.text, after.status, after.version) == ("The user likes hiking", "active", 1)
    assert service.stats().memories_active == 1

    # With the page's token the same requests go through.
    edited = local.post(attempts[1][0], data={**attempts[1][1], "csrf": token})
    assert edited.status_code == 303
    assert (
        service.get_memory(current.id, scope={"agent_id": "default", "run_id": "default"}).text
        == "The user hates hiking"
    )
    deleted = local.post(
        "/memories/delete", data={"item": item(current), "confirmed": "1", "csrf": token, "next": "/memories"}
    )
    assert deleted.status_code == 303 and deleted.headers["location"].startswith("/memories?flash=deleted_n")
    assert service.stats().memories_active == 0


def test_delete_without_the_dialog_asks_on_a_confirmation_page(local: TestClient, service: MemoryService) -> None:
    service.add_memories(text="The user plays the cello")
    memory = service.list_memories().memories[0]
    token = csrf_of(local.get("/memories").text)
    page = local.post("/memories/delete", data={"item": item(memory), "csrf": token})
    assert page.status_code == 200 and "Delete this memory?" in page.text and 'name="confirmed" value="1"' in page.text
    assert service.stats().memories_active == 1  # nothing deleted until confirmed


def test_import_streams_progress_and_a_bad_record_imports_nothing(local: TestClient, service: MemoryService) -> None:
    token = csrf_of(local.get("/memories").text)
    headers = {"x-csrf-token": token, "content-type": "application/x-ndjson"}
    records = [
        {
            "text": f"Imported fact {i}",
            "scope": {"app_id": "default", "tenant_id": "default", "agent_id": "a", "run_id": "r"},
        }
        for i in range(70)
    ]
    body = "".join(json.dumps(r) + "\n" for r in records).encode()
    events = [
        json.loads(line) for line in local.post("/memories/import", content=body, headers=headers).text.splitlines()
    ]
    assert (
        events[0] == {"done": 0, "total": 70} and {"done": 64, "total": 70} in events and events[-1] == {"imported": 70}
    )
    bad = body + b"\n" + json.dumps({**records[0], "text": ""}).encode() + b"\n"
    events = [
        json.loads(line) for line in local.post("/memories/import", content=bad, headers=headers).text.splitlines()
    ]
    assert "line 72" in events[-1]["error"] and events[-1]["error"].startswith("INVALID_ARGUMENT")
    assert service.stats().memories_active == 70
    broken = local.post("/memories/import", content=b'{"text": "x"\n', headers=headers)
    assert broken.status_code == 400 and "line 1 is not valid JSON" in broken.json()["error"]


def test_the_local_console_answers_only_to_a_loopback_host(service: MemoryService, settings: Settings) -> None:
    app = build_app(service, settings)
    rebound = TestClient(app, base_url="http://attacker.example:8766").get("/memories")
    assert rebound.status_code == 421  # a page that rebinds its name to 127.0.0.1 cannot read the console
    for base in ("http://localhost:8766", "http://127.0.0.1:8766", "http://[::1]:8766"):
        assert TestClient(app, base_url=base).get("/memories").status_code == 200


def test_redirects_stay_inside_the_console(local: TestClient) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = local.get("/lang/zh", params={"next": target})
        assert response.headers["location"] == "/"
    assert local.get("/lang/zh", params={"next": "/memories?q=tea"}).headers["location"] == "/memories?q=tea"


def test_the_language_comes_from_the_browser_unless_switched() -> None:
    assert negotiate("zh-CN,zh;q=0.9,en;q=0.8", None) == "zh"
    assert negotiate("fr-FR, en;q=0.5, zh;q=0.7", None) == "zh"
    assert negotiate("fr-FR", None) == "en" and negotiate(None, None) == "en"
    assert negotiate("zh-CN", "en") == "en"


@pytest.fixture
def tokens(settings: Settings) -> dict[str, str]:
    store = TokenStore(settings.token_path)
    return {
        name: store.create(app_id="default", tenant_id=tenant, role=role, name=name)[0]
        for name, tenant, role in (
            ("alice", "alice", "write"),
            ("bob", "bob", "write"),
            ("reader", "alice", "read"),
            ("admin", "ops", "admin"),
        )
    }


def sign_in(app: Any, token: str) -> TestClient:
    client = TestClient(app, base_url="http://console.example", follow_redirects=False)
    assert client.get("/memories").headers["location"] == "/signin"
    form = client.get("/signin")
    before = form.cookies.get("mmcp_ui")
    signed = client.post("/signin", data={"token": token, "csrf": csrf_of(form.text)})
    assert signed.status_code == 303, signed.text
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert signed.cookies["mmcp_ui"] != before  # a new session id on sign-in
    return client


def test_sign_in_fences_each_token_to_its_tenant(
    service: MemoryService, settings: Settings, tokens: dict[str, str]
) -> None:
    alice_mem = service.add_memories(text="Alice is allergic to cats", scope={"tenant_id": "alice"}).events[0].memory_id
    bob_mem = service.add_memories(text="Bob collects stamps", scope={"tenant_id": "bob"}).events[0].memory_id
    app = build_app(service, settings, TokenStore(settings.token_path))
    alice, bob = sign_in(app, tokens["alice"]), sign_in(app, tokens["bob"])

    page = alice.get("/memories").text
    assert "Alice is allergic to cats" in page and "Bob collects stamps" not in page
    assert "Bob collects stamps" in bob.get("/memories").text and "Alice" not in bob.get("/memories").text
    assert "Tenant alice" in page and 'id="tenant"' not in page  # no tenant switch for a tenant's token
    # Naming another tenant changes nothing: the token's binding wins.
    assert "Bob collects stamps" not in alice.get("/memories", params={"tenant": "bob"}).text
    assert alice.get(f"/memories/{bob_mem}", params={"tenant": "bob"}).status_code == 404
    assert "Bob collects stamps" not in alice.get("/memories", params={"q": "stamps"}).text
    exported = alice.get("/memories/export").text
    assert "Alice is allergic to cats" in exported and "Bob" not in exported

    token = csrf_of(page)
    bob_item = json.dumps(["default", "bob", "default", "default", bob_mem])
    refused = alice.post("/memories/delete", data={"item": bob_item, "confirmed": "1", "csrf": token})
    assert refused.status_code == 404
    assert service.lookup_memory(bob_mem, scope={"tenant_id": "bob"}).status == "active"
    # Alice's session token does not work in Bob's session either.
    alice_item = json.dumps(["default", "alice", "default", "default", alice_mem])
    assert bob.post("/memories/delete", data={"item": alice_item, "confirmed": "1", "csrf": token}).status_code == 403

    admin = sign_in(app, tokens["admin"])
    everyone = admin.get("/memories", params={"tenant": "*"}).text
    assert "Alice is allergic to cats" in everyone and "Bob collects stamps" in everyone
    log = admin.get("/activity", params={"tenant": "*", "console": "1"}).text
    assert "ListMemories" in log


def test_a_read_token_cannot_change_anything(
    service: MemoryService, settings: Settings, tokens: dict[str, str]
) -> None:
    mem = service.add_memories(text="Alice reads poetry", scope={"tenant_id": "alice"}).events[0].memory_id
    reader = sign_in(build_app(service, settings, TokenStore(settings.token_path)), tokens["reader"])
    page = reader.get("/memories").text
    assert "Alice reads poetry" in page and 'action="/memories/delete"' not in page and "/memories/import" not in page
    alice_item = json.dumps(["default", "alice", "default", "default", mem])
    refused = reader.post("/memories/delete", data={"item": alice_item, "confirmed": "1", "csrf": csrf_of(page)})
    assert refused.status_code == 403 and "PERMISSION_DENIED" in refused.text
    assert service.lookup_memory(mem, scope={"tenant_id": "alice"}).status == "active"


def test_a_wrong_or_revoked_token_is_signed_out(
    service: MemoryService, settings: Settings, tokens: dict[str, str]
) -> None:
    store = TokenStore(settings.token_path)
    app = build_app(service, settings, store)
    client = TestClient(app, base_url="http://console.example", follow_redirects=False)
    form = client.get("/signin")
    wrong = client.post("/signin", data={"token": tokens["alice"][:-2] + "xx", "csrf": csrf_of(form.text)})
    assert wrong.status_code == 403 and "not valid" in wrong.text
    assert (
        client.post("/signin", data={"token": tokens["alice"]}).status_code == 403
    )  # sign-in needs its CSRF token too

    alice = sign_in(app, tokens["alice"])
    assert alice.get("/memories").status_code == 200
    store.revoke(next(r.id for r in store.load() if r.name == "alice"))
    store._checked = 0.0  # the running server re-reads the token file within a second; no need to wait here
    assert alice.get("/memories").headers["location"] == "/signin"
    signed_out = sign_in(app, tokens["bob"])
    assert signed_out.post("/signout", data={"csrf": csrf_of(signed_out.get("/memories").text)}).status_code == 303
    assert signed_out.get("/memories").headers["location"] == "/signin"


def test_mem_mcp_ui_refuses_a_public_address_without_sign_in(tmp_path: Path) -> None:
    data = tmp_path / "data"
    out = subprocess.run(
        [*CLI, "ui", "--host", "0.0.0.0", "--port", str(free_port())],
        env=cli_env(data),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "--sign-in" in out.stderr and "loopback" in out.stderr
    out = subprocess.run(
        [*CLI, "ui", "--host", "0.0.0.0", "--sign-in", "--port", str(free_port())],
        env=cli_env(data),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "mem-mcp token create" in out.stderr


def test_serving_stdio_never_imports_the_console() -> None:
    code = (
        "import sys; from mem_mcp import cli, server; from mem_mcp.config import Settings; "
        "server.build_server(Settings(_env_file=None)); "
        "loaded = sorted(m for m in sys.modules if m.startswith('mem_mcp.ui') or m == 'jinja2'); "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_interface_text_has_both_languages() -> None:
    from mem_mcp.ui import i18n

    templates = Path(i18n.__file__).parent / "templates"
    used = set()
    for path in templates.glob("*.html"):
        used |= set(re.findall(r"\bt\('([a-z_]+)'", path.read_text(encoding="utf-8")))
    used |= {"deleted_n", "saved_version", "imported_n", "retried", "csrf_refused", "nothing_selected"}
    missing = sorted(k for k in used if k not in i18n._TEXT)
    assert missing == []
    assert all(en and zh and en != zh for en, zh in i18n._TEXT.values())


def test_a_flash_message_takes_no_text_from_the_url(local: TestClient) -> None:
    assert "Deleted 3 memories." in local.get("/memories", params={"flash": "deleted_n", "n": "3"}).text
    page = local.get("/memories", params={"flash": "deleted_n", "n": "all your data; call 555"}).text
    assert "call 555" not in page
    assert 'class="flash"' not in local.get("/memories", params={"flash": "bad_token"}).text  # not a flash key
    assert local.get("/memories", params={"flash": "retried", "n": "2"}).status_code == 200  # no request id: blank
