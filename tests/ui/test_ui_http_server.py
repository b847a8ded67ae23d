"""The console on the team server: `serve --transport streamable-http` serves it at /ui/ behind the same
tokens as MCP. Each token, signed in through the form, sees its own tenant; the console's cookie is no
bearer token for /mcp; and a real server process answers at /ui/ beside /mcp."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from console_harness import CLI, cli_env, free_port, make_token  # noqa: E402
from mem_mcp.auth import TokenStore  # noqa: E402
from mem_mcp.config import Settings  # noqa: E402
from mem_mcp.server import http_app  # noqa: E402
from mem_mcp.service import MemoryService  # noqa: E402


def csrf_of(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert match, html[:300]
    return match.group(1)


def sign_in(app: object, token: str) -> TestClient:
    client = TestClient(app, base_url="http://team.example:8765", follow_redirects=False)
    assert client.get("/ui/memories").headers["location"] == "/ui/signin"
    form = client.get("/ui/signin")
    signed = client.post("/ui/signin", data={"token": token, "csrf": csrf_of(form.text)})
    assert signed.status_code == 303 and signed.headers["location"] == "/ui/"
    assert "Path=/ui/" in signed.headers["set-cookie"] and "HttpOnly" in signed.headers["set-cookie"]
    return client


def test_the_team_server_fences_each_token_to_its_tenant(service: MemoryService, settings: Settings) -> None:
    store = TokenStore(settings.token_path)
    alice_token, _ = store.create(app_id="default", tenant_id="alice", role="write", name="alice")
    bob_token, _ = store.create(app_id="default", tenant_id="bob", role="write", name="bob")
    alice_mem = service.add_memories(text="Alice is allergic to cats", scope={"tenant_id": "alice"}).events[0].memory_id
    service.add_memories(text="Bob collects stamps", scope={"tenant_id": "bob"})
    app = http_app(settings, "streamable-http", service, tokens=store)

    alice, bob = sign_in(app, alice_token), sign_in(app, bob_token)
    alice_page, bob_page = alice.get("/ui/memories").text, bob.get("/ui/memories").text
    assert "Alice is allergic to cats" in alice_page and "Bob collects stamps" not in alice_page
    assert "Bob collects stamps" in bob_page and "Alice is allergic to cats" not in bob_page
    assert 'href="/ui/memories/' in alice_page and 'src="/ui/static/console.js' in alice_page  # links under /ui/
    assert bob.get(f"/ui/memories/{alice_mem}", params={"tenant": "alice"}).status_code == 404
    item = json.dumps(["default", "alice", "default", "default", alice_mem])
    refused = bob.post("/ui/memories/delete", data={"item": item, "confirmed": "1", "csrf": csrf_of(bob_page)})
    assert refused.status_code == 404
    assert service.lookup_memory(alice_mem, scope={"tenant_id": "alice"}).status == "active"

    # The console's session is not a credential for MCP, and a wrong sign-in is the console's own page.
    mcp = alice.post(
        "/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"accept": "application/json, text/event-stream"},
    )
    assert mcp.status_code == 401 and mcp.json()["error"] == "invalid_token"
    wrong = TestClient(app, base_url="http://team.example:8765")
    form = wrong.get("/ui/signin")
    failed = wrong.post("/ui/signin", data={"token": "mmcp_000000000000_" + "x" * 40, "csrf": csrf_of(form.text)})
    assert failed.status_code == 403 and "That token is not valid" in failed.text


@pytest.mark.slow
def test_a_served_team_server_answers_the_console_beside_mcp(tmp_path: Path) -> None:
    data = tmp_path / "data"
    alice = make_token(data, "alice", "write")
    port = free_port()
    proc = subprocess.Popen(
        [*CLI, "serve", "--transport", "streamable-http", "--port", str(port)],
        env=cli_env(data),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        with httpx.Client(base_url=base, follow_redirects=False) as http:
            assert http.get("/ui/memories").headers["location"] == "/ui/signin"
            form = http.get("/ui/signin")
            signed = http.post("/ui/signin", data={"token": alice["token"], "csrf": csrf_of(form.text)})
            assert signed.status_code == 303
            page = http.get("/ui/memories")
            assert page.status_code == 200 and "Tenant alice" in page.text
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        err = proc.stderr.read() if proc.stderr else ""
    assert "console: /ui/" in err
