r"""LoCoMo turn retrieval: does search_memories find the dialogue turns a question's answer is in?

Every turn of each LoCoMo conversation is loaded as one memory, rendered as
``"(<session date>) <speaker>: <text>"`` plus ``" [image: <blip caption>]"`` for a shared image, with
``created_at`` the session's date and time (plus one second per turn, to keep the order) and metadata
``dia_id``. Each conversation is its own tenant (``app_id="locomo"``, ``tenant_id=<sample_id>``,
``run_id=session_<n>``), so conversations never mix: a search is scoped to its tenant with
agent_id/run_id ``*``. Each question of categories 1-4 that has evidence is asked once per mode and
its top 10 compared with the evidence turns:

- recall@k: share of the question's evidence turns in the top k, averaged over questions;
- hit@k: share of questions with at least one evidence turn in the top k;
- nDCG@10: binary relevance, ideal ranking = all evidence turns first.

Modes, all in one run over the same store (``--modes``):

- ``hybrid``: ``search_memories()`` as shipped (``mode="hybrid"``, ``rerank=True``);
- ``vector``: ``search_memories(mode="vector")``: nearest neighbours by the calibrated cosine;
- ``keyword``: ``search_memories(mode="keyword")``: the store's full-text index (BM25 over our
  ``fts_text`` terms) alone, no embedding;
- ``bm25``: a plain Okapi BM25 baseline outside mem-mcp (k1 1.2, b 0.75, lower-cased ``\w+`` tokens,
  no stemming or stop words) over the same rendered texts of the conversation.

Results are reported for all questions, and for the development split (conversations 0-4, the only
ones any default was tuned on) and the held-out split (conversations 5-9).

Memories are bulk-loaded with ``import_memories`` (embedding in batches). ``--doc-cache FILE`` keeps
the turn vectors in a file and reuses them on the next run (same model, same texts; the ingest rate
is then not measured): for iterating. Each question is embedded once and the vector reused by the
later modes (``--no-share-query-embedding`` to embed it per mode). ``--what-if`` re-runs the hybrid
search with module attributes of ``mem_mcp.retrieval`` replaced (nothing is edited).

A full run (10 conversations, 5,882 memories, 1,536 questions, 4 modes) takes about 6 minutes on a
2-core machine without the cache, half of it embedding the turns.

    .venv/bin/python bench/locomo_retrieval.py --out bench/results/locomo.json
    .venv/bin/python bench/locomo_retrieval.py --samples 2 --limit-questions 50
    .venv/bin/python bench/locomo_retrieval.py --modes hybrid --what-if 'SEMANTIC_WEIGHT=0.5,KEYWORD_WEIGHT=0.5'
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import math
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, emit_json, loadavg, log, machine, md_table, quiet_lance, rss_mib, summary_ms  # noqa: E402

quiet_lance()

import numpy as np  # noqa: E402

CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
ALL_MODES = ("hybrid", "vector", "keyword", "bm25")
SPLITS = {"dev": range(0, 5), "held-out": range(5, 10)}
TOP_K = 10
# Measured by someone else on the same task (turn retrieval, recall@10, 1,536 questions).
REFERENCE = {"BM25 (reference)": 0.543, "multilingual-e5-small (reference)": 0.537}
_EVIDENCE_RE = re.compile(r"D:?(\d+):(\d+)")
_SESSION_TIME = "%I:%M %p on %d %B, %Y"


def normalise_evidence(raw: Any) -> list[str]:
    """Evidence ids as ``D<session>:<turn>``: splits "D8:6; D9:17" and "D9:1 D4:4", fixes "D:11:26"
    and "D30:05", drops what is not an id at all ("D")."""
    out: list[str] = []
    for item in raw or []:
        for part in re.split(r"[;,\s]+", str(item)):
            m = _EVIDENCE_RE.fullmatch(part.strip())
            if m:
                dia = f"D{int(m[1])}:{int(m[2])}"
                if dia not in out:
                    out.append(dia)
    return out


def session_time(text: str) -> datetime | None:
    try:
        return datetime.strptime(text.strip(), _SESSION_TIME).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def sample_turns(sample: dict[str, Any]) -> list[dict[str, Any]]:
    """The turns of one conversation, rendered as the issue specifies."""
    conv = sample["conversation"]
    sessions = sorted(
        (int(k.split("_")[1]), v) for k, v in conv.items() if re.fullmatch(r"session_\d+", k) and isinstance(v, list)
    )
    turns = []
    for num, session in sessions:
        when = conv.get(f"session_{num}_date_time", "")
        start = session_time(when) or datetime(2000, 1, 1, tzinfo=timezone.utc)
        for i, turn in enumerate(session):
            text = f"({when}) {turn['speaker']}: {turn.get('text', '')}".strip()
            if turn.get("blip_caption"):
                text += f" [image: {turn['blip_caption']}]"
            dia = normalise_evidence([turn["dia_id"]])[0]
            turns.append(
                {"dia_id": dia, "session": num, "date_time": when, "text": text, "at": start + timedelta(seconds=i)}
            )
    return turns


def memory_records(sample_id: str, turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``import_memories`` records of one conversation: its own tenant, one run per session."""
    return [
        {
            "id": f"mem_{sample_id}_{t['dia_id'].replace(':', '_')}",
            "scope": {
                "app_id": "locomo",
                "tenant_id": sample_id,
                "agent_id": "locomo",
                "run_id": f"session_{t['session']}",
            },
            "text": t["text"],
            "type": "episodic",
            "metadata": {"dia_id": t["dia_id"], "session": t["session"]},
            "created_at": t["at"].isoformat(),
            "updated_at": t["at"].isoformat(),
            "valid_from": t["at"].isoformat(),
        }
        for t in turns
    ]


