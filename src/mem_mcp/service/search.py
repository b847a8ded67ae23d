"""Search: the query (or the recent conversation), vector and full-text candidates in parallel,
per-query calibration, fusion and grouping (retrieval.py holds the ranking itself)."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from .. import aliases, retrieval, terms
from ..config import Settings
from ..embeddings import Embedder
from ..errors import InvalidArgumentError
from ..extraction.offline.keys import memory_key
from ..models import (
    RESULT_GROUPS,
    MessageInput,
    MinScore,
    OrderBy,
    SearchHit,
    SearchOffset,
    SearchResult,
    TopK,
)
from ..storage import Database
from ..validation import (
    ORDER_COLUMNS,
    check_bounded,
    check_fraction,
    check_order,
    check_text,
    parse_messages,
)
from .context import DEFAULT_STORE, CallContext, Envelope, ScopeArg
from .memories import memory_where
from .rows import READ_COLUMNS, memory_model, row_match
from .stores import Stores

#: What the vector search reads: the memory and its vector.
VECTOR_COLUMNS = [*READ_COLUMNS, "vector"]

#: Threads of the pool the full-text search runs in, beside the embedding and the vector search.
SEARCH_THREADS = 4


def slot_of(row: Mapping[str, Any]) -> str | None:
    """The single-valued slot a memory fills (home, employer, drink...): the key it was saved with
    (offline rules or an extractor), else what ``memory_key`` reads in its text (imported memories,
    memories saved before keys)."""
    return row.get("key") or memory_key(row.get("text") or "")


def group(hits: list[SearchHit]) -> dict[str, list[SearchHit]]:
    groups: dict[str, list[SearchHit]] = {}
    for hit in hits:
        name = next((g for g, kinds in RESULT_GROUPS.items() if hit.memory.type in kinds), "other")
        groups.setdefault(name, []).append(hit)
    return groups


def pool_sizes(wanted: int) -> tuple[int, int, int]:
    """For a page ending at result ``wanted``: how many candidates a search takes from the vector search,
    how many of those count as reference, and how many it takes from the full-text search."""

    def size(n: int) -> int:
        return min(200, max(n, wanted * 4))

    return size(retrieval.CANDIDATES), size(retrieval.REFERENCE_CANDIDATES), size(retrieval.FTS_CANDIDATES)


@dataclass(frozen=True)
class _Lookup:
    """Where one search looks, the same for each of its query texts."""

    table: Any
    where: str | None
    match: Any
    mode: retrieval.SearchMode
    pool: int
    reference: int
    fts_pool: int


def _cosine(row: Mapping[str, Any], qvec: np.ndarray | None) -> float:
    """A row's similarity to a query vector; 0 without either (keyword mode reads no vectors)."""
    vec = row.get("vector")
    return float(np.asarray(vec, dtype=np.float32) @ qvec) if vec is not None and qvec is not None else 0.0


def _share_candidates(found: list[tuple[dict[str, retrieval.Candidate], np.ndarray | None]]) -> None:
    """Each query text scores the memories any of them found: a memory only the translation found
    gets its similarity to the query too (no keyword score; it does not count as reference)."""
    rows = {key: cand.row for cands, _ in found for key, cand in cands.items()}
    for cands, qvec in found:
        for key, row in rows.items():
            if key not in cands:
                cands[key] = retrieval.Candidate(row, _cosine(row, qvec), reference=False)


def combine(rankings: list[list[tuple[dict, float]]]) -> list[tuple[dict, float]]:
    """One ranking from the rankings of a query and its translation: each memory's score is the mean
    of its scores (every ranking scored the same memories, :func:`_share_candidates`), best first,
    ties in the first ranking's order."""
    if len(rankings) == 1:
        return rankings[0]
    scores: dict[str, list[float]] = {}
    rows: dict[str, dict] = {}
    for ranking in rankings:
        for row, score in ranking:
            scores.setdefault(row["row_key"], []).append(score)
            rows.setdefault(row["row_key"], row)
    order = {key: i for i, key in enumerate(rows)}
    merged = [(rows[key], sum(vals) / len(rankings)) for key, vals in scores.items()]
    merged.sort(key=lambda item: (-item[1], order[item[0]["row_key"]]))
    return merged


