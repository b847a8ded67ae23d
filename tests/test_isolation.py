"""The autouse isolation in conftest.py: a test sees none of the developer's mem-mcp configuration or
credentials, a home directory of its own, and no model downloads."""

from __future__ import annotations

import os
from pathlib import Path

from mem_mcp.config import Settings


def test_the_environment_carries_no_configuration_or_credentials(isolated_environment: Path) -> None:
    assert not [k for k in os.environ if k.startswith("MEM_MCP_") or k.startswith("ANTHROPIC_")]
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    settings = Settings(_env_file=None)
    assert settings.db_uri is None and settings.anthropic_api_key is None


def test_home_is_an_empty_directory_of_the_test(isolated_environment: Path, tmp_path: Path) -> None:
    home = Path(os.environ["HOME"])
    assert home == isolated_environment and home.is_dir() and not any(home.iterdir())
    assert Path("~").expanduser() == home
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "APPDATA", "LOCALAPPDATA"):
        assert Path(os.environ[var]).is_relative_to(home)
    assert home.parent == tmp_path.parent  # in pytest's base temp directory, beside the test's tmp_path
