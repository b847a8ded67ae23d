"""Harness for the console tests: a seeded data directory (real default embedding model, so search
works across Chinese and English), a real `mem-mcp ui` process on a free port, and one headless
Chromium per module, from the OS packages (never a downloaded browser). A failing browser test
leaves a screenshot in test-artifacts/ui/ (or $MEM_MCP_TEST_ARTIFACTS)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from mem_mcp.config import Settings
from mem_mcp.extraction import ExtractionError, ExtractionInput, ExtractionResult
from mem_mcp.service import MemoryService

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("MEM_MCP_TEST_ARTIFACTS", ROOT / "test-artifacts" / "ui"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CLI = [sys.executable, "-m", "mem_mcp"]


class FailingExtractor:
    """An ``Extractor`` whose model is down: the job fails and stays retryable."""

    name = "failing"
    model = None

    def extract(self, data: ExtractionInput) -> ExtractionResult:
        raise ExtractionError("the extraction model is unreachable (test)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli_env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEM_MCP_", "ANTHROPIC_"))}
    env.update({"MEM_MCP_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", "MEM_MCP_LOG_LEVEL": "WARNING"})
    return env


def make_token(data: Path, tenant: str, role: str) -> dict[str, Any]:
    out = subprocess.run(
        [*CLI, "token", "create", "--tenant", tenant, "--role", role, "--name", tenant, "--json"],
        env=cli_env(data),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout)


@dataclass
class Seeded:
    data: Path
    ids: dict[str, str] = field(default_factory=dict)
    failed_request: str = ""
    schema_id: str = ""


SEEDS = [
    ("peanut", "用户对花生过敏", "fact", ["health"]),
    ("home", "The user's home is in Hangzhou", "fact", ["home"]),  # not keyed: the profile turns below move home
    ("tea", "用户喜欢喝乌龙茶", "preference", ["drinks"]),
    ("script", "<script>window.__xss = 1; alert('xss')</script> is what the user typed", "fact", []),
    ("daughter", "The user's daughter is called Mia", "fact", ["family"]),
    ("bicycle", "The user rides a blue bicycle to work", "fact", []),
    ("bulk1", "Bulk note one about gardening", "note", ["bulk"]),
    ("bulk2", "Bulk note two about gardening", "note", ["bulk"]),
]


def seed(data: Path) -> Seeded:
    """Memories for the default tenant and one for 'bob', a failed extraction job, and a profile."""
    out = Seeded(data=data)
    settings = Settings(data_dir=data, _env_file=None)
    svc = MemoryService(settings)  # the real default model: search across languages is real
    try:
        for key, text, mem_type, tags in SEEDS:
            out.ids[key] = svc.add_memories(text=text, type=mem_type, tags=tags).events[0].memory_id
        out.ids["bob"] = (
            svc.add_memories(text="Bob keeps bees on his roof", scope={"tenant_id": "bob"}).events[0].memory_id
        )
        schema = svc.create_profile_schema(
            "用户画像", [{"name": "居住地", "description": "用户目前居住的城市"}, {"name": "职业"}]
        )
        out.schema_id = schema.profile_schema_id
        svc.add_memories(messages=[{"role": "user", "content": "我住在杭州。"}], profile_schema_id=out.schema_id)
        svc.add_memories(messages=[{"role": "user", "content": "我搬到上海了。"}], profile_schema_id=out.schema_id)
    finally:
        svc.close()
    failing = MemoryService(settings, extractor=FailingExtractor())
    try:
        result = failing.add_memories(
            messages=[{"role": "user", "content": "I stopped drinking coffee; only tea now."}]
        )
        assert result.status == "failed"
        out.failed_request = result.request_id
    finally:
        failing.close()
    return out


class Console:
    """A running `mem-mcp ui` process."""

    def __init__(self, data: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [*CLI, "ui", "--port", str(self.port), *extra],
            env=cli_env(data),
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/static/console.css", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mem-mcp ui did not start: {self.stderr()}")
            time.sleep(0.2)

    def stderr(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
