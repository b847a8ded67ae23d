"""End to end over HTTP: tokens made with `mem-mcp token create`, a real `mem-mcp serve --transport
streamable-http` process with the real embedding model, the SDK's streamable HTTP client, and a
SIGTERM that must let queued work finish and write the request log before the process exits."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from mem_mcp.config import Settings
from mem_mcp.service import MemoryService

from mcp_http import call, http_client

CLI = [sys.executable, "-m", "mem_mcp"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEM_MCP_", "ANTHROPIC_"))}
    env.update({"MEM_MCP_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", "MEM_MCP_LOG_LEVEL": "INFO"})
    return env


def _token(data: Path, tenant: str, role: str) -> dict[str, str]:
    out = subprocess.run(
        [*CLI, "token", "create", "--tenant", tenant, "--role", role, "--json"],
        env=_env(data),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout)


async def test_hosted_server_isolates_tenants_and_shuts_down_gracefully(tmp_path):
    data = tmp_path / "data"
    alice, bob = _token(data, "alice", "write"), _token(data, "bob", "write")
    assert alice["token"].startswith("mmcp_") and alice["tenant_id"] == "alice" and "hash" not in alice
    port = _free_port()
    proc = subprocess.Popen(
        [*CLI, "serve", "--transport", "streamable-http", "--port", str(port)],
        env=_env(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        async with httpx2.AsyncClient() as http:
            while True:
                try:
                    if (await http.get(f"{base}/healthz")).status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, (
                    proc.stderr.read() if proc.poll() is not None else "timeout"
                )
                time.sleep(0.2)

        async with http_client(f"{base}/mcp", alice["token"]) as client:
            await call(client, "add_memories", {"text": "用户对花生过敏"})
            found = await call(client, "search_memories", {"query": "Does the user have a peanut allergy?"})
            assert found["results"][0]["text"] == "用户对花生过敏"
            job = await call(
                client,
                "add_memories",
                {
                    "messages": [{"role": "user", "content": "我不喝咖啡了，现在只喝茶。"}],
                    "sync": False,
                },
            )
            request_id = job["request_id"]
        async with http_client(f"{base}/mcp", bob["token"]) as client:
            found = await call(client, "search_memories", {"query": "peanut allergy 花生"})
            assert found["results"] == []
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
        err = proc.stderr.read()
        assert rc in (0, -signal.SIGTERM), err  # uvicorn re-raises SIGTERM after its graceful shutdown
        assert proc.stdout.read() == ""  # logs go to stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    svc = MemoryService(Settings(data_dir=data))
    try:
        status = svc.get_request(request_id)
        assert status.status == "done"  # the queued extraction finished before the process exited
        assert [e.event for e in status.events] == ["ADD"]
        log = svc.list_requests(scope={"tenant_id": "alice"}, limit=100).requests
        ops = {r.operation for r in log}
        assert {"AddMemories", "SearchMemories"} <= ops
        assert {r.token_id for r in log if r.operation == "SearchMemories"} == {alice["id"]}
    finally:
        svc.close()


@pytest.mark.slow  # several server processes
def test_http_refuses_to_start_without_tokens_and_no_auth_only_on_loopback(tmp_path):
    env = _env(tmp_path / "data")
    out = subprocess.run(
        [*CLI, "serve", "--transport", "streamable-http", "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "mem-mcp token create" in out.stderr
    out = subprocess.run(
        [*CLI, "serve", "--transport", "sse", "--host", "0.0.0.0", "--no-auth", "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "loopback" in out.stderr