def questions(sample: dict[str, Any], dia_ids: set[str]) -> tuple[list[dict[str, Any]], list[str], int]:
    """Questions of categories 1-4 with their evidence; evidence ids that name no turn are dropped."""
    out, missing, empty = [], [], 0
    for q in sample["qa"]:
        if q.get("category") not in CATEGORIES:
            continue
        evidence = normalise_evidence(q.get("evidence"))
        missing += [f"{sample['sample_id']}:{e}" for e in evidence if e not in dia_ids]
        evidence = [e for e in evidence if e in dia_ids]
        if not evidence:
            empty += 1
            continue
        out.append({"question": str(q["question"]), "category": int(q["category"]), "evidence": evidence})
    return out, missing, empty


class BM25:
    r"""Plain Okapi BM25 (Robertson/Lucene idf), lower-cased ``\w+`` tokens, nothing else."""

    def __init__(self, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.docs = [Counter(self.tokens(t)) for t in texts]
        self.lengths = np.array([sum(d.values()) for d in self.docs], dtype=np.float64)
        self.avg = float(self.lengths.mean()) if len(self.docs) else 0.0
        df: Counter[str] = Counter()
        for d in self.docs:
            df.update(d.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}

    @staticmethod
    def tokens(text: str) -> list[str]:
        return re.findall(r"\w+", text.lower())

    def rank(self, query: str, k: int) -> list[int]:
        scores = np.zeros(len(self.docs))
        norm = self.k1 * (1 - self.b + self.b * self.lengths / self.avg)
        for term in set(self.tokens(query)):
            idf = self.idf.get(term)
            if idf is None:
                continue
            tf = np.array([d.get(term, 0) for d in self.docs], dtype=np.float64)
            scores += idf * tf * (self.k1 + 1) / (tf + norm)
        order = np.argsort(-scores, kind="stable")
        return [int(i) for i in order[:k] if scores[i] > 0]


def metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Recall@1/5/10, hit@10 and nDCG@10 (binary relevance) averaged over questions."""
    out: dict[str, Any] = {"n": len(rows)}
    if not rows:
        return out
    for k in (1, 5, 10):
        out[f"recall@{k}"] = round(
            float(np.mean([len(set(r["ranked"][:k]) & set(r["evidence"])) / len(r["evidence"]) for r in rows])), 4
        )
    out["hit@10"] = round(float(np.mean([1.0 if set(r["ranked"][:10]) & set(r["evidence"]) else 0.0 for r in rows])), 4)
    ndcg = []
    for r in rows:
        ev = set(r["evidence"])
        dcg = sum(1.0 / math.log2(i + 2) for i, d in enumerate(r["ranked"][:10]) if d in ev)
        ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(ev), 10)))
        ndcg.append(dcg / ideal)
    out["ndcg@10"] = round(float(np.mean(ndcg)), 4)
    return out


class SharedQueryEmbedder:
    """Wraps the service's embedder: remembers the last query vector, so the modes after the first one
    for a question do not embed it again (the ranking is unchanged; their latency then leaves out the
    query embedding), and optionally serves document vectors from a cache file."""

    def __init__(self, inner: Any, cache: dict[str, np.ndarray] | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.enabled = True
        self.cache = cache
        self.cache_hits = 0
        self._last: tuple[str, Any] | None = None

    @property
    def dim(self) -> int:
        return int(self.inner.dim)

    def load(self) -> None:
        self.inner.load()

    def embed_documents(self, texts: Any) -> Any:
        if self.cache is None:
            return self.inner.embed_documents(texts)
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if todo:
            for t, v in zip(todo, self.inner.embed_documents(todo)):
                self.cache[t] = v
        self.cache_hits += len(texts) - len(todo)
        return np.stack([self.cache[t] for t in texts]) if texts else self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> Any:
        if self.enabled and self._last is not None and self._last[0] == text:
            return self._last[1]
        vec = self.inner.embed_query(text)
        self._last = (text, vec)
        return vec


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def load_cache(path: Path, texts: list[str]) -> dict[str, np.ndarray]:
    if not path.exists():
        return {}
    data = np.load(path)
    by_key = dict(zip(data["keys"].tolist(), data["vectors"]))
    return {t: by_key[_key(t)] for t in texts if _key(t) in by_key}


def save_cache(path: Path, cache: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = np.array([_key(t) for t in cache])
    np.savez(path, keys=keys, vectors=np.stack(list(cache.values())).astype(np.float32))


def parse_what_if(specs: list[str], retrieval: Any, ap: argparse.ArgumentParser) -> dict[str, dict[str, Any]]:
    what_if: dict[str, dict[str, Any]] = {}
    for spec in specs:
        changes: dict[str, Any] = {}
        for part in re.split(r",(?=\s*[A-Za-z_]\w*\s*=)", spec):
            name, _, value = part.partition("=")
            name = name.strip()
            if not hasattr(retrieval, name):
                ap.error(f"--what-if: mem_mcp.retrieval has no attribute {name!r}")
            changes[name] = ast.literal_eval(value.strip())
        what_if[f"hybrid {spec}"] = changes
    return what_if


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "bench" / "locomo10.json"))
    ap.add_argument("--samples", type=int, default=None, help="only the first N conversations")
    ap.add_argument("--limit-questions", type=int, default=None, help="at most N questions per conversation")
    ap.add_argument("--modes", default=",".join(ALL_MODES), help=f"comma list of {ALL_MODES}")
    ap.add_argument("--doc-cache", type=Path, default=None, help="npz file of turn vectors, reused across runs")
    ap.add_argument(
        "--share-query-embedding",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="embed each question once and reuse it across modes (the first mode's latency includes it)",
    )
    ap.add_argument(
        "--what-if",
        action="append",
        default=[],
        metavar="NAME=VALUE[,NAME=VALUE]",
        help="an extra hybrid mode with module attributes of mem_mcp.retrieval replaced for its searches "
        "(Python literals), e.g. --what-if 'SEMANTIC_WEIGHT=0.5,KEYWORD_WEIGHT=0.5'; repeatable",
    )
    ap.add_argument("--embedding-model", default=None, help="MEM_MCP_EMBEDDING_MODEL for this run (default: auto)")
    ap.add_argument("--out", default=None, help="also write the JSON result here (e.g. bench/results/locomo.json)")
    args = ap.parse_args(argv)

    from mem_mcp import MemoryService, Settings, retrieval
    from mem_mcp.embeddings import make_embedder

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(modes) - set(ALL_MODES)
    if unknown:
        ap.error(f"unknown modes {sorted(unknown)}")
    what_if = parse_what_if(args.what_if, retrieval, ap)
    modes += list(what_if)

    data = json.loads(Path(args.data).read_text(encoding="utf-8"))
    if args.samples:
        data = data[: args.samples]

    info = machine()
    started = time.perf_counter()
    tmp = tempfile.TemporaryDirectory(prefix="mem-mcp-locomo-")
    settings = Settings(
        data_dir=Path(tmp.name),
        _env_file=None,
        **({"embedding_model": args.embedding_model} if args.embedding_model else {}),
    )
    all_turns = {s["sample_id"]: sample_turns(s) for s in data}
    cache = None
    if args.doc_cache:
        cache = load_cache(args.doc_cache, [t["text"] for ts in all_turns.values() for t in ts])
        log(f"[cache] {len(cache)} turn vectors from {args.doc_cache}")
    shared = SharedQueryEmbedder(make_embedder(settings.embedding_model, settings.model_cache_dir), cache)
    shared.enabled = args.share_query_embedding
    svc = MemoryService(settings, embedder=shared)
    t0 = time.perf_counter()
    svc.warm_up()
    warm_s = time.perf_counter() - t0
    emb = svc.embedder

    # -- load ------------------------------------------------------------------------------------
    ingest_s = 0.0
    n_mem = 0
    for sid, turns in all_turns.items():
        records = memory_records(sid, turns)
        t0 = time.perf_counter()
        written = svc.import_memories(records)
        dt = time.perf_counter() - t0
        ingest_s += dt
        n_mem += written
        log(f"[load] {sid}: {written} memories in {dt:.1f}s ({written / dt:.0f}/s)")
    rss_after_load = rss_mib()
    if args.doc_cache and cache is not None:
        save_cache(args.doc_cache, cache)

    # -- questions -------------------------------------------------------------------------------
    ranked: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    times: dict[str, list[float]] = {m: [] for m in modes}
    skipped_ids: list[str] = []
    skipped_questions = 0
    n_questions = 0
    for index, sample in enumerate(data):
        sid = sample["sample_id"]
        turns = all_turns[sid]
        qs, missing, empty = questions(sample, {t["dia_id"] for t in turns})
        skipped_ids += missing
        skipped_questions += empty
        if args.limit_questions is not None:
            qs = qs[: args.limit_questions]
        n_questions += len(qs)
        bm25 = BM25([t["text"] for t in turns]) if "bm25" in modes else None
        scope = {"app_id": "locomo", "tenant_id": sid}
        split = next(name for name, idx in SPLITS.items() if index in idx) if index < 10 else "other"
        for q in qs:
            base = {"sample": sid, "split": split, "category": q["category"], "evidence": q["evidence"]}
            for mode in modes:
                t0 = time.perf_counter()
                if mode == "bm25":
                    assert bm25 is not None
                    found = [turns[i]["dia_id"] for i in bm25.rank(q["question"], TOP_K)]
                else:
                    changes = what_if.get(mode, {})
                    saved = {k: getattr(retrieval, k) for k in changes}
                    for k, v in changes.items():
                        setattr(retrieval, k, v)
                    try:
                        res = svc.search_memories(
                            query=q["question"],
                            scope=scope,
                            top_k=TOP_K,
                            mode="hybrid" if mode in what_if else mode,
                        )
                    finally:
                        for k, v in saved.items():
                            setattr(retrieval, k, v)
                    found = [h.memory.metadata.get("dia_id") for h in res.results]
                times[mode].append(time.perf_counter() - t0)
                ranked[mode].append({**base, "ranked": found})
        log(f"[search] {sid}: {len(qs)} questions")

    # -- scores ----------------------------------------------------------------------------------
    results: dict[str, Any] = {}
    for mode in modes:
        rows = ranked[mode]
        entry: dict[str, Any] = {"all": metrics(rows), "latency": summary_ms(times[mode]) if mode != "bm25" else None}
        for split in SPLITS:
            entry[split] = metrics([r for r in rows if r["split"] == split])
        entry["by_category"] = {
            name: metrics([r for r in rows if r["category"] == cat]) for cat, name in CATEGORIES.items()
        }
        entry["held-out_by_category"] = {
            name: metrics([r for r in rows if r["category"] == cat and r["split"] == "held-out"])
            for cat, name in CATEGORIES.items()
        }
        results[mode] = entry

    cols = ["recall@1", "recall@5", "recall@10", "hit@10", "ndcg@10"]
    print(
        f"\nLoCoMo turn retrieval: {len(data)} conversations, {n_mem} memories, {n_questions} questions "
        f"(categories 1-4); {emb.name}\n"
    )
    for split in ("all", *SPLITS):
        rows_md = []
        for mode in modes:
            r = results[mode][split]
            lat = results[mode]["latency"] or {}
            rows_md.append(
                [mode, r.get("n", 0), *(r.get(c, "-") for c in cols), lat.get("p50_ms", "-"), lat.get("p95_ms", "-")]
            )
        if split == "all" and args.samples is None and args.limit_questions is None:
            for name, value in REFERENCE.items():
                rows_md.append([name, "", "", "", value, "", "", "", ""])
        print(f"**{split}**\n")
        print(md_table(["mode", "questions", "R@1", "R@5", "R@10", "hit@10", "nDCG@10", "p50 ms", "p95 ms"], rows_md))
        print()
    for key, title in (("by_category", "all"), ("held-out_by_category", "held-out")):
        cat_rows = []
        for cat, name in CATEGORIES.items():
            n = results[modes[0]][key][name].get("n", 0)
            cat_rows.append(
                [
                    f"{cat} {name}",
                    n,
                    *(
                        f"{results[m][key][name].get('recall@10', float('nan')):.3f} / {results[m][key][name].get('ndcg@10', float('nan')):.3f}"
                        for m in modes
                    ),
                ]
            )
        print(f"**R@10 / nDCG@10 by category ({title})**\n")
        print(md_table(["category", "questions", *modes], cat_rows))
        print()
    if shared.enabled and len([m for m in modes if m not in ("keyword", "bm25")]) > 1:
        print(
            f"(Each question is embedded once, by the first embedding mode ({modes[0]}); the latency of the "
            "later modes leaves the query embedding out.)\n"
        )
    cached = bool(cache is not None and shared.cache_hits)
    ingest_rate = n_mem / ingest_s if ingest_s else float("nan")
    print(
        f"Load: {n_mem} memories in {ingest_s:.1f} s ({'vectors from the cache' if cached else f'{ingest_rate:.0f}/s'}); "
        f"RSS after load {rss_after_load} MiB; warm-up {warm_s:.2f} s; wall {time.perf_counter() - started:.0f} s"
    )
    if skipped_ids or skipped_questions:
        print(
            f"\nEvidence ids not found (skipped): {skipped_ids}; questions left without evidence: {skipped_questions}"
        )
    print()
    emit_json(
        "locomo_retrieval",
        {
            "machine": {**info, "loadavg_end": loadavg()},
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "model": emb.name,
            "samples": len(data),
            "memories": n_mem,
            "questions": n_questions,
            "skipped_evidence_ids": skipped_ids,
            "skipped_questions": skipped_questions,
            "ingest": {"seconds": round(ingest_s, 2), "memories_per_s": None if cached else round(ingest_rate, 1)},
            "warm_up_s": round(warm_s, 2),
            "rss_after_load_mib": rss_after_load,
            "results": results,
            "reference_recall@10": REFERENCE,
            "wall_s": round(time.perf_counter() - started, 1),
        },
        args.out,
    )
    svc.close()  # writes the request log out before its directory goes
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