class Search:
    """``search_memories`` and what it needs: the search pool and the background sentences per model."""

    def __init__(self, db: Database, settings: Settings, stores: Stores, envelope: Envelope) -> None:
        self.db = db
        self.settings = settings
        self.stores = stores
        self.envelope = envelope
        self._background: dict[str, dict[str, np.ndarray]] = {}
        self._background_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def close(self) -> None:
        """Stop the search pool and join its threads (a search still running finishes first)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def _search_pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=SEARCH_THREADS, thread_name_prefix="mem-mcp-search")
            return self._pool

    def search_memories(
        self,
        query: str | None = None,
        messages: Sequence[MessageInput | Mapping[str, Any]] | None = None,
        *,
        store: str = DEFAULT_STORE,
        scope: ScopeArg = None,
        top_k: int = 10,
        min_score: float | None = None,
        types: Sequence[str] | None = None,
        filter: Mapping[str, Any] | None = None,
        order_by: OrderBy = "relevance",
        offset: int = 0,
        rerank: bool = True,
        include_superseded: bool = False,
        mode: retrieval.SearchMode = "hybrid",
        translation: str | None = None,
        ctx: CallContext | None = None,
    ) -> SearchResult:
        """Hybrid search (meaning + keywords) within a scope; agent_id/run_id may be '*'.

        ``mode`` picks the evidence: ``"hybrid"`` (default: vector and full-text candidates, fused),
        ``"vector"`` (nearest neighbours only) or ``"keyword"`` (full-text matches only; no embedding).
        ``min_score`` None is ``retrieval.DEFAULT_MIN_SCORE`` for the fused and vector scores, 0 for
        keyword scores (relative to the best match, they say nothing absolute). ``translation`` is the
        query (or the last user turn) in the other language, written by the calling model: both are
        searched and each memory's score is the mean of its two (:func:`combine`).
        """
        with self.envelope.operation("SearchMemories", ctx, store, scope, "read") as req:
            resolved = req.scope
            assert resolved is not None
            check_bounded("top_k", top_k, TopK)
            check_bounded("offset", offset, SearchOffset)
            if min_score is None:
                min_score = retrieval.DEFAULT_MIN_SCORE if mode != "keyword" else 0.0
            check_fraction("min_score", min_score, MinScore)
            check_order(order_by)
            if mode not in retrieval.SEARCH_MODES:
                raise InvalidArgumentError(
                    f"`mode` {mode!r} is not one of {list(retrieval.SEARCH_MODES)}.", field="mode"
                )
            query_text, context_text = self._query_from(query, messages)
            texts = [query_text]
            if translation is not None:
                other = check_text(
                    translation,
                    "translation",
                    self.settings.max_text_chars,
                    empty="give the query in the other language (English for Chinese, Chinese for English), or "
                    "leave it out",
                    too_long="Give a short translation of the query.",
                )
                if other != query_text.strip():
                    texts.append(other)
            st, table, _ = self.stores.table_of(store)
            # Without a `filter`, the rows are those a tenant's resident snapshot can pick (resident.py).
            look = _Lookup(
                table,
                memory_where(resolved, filter, types, include_superseded),
                None if filter else row_match(resolved, types, include_superseded),
                mode,
                *pool_sizes(top_k + offset),
            )
            # The full-text searches need no query vector: they run beside the embedding and the vector
            # search (both release the GIL), which saves their whole latency on a machine with a spare core.
            fts = [self._full_text(look, text) for text in texts]
            emb = self.stores.embedder_for(st) if mode != "keyword" else None
            found = [self._candidates(look, emb, text, context_text, rows) for text, rows in zip(texts, fts)]
            if len(found) > 1:
                _share_candidates(found)
            current_run = req.ctx.defaults.run_id if resolved.run_id == "*" else None
            rankings = []
            for text, (candidates, qvec) in zip(texts, found):
                if emb is not None and qvec is not None and rerank and mode == "hybrid":
                    self._with_people(emb, text, candidates)
                calibration = self.query_calibration(emb, qvec) if emb is not None and qvec is not None else None
                # The reference candidates first: a search reads at most aliases.MAX_PER_SEARCH definitions.
                pooled = sorted(candidates.values(), key=lambda c: not c.reference)
                rankings.append(
                    retrieval.fuse(
                        pooled,
                        text,
                        calibration,
                        rerank=rerank,
                        current_run=current_run,
                        mode=mode,
                        slot_of=slot_of,
                    )
                )
            ranked = combine(rankings)
            ranked = [(row, score) for row, score in ranked if score >= min_score]
            if order_by != "relevance":
                col, direction = ORDER_COLUMNS[order_by]
                ranked.sort(key=lambda item: item[0][col], reverse=direction == "descending")
            page = ranked[offset : offset + top_k]
            hits = [SearchHit(memory=memory_model(row, store), score=score) for row, score in page]
            return SearchResult(results=hits, groups=group(hits), total_candidates=len(ranked))

    def _full_text(self, look: _Lookup, text: str) -> Future[list[dict]] | None:
        """The full-text search of one query text, submitted to the search pool (None in vector mode)."""
        if look.mode == "vector":
            return None
        return self._search_pool().submit(
            self.db.fts_search,
            look.table,
            terms.fts_text(text),
            look.where,
            look.fts_pool,
            READ_COLUMNS,
            look.mode == "hybrid",
            look.match,
        )

    def _candidates(
        self,
        look: _Lookup,
        emb: Embedder | None,
        text: str,
        context_text: str,
        fts_rows: Future[list[dict]] | None,
    ) -> tuple[dict[str, retrieval.Candidate], np.ndarray | None]:
        """One query text's candidates (its nearest neighbours and full-text matches) and its vector."""
        candidates: dict[str, retrieval.Candidate] = {}
        qvec: np.ndarray | None = None
        if emb is not None:
            qvec = self._query_vector(emb, text, context_text)
            # With the vectors: the ranking compares candidates with each other (retrieval.recency).
            rows = self.db.vector_search(look.table, qvec, look.where, look.pool, VECTOR_COLUMNS, match=look.match)
            for i, row in enumerate(rows):
                candidates[row["row_key"]] = retrieval.Candidate(
                    row, 1.0 - float(row["_distance"]), reference=i < look.reference
                )
        if fts_rows is not None:
            self._with_full_text(candidates, fts_rows.result(), qvec)
        return candidates, qvec

    @staticmethod
    def _with_full_text(candidates: dict[str, retrieval.Candidate], rows: list[dict], qvec: np.ndarray | None) -> None:
        """The full-text matches join the candidates (with their BM25 score), and count as reference."""
        for row in rows:
            cand = candidates.get(row["row_key"])
            if cand is None:
                cand = candidates[row["row_key"]] = retrieval.Candidate(row, _cosine(row, qvec))
            cand.bm25 = float(row["_score"])
            cand.reference = True

    @staticmethod
    def _with_people(emb: Embedder, query_text: str, candidates: dict[str, retrieval.Candidate]) -> None:
        """Where the candidates define a person the query names ("用户的儿子叫乐乐"), the query is embedded
        once more with the name as the role and the role as the name (:func:`aliases.rewrite`), and each
        candidate's similarity is ``ALIAS_QUERY_SHARE`` that of the second query: "乐乐哪天过生日" then
        comes nearer "儿子的生日…", which never writes 乐乐."""
        if not (retrieval.ALIASES and retrieval.ALIAS_QUERY) or not candidates:
            return
        rewritten = aliases.rewrite(query_text, [c.row.get("text", "") for c in candidates.values()])
        if rewritten == query_text:
            return
        other = emb.embed_query(rewritten)
        share = retrieval.ALIAS_QUERY_SHARE
        for cand in candidates.values():
            vec = cand.row.get("vector")
            if vec is not None:
                second = float(np.asarray(vec, dtype=np.float32) @ other)
                cand.cosine = (1.0 - share) * cand.cosine + share * second

    @staticmethod
    def _query_vector(emb: Embedder, query_text: str, context_text: str) -> np.ndarray:
        qvec = emb.embed_query(query_text)
        if context_text:
            # The last user turn weighs most; earlier turns steer a little.
            blended = 0.7 * qvec + 0.3 * emb.embed_query(context_text)
            qvec = (blended / np.linalg.norm(blended)).astype(np.float32)
        return qvec

    def query_calibration(self, emb: Embedder, qvec: np.ndarray) -> retrieval.QueryCalibration:
        """Floors for this query from the built-in background sentences (embedded once per model)."""
        # Its own lock: the first search and the warm-up must not both embed the background.
        with self._background_lock:
            background = self._background.get(emb.name)
            if background is None:
                background = {lang: emb.embed_documents(list(texts)) for lang, texts in retrieval.BACKGROUND.items()}
                self._background[emb.name] = background
        return retrieval.QueryCalibration.from_background(
            {lang: (vecs @ qvec).tolist() for lang, vecs in background.items()},
            retrieval.span_for(emb.name),
            retrieval.same_subject_for(emb.name),
        )

    def _query_from(
        self, query: str | None, messages: Sequence[MessageInput | Mapping[str, Any]] | None
    ) -> tuple[str, str]:
        limit = self.settings.max_text_chars
        if query is not None and messages:
            raise InvalidArgumentError(
                "Give `query` or `messages`, not both: `query` is what to look for, `messages` the recent "
                "conversation to search from.",
                field="messages",
            )
        if query is not None:
            text = check_text(
                query, "query", limit, empty="say what to look for", too_long="Search with a short topic or question."
            )
            return text, ""
        if not messages:
            raise InvalidArgumentError(
                "Give `query` (what to look for) or `messages` (the recent conversation).", field="query"
            )
        parsed = parse_messages(messages, limit)
        users = [m.plain_text() for m in parsed if m.role == "user" and m.plain_text().strip()]
        if not users:
            raise InvalidArgumentError("`messages` has no user turn with text to search for.", field="messages")
        earlier = " ".join(m.plain_text() for m in parsed[-6:-1] if m.plain_text().strip())
        return users[-1].strip()[:limit], earlier[:limit]
