"""``mem-mcp serve`` over stdio as a process: Ctrl-C stops it at once and cleanly, a closed stdin ends
it cleanly, and a data directory that cannot be used is reported on stderr at start-up while the
server keeps answering (every call with that error)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}


def _serve(data: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEM_MCP_")}
    env.update({"MEM_MCP_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", "OMP_WAIT_POLICY": "PASSIVE"})
    return subprocess.Popen(
        [sys.executable, "-m", "mem_mcp", "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )


def _initialize(proc: subprocess.Popen[bytes]) -> dict:
    assert proc.stdin and proc.stdout
    proc.stdin.write((json.dumps(INIT) + "\n").encode())
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())


def _call(proc: subprocess.Popen[bytes], n: int, tool: str, args: dict) -> dict:
    assert proc.stdin and proc.stdout
    msg = {"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {"name": tool, "arguments": args}}
    proc.stdin.write((json.dumps(msg) + "\n").encode())
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())


@pytest.mark.parametrize("after_a_call", [False, True])
def test_ctrl_c_stops_serve_at_once_and_cleanly(tmp_path: Path, after_a_call: bool) -> None:
    proc = _serve(tmp_path / "data")
    try:
        assert _initialize(proc)["result"]["serverInfo"]["name"] == "mem-mcp"
        assert proc.stdin
        proc.stdin.write(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
        proc.stdin.flush()
        if after_a_call:  # the service is open, its threads running
            assert not _call(proc, 2, "add_memories", {"text": "The user likes tea"})["result"].get("isError")
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends; stdin stays open
        rc = proc.wait(timeout=15)  # a serve that ignores it hangs here
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read().decode() if proc.stderr else ""
    assert rc == 130, err
    assert "Traceback" not in err and "Fatal Python error" not in err, err


def test_closed_stdin_ends_serve_cleanly(tmp_path: Path) -> None:
    proc = _serve(tmp_path / "data")
    _initialize(proc)
    assert proc.stdin
    proc.stdin.close()
    rc = proc.wait(timeout=60)
    err = proc.stderr.read().decode() if proc.stderr else ""
    assert rc == 0 and "Traceback" not in err and "Fatal Python error" not in err, err


def test_an_unusable_data_dir_is_said_at_start_up_and_in_every_call(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    proc = _serve(blocker / "data")
    try:
        _initialize(proc)
        answer = _call(proc, 2, "search_memories", {"query": "tea"})["result"]
        assert answer["isError"] and answer["content"][0]["text"].startswith("DATA_DIR_UNAVAILABLE: ")
        assert str(blocker / "data") in answer["content"][0]["text"]
    finally:
        assert proc.stdin
        proc.stdin.close()
        proc.wait(timeout=60)
    err = proc.stderr.read().decode() if proc.stderr else ""
    first = err.splitlines()[0]
    assert first.startswith("error: DATA_DIR_UNAVAILABLE: ") and "MEM_MCP_DATA_DIR" in first, err
