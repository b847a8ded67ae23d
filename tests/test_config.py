"""Settings: the per-user default data directory, the data-dir check and the notice for ./data users."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mem_mcp.config import Settings, check_data_dir, legacy_data_notice, user_data_dir
from mem_mcp.errors import DataDirError
from mem_mcp.service import MemoryService

from fakes import HashEmbedder, NoopExtractor


def test_user_data_dir_per_platform() -> None:
    home = Path.home()
    assert user_data_dir({}, "linux") == home / ".local" / "share" / "mem-mcp"
    assert user_data_dir({"XDG_DATA_HOME": "/srv/xdg"}, "linux") == Path("/srv/xdg/mem-mcp")
    assert user_data_dir({"XDG_DATA_HOME": "relative/dir"}, "linux") == home / ".local" / "share" / "mem-mcp"
    assert user_data_dir({}, "darwin") == home / "Library" / "Application Support" / "mem-mcp"
    assert (
        user_data_dir({"LOCALAPPDATA": r"C:\Users\u\AppData\Local"}, "win32")
        == Path(r"C:\Users\u\AppData\Local") / "mem-mcp"
    )
    assert user_data_dir({}, "win32") == home / "AppData" / "Local" / "mem-mcp"


def test_default_data_dir_is_absolute_and_per_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MEM_MCP_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir("/")
    s = Settings(_env_file=None)
    assert s.data_dir == tmp_path / "xdg" / "mem-mcp" and s.data_dir.is_absolute()
    assert s.data_dir_source == "the per-user default"
    monkeypatch.setenv("MEM_MCP_DATA_DIR", str(tmp_path / "mine"))
    s = Settings(_env_file=None)
    assert s.data_dir == tmp_path / "mine" and s.data_dir_source == "MEM_MCP_DATA_DIR or --data-dir"


def test_check_data_dir_creates_the_directory(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    check_data_dir(Settings(data_dir=target, _env_file=None))
    assert target.is_dir() and list(target.iterdir()) == []  # the probe file is gone


def test_unusable_data_dir_is_a_typed_error_naming_path_and_setting(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(DataDirError) as info:
        check_data_dir(Settings(data_dir=blocker / "data", _env_file=None))
    err = info.value
    assert err.code == "DATA_DIR_UNAVAILABLE" and err.field == "data_dir"
    assert str(blocker / "data") in err.message and "MEM_MCP_DATA_DIR" in err.message
    assert isinstance(err, OSError)
    if os.geteuid() != 0:  # root writes anywhere: a read-only directory proves nothing there
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        with pytest.raises(DataDirError, match="Permission denied"):
            check_data_dir(Settings(data_dir=ro, _env_file=None))


def test_object_storage_is_not_checked_locally() -> None:
    check_data_dir(Settings(db_uri="s3://bucket/mem", _env_file=None))


def test_legacy_data_notice_points_old_users_to_their_memories(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("MEM_MCP_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    cwd = tmp_path / "project"
    settings = Settings(_env_file=None)
    assert legacy_data_notice(settings, cwd) is None  # no ./data at all
    old = MemoryService(
        Settings(data_dir=cwd / "data", _env_file=None), embedder=HashEmbedder(), extractor=NoopExtractor()
    )
    old.add_memories(text="The user likes tea")
    old.close()
    note = legacy_data_notice(settings, cwd)
    assert note and str(cwd / "data") in note and str(settings.data_dir) in note and "MEM_MCP_DATA_DIR=" in note
    # Said only while it matters: not with an explicit data dir, nor once the new directory has data.
    assert legacy_data_notice(Settings(data_dir=cwd / "data", _env_file=None), cwd) is None
    new = MemoryService(settings, embedder=HashEmbedder(), extractor=NoopExtractor())
    new.add_memories(text="The user likes coffee")
    new.close()
    assert legacy_data_notice(settings, cwd) is None
