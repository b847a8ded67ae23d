"""Deterministic fakes of the project's own Protocols (``Embedder``, ``Extractor``), shared by the test
modules (``from fakes import HashEmbedder``; pytest puts tests/ on sys.path) and by the child processes
some tests spawn. Not mocks: each is a small real implementation of the protocol."""

from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np

from mem_mcp.extraction import ExtractionInput, ExtractionResult
from mem_mcp.terms import fts_terms


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
