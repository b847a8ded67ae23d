"""``mem-mcp claude-config``: the Claude Desktop entry, merged into the user's config file, and a server
launched from it the way a GUI app launches it (working directory ``/``, ``PATH=/usr/bin:/bin``)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp_types import Implementation

from mem_mcp.claude_desktop import config_path, merge_into, server_entry
from mem_mcp.config import Settings
from mem_mcp.errors import InvalidArgumentError


def test_config_path_per_platform() -> None:
    home = Path.home()
    assert (
        config_path({}, "darwin") == home / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
    )
    assert config_path({"APPDATA": r"C:\Users\u\AppData\Roaming"}, "win32") == (
        Path(r"C:\Users\u\AppData\Roaming") / "Claude" / "claude_desktop_config.json"
    )
    assert config_path({}, "linux") == home / ".config" / "Claude" / "claude_desktop_config.json"
    assert config_path({"XDG_CONFIG_HOME": "/etc/u"}, "linux") == Path("/etc/u/Claude/claude_desktop_config.json")


def test_entry_names_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    entry = server_entry(Settings(data_dir=Path("rel"), _env_file=None))
    assert Path(entry["command"]).is_absolute() and entry["args"] == ["-m", "mem_mcp", "serve"]
    assert entry["env"] == {"MEM_MCP_DATA_DIR": str(tmp_path / "rel")}


def test_merge_keeps_other_servers_and_settings_with_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "Claude" / "claude_desktop_config.json"
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    backup, replaced = merge_into(path, settings, "memory")  # no file yet: created, nothing to back up
    assert backup is None and not replaced
    original = {"mcpServers": {"files": {"command": "npx", "args": ["-y", "fs"]}}, "globalShortcut": "Ctrl+Space"}
    path.write_text(json.dumps(original))
    backup, replaced = merge_into(path, settings, "memory")
    assert backup is not None and json.loads(backup.read_text()) == original and not replaced
    merged = json.loads(path.read_text())
    assert merged["globalShortcut"] == "Ctrl+Space" and merged["mcpServers"]["files"] == original["mcpServers"]["files"]
    assert merged["mcpServers"]["memory"] == server_entry(settings)
    _, replaced = merge_into(path, Settings(data_dir=tmp_path / "other", _env_file=None), "memory")
    assert replaced and json.loads(path.read_text())["mcpServers"]["memory"]["env"]["MEM_MCP_DATA_DIR"] == str(
        tmp_path / "other"
    )


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"mcpServers": []}'])
def test_a_broken_config_file_is_left_alone(tmp_path: Path, content: str) -> None:
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(content)
    with pytest.raises(InvalidArgumentError) as info:
        merge_into(path, Settings(data_dir=tmp_path / "data", _env_file=None), "memory")
    assert info.value.field == "config_file" and "nothing was changed" in info.value.message.lower()
    assert path.read_text() == content and [p.name for p in tmp_path.iterdir()] == [path.name]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEM_MCP_", "ANTHROPIC_"))}
    env["HF_HUB_OFFLINE"] = "1"
    return env


def written_config(tmp_path: Path) -> dict[str, Any]:
    """Run the real command (default data dir: the per-user one) and return the server entry it wrote."""
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(json.dumps({"mcpServers": {"other": {"command": "/bin/true"}}}))
    out = subprocess.run(
        [sys.executable, "-m", "mem_mcp", "claude-config", "--write", "--config-file", str(path)],
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "Restart Claude Desktop" in out.stdout
    config = json.loads(path.read_text())
    assert set(config["mcpServers"]) == {"other", "memory"}
    return config["mcpServers"]["memory"]


def gui_launch_env(entry: dict[str, Any]) -> dict[str, str]:
    """What a GUI app gives the server: the entry's env, a minimal PATH, nothing from a shell. The test
    run's PYTHONPATH is kept so the server imports the code under test (an installed mem-mcp needs none)."""
    env = {"PATH": "/usr/bin:/bin", **entry.get("env", {})}
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    env["OMP_WAIT_POLICY"] = "PASSIVE"
    return env


def test_the_written_config_starts_from_a_gui_app(tmp_path: Path, isolated_environment: Path) -> None:
    entry = written_config(tmp_path)
    data_dir = Path(entry["env"]["MEM_MCP_DATA_DIR"])
    assert data_dir == isolated_environment / ".local" / "share" / "mem-mcp"  # the per-user default, made explicit

    async def session() -> list[str]:
        params = StdioServerParameters(command=entry["command"], args=entry["args"], env=gui_launch_env(entry), cwd="/")
        async with Client(
            params, client_info=Implementation(name="claude-ai", version="0"), read_timeout_seconds=120
        ) as c:
            added = await c.call_tool("add_memories", {"text": "The user's sister lives in Lisbon"})
            assert not added.is_error, added.content
            found = await c.call_tool("search_memories", {"query": "where does the sister live?"})
            assert not found.is_error, found.content
            return [json.dumps(h, ensure_ascii=False) for h in found.structured_content["results"]]

    hits = asyncio.run(session())
    assert hits and "Lisbon" in hits[0]
    assert (data_dir / "stores.lance").is_dir()
    assert not Path("/data/stores.lance").exists()
