"""Shared fixtures. Tests never touch the home directory or the network: data lives in tmp_path,
and models come from installed packages."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pytest

from mem_mcp.config import Settings
from mem_mcp.extraction import ExtractionInput, ExtractionResult
from mem_mcp.retrieval import fts_terms
from mem_mcp.service import MemoryService

from fake_anthropic import FakeAnthropic

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True, scope="session")
def _user_dirs(tmp_path_factory: pytest.TempPathFactory):
    """The per-user data and config directories (the default data dir, Claude Desktop's config) point
    into a temporary directory, for this process and the servers it starts: tests never touch home."""
    base = tmp_path_factory.mktemp("user-dirs")
    with pytest.MonkeyPatch.context() as mp:
        for var, sub in (("XDG_DATA_HOME", "share"), ("XDG_CONFIG_HOME", "config"),
                         ("LOCALAPPDATA", "local"), ("APPDATA", "roaming")):
            mp.setenv(var, str(base / sub))
        yield base


class HashEmbedder:
    """A deterministic bag-of-terms embedder implementing the ``Embedder`` protocol: texts that share
    terms are close. For unit tests of logic; end-to-end tests use the real default model."""

    name = "test/hash-64"

    def __init__(self, dim: int = 64) -> None:
        self._dim = dim
        self.loaded = False

    @property
    def dim(self) -> int:
        return self._dim

    def load(self) -> None:
        self.loaded = True

    def _one(self, text: str) -> np.ndarray:
        vec = np.zeros(self._dim, dtype=np.float32)
        for term in fts_terms(text) or [text]:
            h = int.from_bytes(hashlib.blake2b(term.encode(), digest_size=8).digest(), "little")
            vec[h % self._dim] += 1.0  # unsigned: shared terms always add up, never cancel
        vec[0] += 0.01  # never the zero vector
        return vec / np.linalg.norm(vec)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, self._dim), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._one(text)


class NoopExtractor:
    """An ``Extractor`` that finds nothing: for tests of the service that are not about extraction."""

    name = "noop"
    model = None

    def extract(self, data: ExtractionInput) -> ExtractionResult:
        return ExtractionResult(candidates=[], extractor=self.name)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", _env_file=None)


@pytest.fixture
def service(settings: Settings) -> MemoryService:
    return MemoryService(settings, embedder=HashEmbedder(), extractor=NoopExtractor())


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
