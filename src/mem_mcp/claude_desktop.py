"""The Claude Desktop configuration of this installation (``mem-mcp claude-config``).

A GUI app does not see the user's shell: ``PATH`` is minimal (so a bare ``mem-mcp`` is not found:
``spawn mem-mcp ENOENT``) and the working directory is ``/``. The entry written here therefore names
the absolute path of the Python that runs mem-mcp (``python -m mem_mcp serve``: it exists on every
platform, where the console script is a shim whose location varies) and an absolute data directory.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from .config import Settings
from .errors import InvalidArgumentError

CONFIG_NAME = "claude_desktop_config.json"


def config_path(env: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """Where Claude Desktop reads its configuration on this OS (Settings → Developer → Edit Config)."""
    env = os.environ if env is None else env
    platform = platform or sys.platform
    if platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Claude" / CONFIG_NAME
    if platform == "win32":
        appdata = env.get("APPDATA")
        return (Path(appdata) if appdata else Path.home() / "AppData" / "Roaming") / "Claude" / CONFIG_NAME
    xdg = env.get("XDG_CONFIG_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".config"
    return base / "Claude" / CONFIG_NAME


def server_entry(settings: Settings, python: str | None = None) -> dict[str, Any]:
    """The ``mcpServers`` entry that starts this installation's server with this data directory."""
    env = {"MEM_MCP_DATA_DIR": str(Path(settings.data_dir).expanduser().absolute())}
    if settings.db_uri:
        env = {"MEM_MCP_DB_URI": settings.db_uri}
    # Not resolved: a virtual environment's python is a symlink, and only its own path activates the venv.
    return {"command": os.path.abspath(python or sys.executable), "args": ["-m", "mem_mcp", "serve"], "env": env}


def render(settings: Settings, name: str) -> dict[str, Any]:
    """A complete configuration holding only this server."""
    return {"mcpServers": {name: server_entry(settings)}}


def merge_into(path: Path, settings: Settings, name: str) -> tuple[Path | None, bool]:
    """Add (or replace) server ``name`` in the config file at ``path``, keeping everything else in it.

    The previous file is copied next to it first (``claude_desktop_config.json.bak-<time>``); the new
    one is written to a temporary file and renamed over, so a crash never leaves half a file. Returns
    (the backup's path or None when there was no file, whether an entry of that name was replaced).
    A file that is not a JSON object is left untouched and answered with INVALID_ARGUMENT.
    """
    config: dict[str, Any] = {}
    backup = None
    if path.exists():
        raw = path.read_text(encoding="utf-8")
        try:
            config = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as exc:
            raise InvalidArgumentError(
                f"{path} is not valid JSON ({exc.msg}, line {exc.lineno}); fix or move it, then run this again. "
                "Nothing was changed.",
                field="config_file",
            ) from exc
        if not isinstance(config, dict) or not isinstance(config.get("mcpServers", {}), dict):
            raise InvalidArgumentError(
                f'{path} is not a Claude Desktop configuration (a JSON object with an "mcpServers" object); '
                "nothing was changed.",
                field="config_file",
            )
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        backup = path.with_name(f"{path.name}.bak-{stamp}")
        backup.write_text(raw, encoding="utf-8")
    servers = config.setdefault("mcpServers", {})
    replaced = name in servers
    servers[name] = server_entry(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return backup, replaced
