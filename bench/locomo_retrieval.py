"""LoCoMo turn retrieval: does search_memories find the dialogue turns a question's answer is in?

Every turn of each LoCoMo conversation is loaded as one memory (``"<speaker>: <text>"``, plus
``" [image: <blip caption>]"`` for shared images; metadata ``dia_id``). Each sample is its own tenant
(``app_id="locomo"``, ``tenant_id=<sample_id>``, ``run_id=session_<n>``), so samples never mix: a
search is scoped to the sample's tenant with agent_id/run_id ``*``. For each question of categories
1-4 that has evidence, the top 10 results are compared with the evidence turns:

- recall@k: fraction of the question's evidence turns in the top k, averaged over questions;
- any-hit@k: fraction of questions with at least one evidence turn in the top k.

Modes (``--modes``):

- ``hybrid``: ``search_memories(rerank=True)``, the default ranking (calibrated cosine blended with
  query-term coverage);
- ``semantic``: ``search_memories(rerank=False)``, calibrated cosine only;
- ``keyword``: the store's full-text (BM25) search alone, on the same ``fts_text`` column the service
  uses; no embedding;
- ``e5raw``: the query embedding dotted with the stored vectors in numpy, no calibration: the plain
  multilingual-e5-small ranking, as a check on ``semantic`` (a calibration that clamps or shifts
  scores per memory can reorder results; one that only rescales cannot).

Memories are bulk-loaded with ``import_memories`` (embedding in batches of 64); add_memories one by
one would take much longer and is timed in bench/latency.py instead. Each question is embedded once
and the vector reused by the later modes (``--no-share-query-embedding`` to embed it per mode): the
rankings are the same either way, and the run takes about half as long. After loading, the table is
compacted and its full-text index built (``Database.optimize()``; recent versions of
``import_memories`` do this themselves, then it costs nothing): ``--no-optimize`` searches the store
as an import that does not optimize leaves it: slower (see bench/latency.py), and keyword ranks shift
a little, since LanceDB scores unindexed rows by a flat BM25 scan.

A full run (10 samples, 5,882 memories, 1,536 questions) takes about 5 minutes on a 2-core machine,
about half of it embedding the turns; when other processes share the cores it can take 2-3x that.

What-if modes re-run the hybrid search with module attributes of ``mem_mcp.retrieval`` replaced
(nothing is edited): ``--what-if 'SEMANTIC_WEIGHT=0.5,KEYWORD_WEIGHT=0.5'`` or
``--what-if-weights '0.6,0.4;0.5,0.5'``. They are tuned on the test set, so read them as directions.

    .venv/bin/python bench/locomo_retrieval.py                      # all 10 samples, all modes
    .venv/bin/python bench/locomo_retrieval.py --samples 2 --limit-questions 50
    .venv/bin/python bench/locomo_retrieval.py --modes hybrid --what-if-weights '0.6,0.4;0.5,0.5'
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, emit_json, loadavg, log, machine, md_table, quiet_lance, rss_mib, summary_ms  # noqa: E402

quiet_lance()

import numpy as np  # noqa: E402

CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
ALL_MODES = ("hybrid", "semantic", "keyword", "e5raw")
KS = (1, 5, 10)
# Measured by someone else on the same task (turn retrieval, recall@10, 1,536 questions).
REFERENCE = {"BM25 (reference)": 0.543, "multilingual-e5-small (reference)": 0.537}
_EVIDENCE_RE = re.compile(r"D:?(\d+):(\d+)")


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


def sample_turns(sample: dict[str, Any]) -> list[dict[str, Any]]:
    conv = sample["conversation"]
    sessions = sorted(
        (int(k.split("_")[1]), v) for k, v in conv.items() if re.fullmatch(r"session_\d+", k) and isinstance(v, list)
    )
    turns = []
    for num, session in sessions:
        when = conv.get(f"session_{num}_date_time", "")
        for turn in session:
            text = f"{turn['speaker']}: {turn.get('text', '')}".strip()
            if turn.get("blip_caption"):
                text += f" [image: {turn['blip_caption']}]"
            dia = normalise_evidence([turn["dia_id"]])[0]
            turns.append({"dia_id": dia, "session": num, "date_time": when, "text": text})
    return turns


class SharedQueryEmbedder:
    """Wraps the service's embedder and remembers the last query vector, so the modes after the first
    one for a question do not embed it again (the ranking is unchanged; their latency then leaves out
    the query embedding). Documents go straight through."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.enabled = True
        self._last: tuple[str, Any] | None = None

    @property
    def dim(self) -> int:
        return int(self.inner.dim)

    def load(self) -> None:
        self.inner.load()

    def embed_documents(self, texts: Any) -> Any:
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> Any:
        if self.enabled and self._last is not None and self._last[0] == text:
            return self._last[1]
        vec = self.inner.embed_query(text)
        self._last = (text, vec)
        return vec


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "bench" / "locomo10.json"))
    ap.add_argument("--samples", type=int, default=None, help="only the first N samples")
    ap.add_argument("--limit-questions", type=int, default=None, help="at most N questions per sample")
    ap.add_argument("--modes", default=",".join(ALL_MODES), help=f"comma list of {ALL_MODES}")
    ap.add_argument("--top-k", type=int, default=10)
    ap.add_argument(
        "--optimize", action=argparse.BooleanOptionalAction, default=True,
        help="compact the table and build its full-text index after loading (import_memories leaves one "
        "fragment per 64 rows and an unbuilt index until the 100th write); --no-optimize searches it as left",
    )
    ap.add_argument(
        "--share-query-embedding", action=argparse.BooleanOptionalAction, default=True,
        help="embed each question once and reuse it across modes (the first mode's latency includes it)",
    )
    ap.add_argument(
        "--what-if", action="append", default=[], metavar="NAME=VALUE[,NAME=VALUE]",
        help="an extra hybrid mode with module attributes of mem_mcp.retrieval replaced for its searches "
        "(Python literals), e.g. --what-if 'SEMANTIC_WEIGHT=0.5,KEYWORD_WEIGHT=0.5' or "
        "--what-if \"_SPANS={'e5': 0.10}\"; repeatable",
    )
    ap.add_argument(
        "--what-if-weights", default=None, metavar="S,K;S,K",
        help="extra hybrid modes, one per (SEMANTIC_WEIGHT, KEYWORD_WEIGHT) of the fusion, e.g. '0.5,0.5'",
    )
    ap.add_argument("--out", default=None, help="also write the JSON result here (e.g. bench/results/locomo.json)")
    args = ap.parse_args()

    import json

    from mem_mcp import MemoryService, Settings, retrieval
    from mem_mcp.embeddings import make_embedder
    from mem_mcp.filters import sql_string
    from mem_mcp.service import _READ_COLUMNS

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(modes) - set(ALL_MODES)
    if unknown:
        ap.error(f"unknown modes {sorted(unknown)}")
    # label -> {module attribute of retrieval: value}, set around each search of that mode.
    what_if: dict[str, dict[str, Any]] = {}
    for spec in args.what_if:
        changes: dict[str, Any] = {}
        for part in re.split(r",(?=\s*[A-Za-z_]\w*\s*=)", spec):
            name, _, value = part.partition("=")
            name = name.strip()
            if not hasattr(retrieval, name):
                ap.error(f"--what-if: mem_mcp.retrieval has no attribute {name!r}")
            changes[name] = ast.literal_eval(value.strip())
        what_if[f"hybrid {spec}"] = changes
    for spec in (args.what_if_weights or "").split(";"):
        if spec.strip():
            sw, kw = (float(x) for x in spec.split(","))
            what_if[f"hybrid weights({sw},{kw})"] = {"SEMANTIC_WEIGHT": sw, "KEYWORD_WEIGHT": kw}
    modes += list(what_if)
    top_k = args.top_k
    ks = tuple(sorted({k for k in KS if k <= top_k} | {top_k}))

    data = json.loads(Path(args.data).read_text(encoding="utf-8"))
    if args.samples:
        data = data[: args.samples]

    info = machine()
    tmp = tempfile.TemporaryDirectory(prefix="mem-mcp-locomo-")
    settings = Settings(data_dir=Path(tmp.name))
    shared = SharedQueryEmbedder(make_embedder(settings.embedding_model, settings.model_cache_dir))
    shared.enabled = args.share_query_embedding
    svc = MemoryService(settings, embedder=shared)
    started = time.perf_counter()
    t0 = time.perf_counter()
    svc.warm_up()
    warm_s = time.perf_counter() - t0
    emb = svc.embedder
    _, table, _ = svc._table_of("default")

    # -- load ------------------------------------------------------------------------------------
    ingest_s = 0.0
    n_mem = 0
    per_sample: list[dict[str, Any]] = []
    for sample in data:
        sid = sample["sample_id"]
        turns = sample_turns(sample)
        records = [
            {
                "id": f"mem_{sid}_{t['dia_id'].replace(':', '_')}",
                "version": 1,
                "scope": {"app_id": "locomo", "tenant_id": sid, "agent_id": "locomo", "run_id": f"session_{t['session']}"},
                "text": t["text"],
                "type": "fact",
                "metadata": {"dia_id": t["dia_id"], "session": t["session"], "date_time": t["date_time"]},
                "tags": [],
                "status": "active",
            }
            for t in turns
        ]
        t0 = time.perf_counter()
        written = svc.import_memories(records)
        dt = time.perf_counter() - t0
        ingest_s += dt
        n_mem += written
        per_sample.append({"sample_id": sid, "turns": len(turns), "dia_ids": {t["dia_id"] for t in turns}})
        log(f"[load] {sid}: {written} memories in {dt:.1f}s ({written / dt:.0f}/s)")
    optimize_s = None
    if args.optimize:
        t0 = time.perf_counter()
        svc.db.optimize(table)
        optimize_s = time.perf_counter() - t0
        log(f"[load] optimize() {optimize_s:.2f}s")
    rss_after_load = rss_mib()

    # -- questions -------------------------------------------------------------------------------
    hits: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    times: dict[str, list[float]] = {m: [] for m in modes}
    skipped_ids: list[str] = []
    skipped_questions = 0
    oracle: list[dict[str, Any]] = []
    for sample, meta in zip(data, per_sample):
        sid = sample["sample_id"]
        scope = {"app_id": "locomo", "tenant_id": sid}
        where = f"app_id = 'locomo' AND tenant_id = {sql_string(sid)} AND status = 'active'"
        if "e5raw" in modes:
            arrow = svc.db.arrow(table, where, ["metadata", "vector"])
            mat = np.asarray(arrow.column("vector").to_pylist(), dtype=np.float32)
            mat_ids = [json.loads(m)["dia_id"] for m in arrow.column("metadata").to_pylist()]
        qs = [q for q in sample["qa"] if q.get("category") in CATEGORIES]
        done = 0
        for q in qs:
            if args.limit_questions is not None and done >= args.limit_questions:
                break
            evidence = normalise_evidence(q.get("evidence"))
            missing = [e for e in evidence if e not in meta["dia_ids"]]
            skipped_ids += [f"{sid}:{e}" for e in missing]
            evidence = [e for e in evidence if e in meta["dia_ids"]]
            if not evidence:
                skipped_questions += 1
                continue
            done += 1
            question = str(q["question"])
            base = {"sample": sid, "category": q["category"], "evidence": evidence}
            oracle.append({**base, "ranked": evidence + ["-"] * top_k})
            for mode in modes:
                t0 = time.perf_counter()
                if mode in what_if:
                    saved = {k: getattr(retrieval, k) for k in what_if[mode]}
                    for k, v in what_if[mode].items():
                        setattr(retrieval, k, v)
                    try:
                        res = svc.search_memories(query=question, scope=scope, top_k=top_k, rerank=True)
                    finally:
                        for k, v in saved.items():
                            setattr(retrieval, k, v)
                    ranked = [h.memory.metadata.get("dia_id") for h in res.results]
                elif mode in ("hybrid", "semantic"):
                    res = svc.search_memories(query=question, scope=scope, top_k=top_k, rerank=mode == "hybrid")
                    ranked = [h.memory.metadata.get("dia_id") for h in res.results]
                elif mode == "keyword":
                    rows = svc.db.fts_search(table, retrieval.fts_text(question), where, top_k, _READ_COLUMNS)
                    ranked = [json.loads(r["metadata"])["dia_id"] for r in rows]
                else:  # e5raw
                    qv = emb.embed_query(question)
                    order = np.argsort(-(mat @ qv), kind="stable")[:top_k]
                    ranked = [mat_ids[i] for i in order]
                times[mode].append(time.perf_counter() - t0)
                hits[mode].append({**base, "ranked": ranked})
        log(f"[search] {sid}: {done} questions")

    # -- scores ----------------------------------------------------------------------------------
    def score(rows: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {"n": len(rows)}
        for k in ks:
            rec = [len(set(r["ranked"][:k]) & set(r["evidence"])) / len(r["evidence"]) for r in rows]
            anyh = [1.0 if set(r["ranked"][:k]) & set(r["evidence"]) else 0.0 for r in rows]
            out[f"recall@{k}"] = round(float(np.mean(rec)), 4) if rows else float("nan")
            out[f"any@{k}"] = round(float(np.mean(anyh)), 4) if rows else float("nan")
        return out

    results: dict[str, Any] = {}
    for mode in ["oracle", *modes]:
        rows = oracle if mode == "oracle" else hits[mode]
        entry = score(rows)
        entry["by_category"] = {}
        for cat, name in CATEGORIES.items():
            sub = [r for r in rows if r["category"] == cat]
            entry["by_category"][name] = {"n": len(sub), f"recall@{top_k}": score(sub)[f"recall@{top_k}"]}
        if mode != "oracle":
            entry["latency"] = summary_ms(times[mode])
        results[mode] = entry

    n_q = len(oracle)
    kk = ks[-1]
    rows_md = []
    for mode in ["oracle", *modes]:
        r = results[mode]
        lat = r.get("latency", {})
        rows_md.append(
            [mode, *(r[f"recall@{k}"] for k in ks), *(r[f"any@{k}"] for k in ks),
             lat.get("p50_ms", "-"), lat.get("p95_ms", "-")]
        )
    for name, value in (REFERENCE.items() if top_k == 10 else ()):
        rows_md.append([name, *(["-"] * (len(ks) - 1)), value, *(["-"] * len(ks)), "-", "-"])
    if hasattr(retrieval, "QueryCalibration") and hasattr(retrieval, "span_for"):
        scoring = f"per-query floors (retrieval.BACKGROUND), span {retrieval.span_for(emb.name)}"
    else:
        cal = retrieval.calibration_for(emb.name)
        scoring = f"Calibration({cal.floor}, {cal.ceiling})"
    print(f"\nLoCoMo turn retrieval: {len(data)} samples, {n_mem} memories, {n_q} questions (categories 1-4); "
          f"{emb.name}; semantic scores: {scoring}\n")
    print(md_table(
        ["mode", *(f"R@{k}" for k in ks), *(f"any@{k}" for k in ks), "search p50 ms", "search p95 ms"], rows_md
    ))
    embedders = [m for m in modes if m != "keyword"]
    if args.share_query_embedding and len(embedders) > 1:
        print(f"\n(Each question is embedded once, by {embedders[0]}; the latency of "
              f"{', '.join(embedders[1:])} leaves the query embedding out.)")
    print()
    cat_rows = []
    for cat, name in CATEGORIES.items():
        cat_rows.append(
            [f"{cat} {name}", results["oracle"]["by_category"][name]["n"],
             *(results[m]["by_category"][name][f"recall@{top_k}"] for m in modes)]
        )
    cat_rows.append(["all", n_q, *(results[m][f"recall@{kk}"] for m in modes)])
    print(md_table(["category", "questions", *(f"{m} R@{kk}" for m in modes)], cat_rows))
    print()
    ingest_rate = n_mem / ingest_s if ingest_s else float("nan")
    print(md_table(
        ["ingest (import_memories)", "memories/s", "optimize() after load s", "model warm-up s", "RSS after load MiB",
         "total wall s"],
        [[f"{n_mem} memories in {ingest_s:.1f}s", round(ingest_rate, 1),
          "skipped" if optimize_s is None else round(optimize_s, 2), round(warm_s, 2), rss_after_load,
          round(time.perf_counter() - started, 1)]],
    ))
    if skipped_ids or skipped_questions:
        print(f"\nEvidence ids not found (skipped): {skipped_ids}; questions left without evidence: {skipped_questions}")
    print()
    emit_json(
        "locomo_retrieval",
        {
            "machine": {**info, "loadavg_end": loadavg()},
            "args": vars(args),
            "samples": len(data),
            "memories": n_mem,
            "questions": n_q,
            "skipped_evidence_ids": skipped_ids,
            "skipped_questions": skipped_questions,
            "ingest": {"seconds": round(ingest_s, 2), "memories_per_s": round(ingest_rate, 1)},
            "semantic_scoring": scoring,
            "optimize_s": round(optimize_s, 3) if optimize_s is not None else None,
            "warm_up_s": round(warm_s, 2),
            "rss_after_load_mib": rss_after_load,
            "results": results,
            "reference_recall@10": REFERENCE,
            "wall_s": round(time.perf_counter() - started, 1),
        },
        args.out,
    )
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
