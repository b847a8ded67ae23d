"""End to end with the TypeScript SDK, the client Claude Desktop and most IDE assistants are built on.

``tests/ts/client.mjs`` (``@modelcontextprotocol/sdk``, pinned in tests/ts/package.json, installed by
``npm ci --prefix tests/ts`` in .ci/run) connects to a real ``mem-mcp serve`` over stdio and over
streamable HTTP with a bearer token, lists the tools, and calls them. Its ``Client.callTool`` validates
every result's ``structuredContent`` against the tool's output schema and throws when it does not
match, which is how error results used to vanish in these clients (issue 12): the tests assert that the
SDK accepts every result, successes and failures alike, and that each failure reads ``CODE: message``.
The MCP Inspector's CLI (``@modelcontextprotocol/inspector-cli``, the second client) gets one smoke test.

Without Node or the installed packages the module is skipped, unless MEM_MCP_REQUIRE_NODE_TESTS=1 (set
by .ci/run), which turns the skip into a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

TS_DIR = Path(__file__).parent.parent / "ts"
CLIENT = TS_DIR / "client.mjs"
INSPECTOR = TS_DIR / "node_modules" / "@modelcontextprotocol" / "inspector-cli" / "build" / "cli.js"
CODE_TEXT = re.compile(r"^[A-Z_]+: \S")

#: The default (core) tool set of a local conversation (issue 12).
CORE_TOOLS = {
    "add_memories",
    "search_memories",
    "list_memories",
    "get_memory",
    "update_memory",
    "delete_memory",
    "memory_history",
    "get_user_profile",
}


def _node() -> str:
    node = shutil.which("node")
    missing = None
    if node is None:
        missing = "node is not installed"
    elif not (TS_DIR / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir():
        missing = "the TypeScript test clients are not installed (run `npm ci --prefix tests/ts`)"
    if missing:
        if os.environ.get("MEM_MCP_REQUIRE_NODE_TESTS") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    return node  # type: ignore[return-value]


@pytest.fixture(scope="module")
def node() -> str:
    return _node()


def _env(data: Path) -> dict[str, str]:
    """The server's environment: our source first (as the test run's), the data dir, offline."""
    env = {"MEM_MCP_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def _full_env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEM_MCP_", "ANTHROPIC_"))}
    env.update(_env(data))
    return env


def run_plan(node: str, plan: dict[str, Any], timeout: float = 240) -> dict[str, Any]:
    """Run the TypeScript client on a plan; return what it printed (see client.mjs)."""
    out = subprocess.run(
        [node, str(CLIENT), json.dumps(plan)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=TS_DIR,
    )
    assert out.stdout.strip(), f"client printed nothing (rc {out.returncode}): {out.stderr}"
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert "fatal" not in report, f"{report['fatal']}\nserver stderr:\n{report.get('stderr', '')}"
    return report


def _cli(data: Path, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "mem_mcp", *args],
        env=_full_env(data),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def _plan_calls(schema_id: str) -> list[dict[str, Any]]:
    """Every default tool once successfully, then failing calls; ids flow between calls."""
    return [
        {
            "name": "add_memories",
            "arguments": {"text": "The user prefers green tea", "tags": ["drinks"]},
            "save": {"tea": "events.0.memory_id"},
        },
        {"name": "add_memories", "arguments": {"text": "用户住在北京"}, "save": {"city": "events.0.memory_id"}},
        {
            "name": "search_memories",
            "arguments": {"query": "what does the user drink?", "translation": "用户喝什么？", "top_k": 5},
        },
        {"name": "list_memories", "arguments": {"limit": 10}},
        {"name": "get_memory", "arguments": {"memory_id": "$tea"}},
        {"name": "update_memory", "arguments": {"memory_id": "$tea", "text": "The user prefers oolong tea"}},
        {"name": "memory_history", "arguments": {"memory_id": "$tea"}},
        {"name": "delete_memory", "arguments": {"memory_id": "$city"}},
        {"name": "get_user_profile", "arguments": {"profile_schema_id": schema_id}},
        # Failures: each must come back as isError with "CODE: message", accepted by the SDK.
        {"name": "get_memory", "arguments": {"memory_id": "mem_does_not_exist"}, "expect": "MEMORY_NOT_FOUND"},
        {"name": "update_memory", "arguments": {"memory_id": "$city", "text": "x"}, "expect": "MEMORY_NOT_FOUND"},
        {"name": "add_memories", "arguments": {}, "expect": "INVALID_ARGUMENT"},
        {
            "name": "add_memories",
            "arguments": {"text": "The user likes jazz", "tag": ["music"]},
            "expect": "INVALID_ARGUMENT",
            "field": "tag",
        },
        {
            "name": "add_memories",
            "arguments": {"text": "a", "messages": [{"role": "user", "content": "b"}]},
            "expect": "INVALID_ARGUMENT",
            "field": "messages",
        },
        {
            "name": "search_memories",
            "arguments": {"query": "tea", "top_k": 500},
            "expect": "INVALID_ARGUMENT",
            "field": "top_k",
        },
        {
            "name": "search_memories",
            "arguments": {"query": "tea", "translation": " "},
            "expect": "EMPTY_TEXT",
            "field": "translation",
        },
        {
            "name": "get_user_profile",
            "arguments": {"profile_schema_id": "ps_missing"},
            "expect": "PROFILE_SCHEMA_NOT_FOUND",
        },
    ]


def _check_report(report: dict[str, Any], plan_calls: list[dict[str, Any]]) -> None:
    names = {t["name"] for t in report["tools"]}
    assert names == CORE_TOOLS, sorted(names ^ CORE_TOOLS)
    assert all(t["hasOutputSchema"] for t in report["tools"])
    for spec, rec in zip(plan_calls, report["calls"], strict=True):
        label = f"{rec['name']}({rec['arguments']})"
        assert rec["accepted"], f"the TypeScript SDK rejected {label}: {rec['sdkError']}"
        expect = spec.get("expect")
        if expect is None:
            assert rec["isError"] is False, f"{label}: {rec['text']}"
            assert rec["structuredContent"] is not None, label
        else:
            assert rec["isError"] is True, f"{label} should fail with {expect}: {rec['text']}"
            assert rec["text"].startswith(f"{expect}: "), (label, rec["text"])
            assert CODE_TEXT.match(rec["text"]), rec["text"]
            if spec.get("field"):
                assert f"`{spec['field']}`" in rec["text"], (label, rec["text"])
    by_name = {}
    for rec in report["calls"]:
        by_name.setdefault(rec["name"], []).append(rec)
    hits = by_name["search_memories"][0]["structuredContent"]["results"]
    assert hits and "green tea" in json.dumps(hits[0], ensure_ascii=False)
    update = by_name["update_memory"][0]["structuredContent"]
    assert update["events"][0]["event"] == "UPDATE" and update["events"][0]["old_text"] == "The user prefers green tea"
    history = by_name["memory_history"][0]["structuredContent"]
    assert [v["event"] for v in history["entries"]] == ["ADD", "UPDATE"]


def _schema(data: Path) -> str:
    out = _cli(data, "profile-schema", "create", "用户画像", "--attr", "居住地=用户目前居住的城市", "--json")
    return json.loads(out)["profile_schema_id"]


def test_typescript_sdk_over_stdio_accepts_every_result(node: str, tmp_path: Path) -> None:
    """Launched as Claude Desktop launches it: the entry `mem-mcp claude-config` prints, in `/`, with a
    minimal PATH."""
    data = tmp_path / "data"
    calls = _plan_calls(_schema(data))
    entry = json.loads(_cli(data, "claude-config", "--data-dir", str(data)))["mcpServers"]["memory"]
    env = {**entry["env"], "PATH": "/usr/bin:/bin", "OMP_WAIT_POLICY": "PASSIVE"}
    if os.environ.get("PYTHONPATH"):  # the code under test; an installed mem-mcp needs none
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    report = run_plan(
        node,
        {
            "transport": "stdio",
            "command": entry["command"],
            "args": entry["args"],
            "env": env,
            "cwd": "/",
            "clientName": "claude-ai",
            "calls": [{k: v for k, v in c.items() if k in ("name", "arguments", "save")} for c in calls],
        },
    )
    _check_report(report, calls)
    assert "Traceback" not in report["stderr"], report["stderr"]
    assert (data / "stores.lance").is_dir()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_typescript_sdk_over_streamable_http_with_a_token(node: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    calls = _plan_calls(_schema(data))
    token = json.loads(_cli(data, "token", "create", "--tenant", "default", "--role", "write", "--json"))["token"]
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mem_mcp", "serve", "--transport", "streamable-http", "--port", str(port)],
        env=_full_env(data),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_healthy(proc, port)
        report = run_plan(
            node,
            {
                "transport": "http",
                "url": f"http://127.0.0.1:{port}/mcp",
                "token": token,
                "calls": [{k: v for k, v in c.items() if k in ("name", "arguments", "save")} for c in calls],
            },
        )
        _check_report(report, calls)
        # A wrong token is refused before any tool runs.
        refused = subprocess.run(
            [
                node,
                str(CLIENT),
                json.dumps(
                    {"transport": "http", "url": f"http://127.0.0.1:{port}/mcp", "token": "mmcp_wrong", "calls": []}
                ),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=TS_DIR,
        )
        assert refused.returncode == 1 and "invalid_token" in refused.stdout, refused.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert "Traceback" not in proc.stderr.read()


def _wait_healthy(proc: subprocess.Popen[str], port: int) -> None:
    import urllib.request

    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None:
            pytest.fail(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        assert time.monotonic() < deadline, "server did not become healthy"
        time.sleep(0.2)


def test_mcp_inspector_cli_shows_our_error_code(node: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    env_args = [a for k, v in _env(data).items() for a in ("-e", f"{k}={v}")]
    server = [sys.executable, "-m", "mem_mcp", "serve"]

    def inspect(*method: str) -> subprocess.CompletedProcess[str]:
        # cwd: the Inspector CLI finds its own package.json through "../package.json" checked against the
        # working directory; from node_modules that is tests/ts/package.json, so its lookup succeeds.
        return subprocess.run(
            [node, str(INSPECTOR), "--cli", *env_args, *server, *method],
            capture_output=True,
            text=True,
            timeout=180,
            cwd=TS_DIR / "node_modules",
        )

    listed = inspect("--method", "tools/list")
    assert listed.returncode == 0, listed.stderr
    assert {t["name"] for t in json.loads(listed.stdout)["tools"]} == CORE_TOOLS
    failed = inspect("--method", "tools/call", "--tool-name", "get_memory", "--tool-arg", "memory_id=x")
    assert failed.returncode == 0, failed.stderr  # the Inspector printed the result instead of a schema error
    result = json.loads(failed.stdout)
    assert result["isError"] is True and "structuredContent" not in result
    assert result["content"][0]["text"].startswith("MEMORY_NOT_FOUND: "), result
