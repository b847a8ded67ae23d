"""Latency and scale: search, get/update/delete, ingestion and disk at 10k-100k memories, and where an ANN
index starts to pay.

The store holds synthetic memories from templates (latency.py's names, places, foods, dates, about 30%
Chinese), lengthened with a second clause half of the time (20-150 characters, median ~60), spread over
``--tenants`` tenants with Zipf-like sizes (the largest holds ~30%), 3 agents and 8 runs each, two
years of ``created_at``. How the vectors are made, honestly:

- ``--real`` distinct texts (default 10,000) are embedded for real with the default embedder
  (``--vector-cache FILE`` keeps them between runs);
- memory ``i`` beyond those is a variant of base text ``i mod real``: the same sentence with its own
  serial number, and the base vector plus Gaussian noise (sigma ``--noise`` per dimension, default
  0.02, about 0.93 cosine to the base), renormalised: a near-paraphrase, as in a real store.

The store is written in batches of 5,000 rows built by the service's own row builder, then
``Database.optimize()`` (compaction, full-text index, and the ANN index if the store is past
``ANN_INDEX_MIN_ROWS``) as the service leaves it after an import; that time is reported. At each size:

- ``search_memories`` p50/p95/p99 (distinct queries, so each includes its query embedding; plus a
  repeated query, served by the query-embedding cache) in the largest and in a median tenant: agent/run
  ``*``, a concrete run, ``types``, a metadata filter, tags + ``created_at``;
- get_memory / update_memory (new text: re-embedded) / delete_memory latency;
- the ANN study: for both tenants, exact top 10 (numpy over the tenant's vectors) vs LanceDB's flat
  scan (``bypass_vector_index``) vs the IVF_HNSW_SQ index (built here if absent; build time
  reported): latency and recall@10 against exact;
- the same ANN study through the resident vectors (resident.py: the tenant's vectors in memory, an
  exact scan, then the rows by ``row_key``);
- with ``--ab``: before/after in one run. The store is copied, the copy given the previous code's
  defaults (B-tree indexes on every scope column, no resident vectors), and every search case runs on
  both, query by query, alternating which goes first; the query embeddings are computed once before
  (cached for both), so the figures are the search without the model;
- disk per memory (the table directory over its rows) and RSS.

Ingestion is timed on a separate store: ``add_memories(text=...)`` one by one, ``import_memories``
(batched), and, to split the batched rate, the embedding alone and the write alone (vectors given).

    .venv/bin/python bench/scale.py --out bench/results/scale.json          # 10k, 100k
    .venv/bin/python bench/scale.py --sizes 2000 --real 500 --searches 20   # quick look
    .venv/bin/python bench/scale.py --sizes 1000000 --keep /tmp/s1m ...     # keep the store (ann_params.py)
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency import _slots, make_memory, make_queries  # noqa: E402

from _common import emit_json, loadavg, log, machine, md_table, percentile, quiet_lance, rss_mib  # noqa: E402

quiet_lance()

import numpy as np  # noqa: E402

EN_DETAILS = [
    " {name} recommended it after a long conversation about {hobby}.",
    " It came up again while planning the weekend in {city}.",
    " They mentioned it twice, so it seems important to them.",
    " This was confirmed in {month} {year}, and nothing has changed since.",
    " The user added that {name2} feels the same way.",
]
ZH_DETAILS = ["这是{cname}在聊{chobby}的时候提到的。", "{mon}月在{ccity}的时候又说了一次。", "用户说这件事对他很重要。"]
QUERY_PREFIXES = ["", "Remind me: ", "Do you know ", "Quick question: ", "I forgot, ", "请问", "你还记得", "Hey, "]
QUERY_SUFFIXES = ["", " please", " again", " thanks", "，谢谢", " (for the notes)", " today"]
SCOPE_AGENTS = ("desktop", "mobile", "cli")
RUNS_PER_TENANT = 8
CASES: dict[str, dict[str, Any]] = {
    "agent/run *": {},
    "concrete run": {"scope_extra": {"agent_id": "desktop", "run_id": "run-0"}},
    "types=[preference]": {"types": ["preference"]},
    "metadata.lang=zh": {"filter": {"metadata.lang": "zh"}},
    "tags $in + created_at $gte": {},  # filled in with a date relative to now
}


def tenant_weights(n: int) -> list[float]:
    raw = [1.0 / (i + 1) ** 1.1 for i in range(n)]
    total = sum(raw)
    return [r / total for r in raw]


def base_text(rng: random.Random, i: int, now: datetime) -> dict[str, Any]:
    rec = make_memory(rng, i, {}, now)
    zh = rec["metadata"]["lang"] == "zh"
    if rng.random() < 0.5:
        detail = rng.choice(ZH_DETAILS if zh else EN_DETAILS).format(**_slots(rng))
        text = rec["text"]
        serial_at = text.rfind("（记录" if zh else " (note")
        rec["text"] = text[:serial_at] + detail + text[serial_at:]
    return rec


def variant(text: str, i: int) -> str:
    """The base text with memory i's own serial."""
    if text.endswith("）"):
        return text[: text.rfind("（记录")] + f"（记录{i}）"
    return text[: text.rfind(" (note")] + f" (note {i})"


def unique_queries(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    seen: dict[str, None] = {}
    while len(seen) < n:
        for q in make_queries(rng, 50):
            seen[rng.choice(QUERY_PREFIXES) + q + rng.choice(QUERY_SUFFIXES)] = None
    out = list(seen)[:n]
    rng.shuffle(out)
    return out


def embed_bases(emb: Any, texts: list[str], cache_path: Path | None) -> tuple[np.ndarray, float | None]:
    """Vectors of the base texts (from the cache file where it has them) and the embedding rate."""
    import hashlib

    keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
    cached: dict[str, np.ndarray] = {}
    if cache_path and cache_path.exists():
        data = np.load(cache_path)
        cached = dict(zip(data["keys"].tolist(), data["vectors"]))
    todo = [i for i, k in enumerate(keys) if k not in cached]
    rate = None
    if todo:
        t0 = time.perf_counter()
        for start in range(0, len(todo), 256):
            idx = todo[start : start + 256]
            for i, vec in zip(idx, emb.embed_documents([texts[i] for i in idx])):
                cached[keys[i]] = vec
            log(f"[embed] {min(start + 256, len(todo))}/{len(todo)}")
        rate = len(todo) / (time.perf_counter() - t0)
        if cache_path:
            cache_path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache_path, keys=np.array(list(cached)), vectors=np.stack(list(cached.values())))
    return np.stack([cached[k] for k in keys]).astype(np.float32), rate


def stats_ms(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), **{f"p{q}_ms": round(percentile(ms, q), 2) for q in (50, 95, 99)}}


_SERVER_RSS = r"""
import os, sys
os.environ.setdefault("LANCE_LOG", "error")
from mem_mcp import MemoryService, Settings
svc = MemoryService(Settings(data_dir=sys.argv[1], _env_file=None))
svc.warm_up()
for i in range(20):
    svc.search_memories(query=f"what does the user like to eat {i}", scope={"app_id": "bench", "tenant_id": sys.argv[2]})
svc.db.resident.wait_idle()  # the tenant's memories read into memory (resident.py), if they fit
for i in range(5):
    svc.search_memories(query=f"what does the user like to drink {i}", scope={"app_id": "bench", "tenant_id": sys.argv[2]})
for line in open("/proc/self/status"):
    if line.startswith("VmRSS:"):
        print(int(line.split()[1]) / 1024)
"""


def server_rss(data_dir: Path, tenant: str) -> float | None:
    """RSS of a fresh process that opens the store, loads the model and answers 25 searches (with the
    tenant's memories resident where they fit the default budget): what a server holds idle after
    serving this store (the benchmark process itself holds much more)."""
    import subprocess

    out = subprocess.run([sys.executable, "-c", _SERVER_RSS, str(data_dir), tenant], capture_output=True, text=True)
    try:
        return round(float(out.stdout.strip().splitlines()[-1]), 1)
    except (ValueError, IndexError):
        log(f"[rss] failed: {out.stderr[-500:]}")
        return None


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000", help="store sizes, ascending (the store grows)")
    ap.add_argument("--real", type=int, default=10_000, help="distinct texts embedded for real")
    ap.add_argument("--noise", type=float, default=0.02, help="per-dimension sigma of the variants' vectors")
    ap.add_argument("--tenants", type=int, default=20)
    ap.add_argument("--searches", type=int, default=100, help="distinct queries per search case and tenant")
    ap.add_argument("--ops", type=int, default=30, help="get/update/delete calls per size")
    ap.add_argument("--ann-queries", type=int, default=50)
    ap.add_argument("--wide-nprobes", type=int, default=60, help="IVF partitions probed by the study's wider variant")
    ap.add_argument("--ingest", type=int, default=1000, help="memories for the batched ingestion test")
    ap.add_argument("--ingest-single", type=int, default=100, help="add_memories calls for the single-add test")
    ap.add_argument("--vector-cache", type=Path, default=None, help="npz of base-text vectors, reused across runs")
    ap.add_argument("--ab", action="store_true", help="also run the search cases on a copy with the previous defaults")
    ap.add_argument("--keep", type=Path, default=None, help="build the store in this (new) directory and keep it")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())

    import mem_mcp.storage.maintenance as store_mod
    from mem_mcp import MemoryService, Settings
    from mem_mcp.models import Scope
    from mem_mcp.scope import SEGMENTS
    from mem_mcp.service.rows import memory_row as _memory_row
    from mem_mcp.storage.resident import RowMatch

    info = machine()
    started = time.perf_counter()
    rng = random.Random(args.seed)
    now = datetime.now(timezone.utc)
    tmp = tempfile.TemporaryDirectory(prefix="mem-mcp-scale-")
    root = Path(tmp.name)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=False)
        root = args.keep
    svc = MemoryService(Settings(data_dir=root / "data", _env_file=None))
    rss_start = rss_mib()
    svc.warm_up()
    rss_warm = rss_mib()
    emb = svc.embedder

    n_real = min(args.real, sizes[-1])
    bases = [base_text(rng, i, now) for i in range(n_real)]
    base_vectors, embed_rate = embed_bases(emb, [b["text"] for b in bases], args.vector_cache)
    lengths = sorted(len(b["text"]) for b in bases)
    log(
        f"[bases] {n_real} texts, length p5/p50/p95 {percentile(lengths, 5):.0f}/{percentile(lengths, 50):.0f}/"
        f"{percentile(lengths, 95):.0f} chars; embed rate {embed_rate}"
    )

    weights = tenant_weights(args.tenants)
    tenants = [f"tenant-{t:02d}" for t in range(args.tenants)]
    big, median = tenants[0], tenants[args.tenants // 2]
    _, table, table_name = svc._table_of("default")
    table_dir = root / "data" / f"{table_name}.lance"

    def record(i: int) -> dict[str, Any]:
        b = bases[i % n_real]
        tenant = rng.choices(tenants, weights)[0]
        scope = Scope(
            app_id="bench",
            tenant_id=tenant,
            agent_id=rng.choice(SCOPE_AGENTS),
            run_id=f"run-{rng.randrange(RUNS_PER_TENANT)}",
        )
        if i < n_real:
            vec = base_vectors[i]
        else:
            vec = base_vectors[i % n_real] + np.random.default_rng(i).normal(0, args.noise, base_vectors.shape[1])
            vec = (vec / np.linalg.norm(vec)).astype(np.float32)
        ts = now - timedelta(days=rng.uniform(0, 730))
        return _memory_row(
            f"mem_scale_{i}",
            1,
            scope,
            variant(b["text"], i),
            vec,
            b["type"],
            b["metadata"],
            b["tags"],
            1.0,
            "active",
            [],
            ts,
            ts,
            ts,
            None,
            extractor="text",
        )

    per_size_queries = 2 * (len(CASES) * args.searches + 1) + 30 + 2 * args.ann_queries
    per_size_queries += 2 * len(CASES) * args.searches if args.ab else 0
    qpool = unique_queries(args.seed + 1, per_size_queries * len(sizes))
    qpos = 0

    def next_queries(n: int) -> list[str]:
        nonlocal qpos
        out = qpool[qpos : qpos + n]
        qpos += n
        return out

    one_year_ago = (now - timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cases = {
        **CASES,
        "tags $in + created_at $gte": {
            "filter": {"tags": {"$in": ["food", "travel"]}, "created_at": {"$gte": one_year_ago}}
        },
    }

    loaded = 0
    per_size: list[dict[str, Any]] = []
    for size in sizes:
        t0 = time.perf_counter()
        for start in range(loaded, size, 5000):
            svc.db.insert(table, [record(i) for i in range(start, min(size, start + 5000))])
        write_s = time.perf_counter() - t0
        # The writes also scheduled background optimizations (every 100th write): wait for all of them,
        # so that the searches below run on a quiet, compacted and indexed store.
        t0 = time.perf_counter()
        svc.db.wait_for_maintenance()
        svc.db.optimize(table)
        svc.db.wait_for_maintenance()
        optimize_s = time.perf_counter() - t0
        loaded = size
        indexed = ("vector",) in {tuple(i.columns) for i in table.list_indices()}
        counts = {t: svc.db.count(table, f"tenant_id = '{t}'") for t in (big, median)}
        log(
            f"[size {size}] written in {write_s:.1f}s, optimize {optimize_s:.1f}s (ANN index: {indexed}); "
            f"tenants {counts}"
        )

        # The first search of a tenant reads its vectors into memory in the background (searches take
        # the LanceDB path meanwhile): time that read, then measure the steady state.
        t0 = time.perf_counter()
        for tenant in (big, median):
            svc.search_memories(query="warm-up", scope={"app_id": "bench", "tenant_id": tenant})
        svc.db.resident.wait_idle()
        resident_load_s = time.perf_counter() - t0

        # -- search_memories --------------------------------------------------------------------
        search: dict[str, dict[str, Any]] = {}
        for tenant in (big, median):
            for case, kw in cases.items():
                kw = dict(kw)
                scope = {"app_id": "bench", "tenant_id": tenant, **kw.pop("scope_extra", {})}
                times, hits = [], []
                for q in next_queries(args.searches):
                    t1 = time.perf_counter()
                    res = svc.search_memories(query=q, scope=scope, top_k=10, **kw)
                    times.append(time.perf_counter() - t1)
                    hits.append(len(res.results))
                search[f"{tenant} | {case}"] = {**stats_ms(times), "hits_p50": percentile(hits, 50)}
            q = next_queries(1)[0]
            svc.search_memories(query=q, scope={"app_id": "bench", "tenant_id": tenant})
            times = []
            for _ in range(20):
                t1 = time.perf_counter()
                svc.search_memories(query=q, scope={"app_id": "bench", "tenant_id": tenant})
                times.append(time.perf_counter() - t1)
            search[f"{tenant} | repeated query (cached embedding)"] = stats_ms(times)
        emb_times = []
        for q in next_queries(30):
            t1 = time.perf_counter()
            emb.embed_query(q)
            emb_times.append(time.perf_counter() - t1)

        # -- get / update / delete -----------------------------------------------------------------
        sample = svc.db.rows(table, f"tenant_id = '{big}' AND status = 'active'", ["id", *SEGMENTS], limit=args.ops * 3)
        ops: dict[str, list[float]] = {"get_memory": [], "update_memory": [], "delete_memory": []}
        for j, row in enumerate(sample):
            scope = {seg: row[seg] for seg in SEGMENTS}
            op = ("get_memory", "update_memory", "delete_memory")[j % 3]
            t1 = time.perf_counter()
            if op == "get_memory":
                svc.get_memory(row["id"], scope=scope)
            elif op == "update_memory":
                svc.update_memory(row["id"], text=f"The user changed plan number {size}-{j}", scope=scope)
            else:
                svc.delete_memory(row["id"], scope=scope)
            ops[op].append(time.perf_counter() - t1)
        svc.db.wait_for_maintenance()

        # -- ANN study ------------------------------------------------------------------------------
        ann: dict[str, Any] = {}
        build_s = None
        if not indexed:
            t1 = time.perf_counter()
            svc.db.create_vector_index(table)
            build_s = time.perf_counter() - t1
        for tenant in (big, median):
            where = f"app_id = 'bench' AND tenant_id = '{tenant}' AND status = 'active'"
            data = svc.db.arrow(table, where, ["row_key", "vector"])
            keys = data.column("row_key").to_pylist()
            column = data.column("vector").combine_chunks()
            mat = column.flatten().to_numpy(zero_copy_only=False).reshape(len(column), -1)
            flat_t, ann_t, flat_r, ann_r, wide_t, wide_r, res_t, res_r = [], [], [], [], [], [], [], []
            match = RowMatch("bench", tenant, None, None, ("active",))
            for q in next_queries(args.ann_queries):
                qv = emb.embed_query(q)
                exact = {keys[i] for i in np.argsort(-(mat @ qv))[:10]}
                for exact_scan, nprobes, m, times, recalls in (
                    (True, None, None, flat_t, flat_r),
                    (False, None, None, ann_t, ann_r),
                    (False, args.wide_nprobes, None, wide_t, wide_r),
                    (False, None, match, res_t, res_r),
                ):
                    t1 = time.perf_counter()
                    got = [
                        r["row_key"]
                        for r in svc.db.vector_search(
                            table, qv, where, 10, ["row_key"], exact=exact_scan, nprobes=nprobes, match=m
                        )
                    ]
                    times.append(time.perf_counter() - t1)
                    recalls.append(len(exact & set(got)) / 10)
            ann[tenant] = {
                "rows": len(keys),
                "flat": {**stats_ms(flat_t), "recall@10": round(float(np.mean(flat_r)), 4)},
                "ann": {**stats_ms(ann_t), "recall@10": round(float(np.mean(ann_r)), 4)},
                "ann_wide": {
                    **stats_ms(wide_t),
                    "recall@10": round(float(np.mean(wide_r)), 4),
                    "nprobes": args.wide_nprobes,
                },
                "resident": {
                    **stats_ms(res_t),
                    "recall@10": round(float(np.mean(res_r)), 4),
                    "resident": svc.db.resident.top(table.name, table.version, qv, match, 1) is not None,
                },
            }
        if not indexed:
            for idx in table.list_indices():
                if tuple(idx.columns) == ("vector",):
                    table.drop_index(idx.name)

        ab = (
            compare_before_after(svc, root, table_name, (big, median), cases, next_queries, args.searches)
            if args.ab
            else None
        )

        per_size.append(
            {
                "ab": ab,
                "resident_load_s": round(resident_load_s, 2),
                "resident_mib": round(svc.db.resident.resident_bytes() / 2**20, 1),
                "size": size,
                "write_s": round(write_s, 1),
                "optimize_s": round(optimize_s, 1),
                "ann_index_shipped": indexed,
                "tenant_rows": counts,
                "search": search,
                "embed_query": stats_ms(emb_times),
                "ops": {k: stats_ms(v) for k, v in ops.items()},
                "ann": ann,
                "ann_build_s": round(build_s, 1) if build_s is not None else None,
                "disk_bytes_per_memory": round(dir_size(table_dir) / max(1, table.count_rows())),
                "rss_mib": rss_mib(),
                "server_rss_mib": server_rss(root / "data", big),
            }
        )
        log(f"[size {size}] done")

    # -- ingestion ----------------------------------------------------------------------------------
    ingest_svc = MemoryService(Settings(data_dir=root / "ingest", _env_file=None), embedder=emb)
    ingest_svc.warm_up()
    irng = random.Random(args.seed + 2)
    scope = {"app_id": "bench", "tenant_id": "ingest", "agent_id": "a", "run_id": "r"}
    single_texts = [base_text(irng, 50_000_000 + i, now)["text"] for i in range(args.ingest_single)]
    t0 = time.perf_counter()
    single_times = []
    for text in single_texts:
        t1 = time.perf_counter()
        ingest_svc.add_memories(text=text, scope=scope)
        single_times.append(time.perf_counter() - t1)
    single_s = time.perf_counter() - t0
    batch = [base_text(irng, 60_000_000 + i, now) for i in range(args.ingest)]
    for rec in batch:
        rec["scope"] = scope
    t0 = time.perf_counter()
    ingest_svc.import_memories(batch)
    batch_s = time.perf_counter() - t0
    texts = [r["text"] for r in batch]
    t0 = time.perf_counter()
    vectors = emb.embed_documents(texts)
    embed_only_s = time.perf_counter() - t0
    _, itable, _ = ingest_svc._table_of("default")
    rows = [
        _memory_row(f"mem_w_{i}", 1, Scope(**scope), t, v, "fact", {}, [], 1.0, "active", [], now, now, now, None)
        for i, (t, v) in enumerate(zip(texts, vectors))
    ]
    t0 = time.perf_counter()
    for start in range(0, len(rows), 64):
        ingest_svc.db.upsert(itable, "row_key", rows[start : start + 64])
    write_only_s = time.perf_counter() - t0
    ingestion = {
        "single_add_memories": {"per_s": round(len(single_texts) / single_s, 1), **stats_ms(single_times)},
        "import_memories_batched": {"n": len(batch), "per_s": round(len(batch) / batch_s, 1)},
        "embed_documents_only": {"per_s": round(len(texts) / embed_only_s, 1)},
        "write_only_upsert_64": {"per_s": round(len(rows) / write_only_s, 1)},
        "base_text_embed_rate_per_s": round(embed_rate, 1) if embed_rate else None,
        "text_length_chars_p5_p50_p95": [percentile(lengths, 5), percentile(lengths, 50), percentile(lengths, 95)],
    }

    # -- report -------------------------------------------------------------------------------------
    print(
        f"\nScale: {', '.join(f'{s:,}' for s in sizes)} memories, {args.tenants} tenants, {n_real:,} distinct "
        f"embedded texts (+ variants, noise {args.noise}); ANN_INDEX_MIN_ROWS = {store_mod.ANN_INDEX_MIN_ROWS:,}\n"
    )
    rows_md = []
    for e in per_size:
        for key, s in e["search"].items():
            rows_md.append([f"{e['size']:,}", key, s["p50_ms"], s["p95_ms"], s["p99_ms"], s.get("hits_p50", "")])
    print(md_table(["memories", "tenant | case", "p50 ms", "p95 ms", "p99 ms", "hits"], rows_md))
    print()
    print(
        md_table(
            [
                "memories",
                "embed_query p50",
                "get p50/p95",
                "update p50/p95",
                "delete p50/p95",
                "write s",
                "optimize s",
                "disk B/memory",
                "server RSS MiB",
                "bench RSS MiB",
            ],
            [
                [
                    f"{e['size']:,}",
                    e["embed_query"]["p50_ms"],
                    *(
                        f"{e['ops'][k]['p50_ms']:.0f} / {e['ops'][k]['p95_ms']:.0f}"
                        for k in ("get_memory", "update_memory", "delete_memory")
                    ),
                    e["write_s"],
                    e["optimize_s"],
                    e["disk_bytes_per_memory"],
                    e["server_rss_mib"],
                    e["rss_mib"],
                ]
                for e in per_size
            ],
        )
    )
    print()
    ann_md = []
    for e in per_size:
        for tenant, a in e["ann"].items():
            ann_md.append(
                [
                    f"{e['size']:,}",
                    f"{tenant} ({a['rows']:,} rows)",
                    a["flat"]["p50_ms"],
                    a["flat"]["p95_ms"],
                    a["ann"]["p50_ms"],
                    a["ann"]["p95_ms"],
                    a["ann"]["recall@10"],
                    f"{a['ann_wide']['p50_ms']:.0f} / {a['ann_wide']['p95_ms']:.0f}",
                    a["ann_wide"]["recall@10"],
                    f"{a['resident']['p50_ms']:.1f} / {a['resident']['p95_ms']:.1f}",
                    a["resident"]["recall@10"],
                    e["ann_build_s"] or "(shipped)",
                ]
            )
    print(
        md_table(
            [
                "memories",
                "tenant",
                "flat p50",
                "flat p95",
                "IVF_HNSW_SQ p50",
                "p95",
                "ANN recall@10",
                f"nprobes {args.wide_nprobes} p50/p95",
                "its recall@10",
                "resident p50/p95",
                "its recall@10",
                "index build s",
            ],
            ann_md,
        )
    )
    print()
    print(
        md_table(
            ["memories", "resident MiB", "tenants' first read s"],
            [[f"{e['size']:,}", e["resident_mib"], e["resident_load_s"]] for e in per_size],
        )
    )
    if args.ab:
        print(
            "\nBefore (B-tree scope indexes, no resident vectors) / after, same queries interleaved, embedding cached:\n"
        )
        ab_md = []
        for e in per_size:
            for key, r in e["ab"].items():
                ab_md.append(
                    [
                        f"{e['size']:,}",
                        key,
                        f"{r['before']['p50_ms']:.1f} / {r['before']['p95_ms']:.1f}",
                        f"{r['after']['p50_ms']:.1f} / {r['after']['p95_ms']:.1f}",
                        r["ratio_p50"],
                        r["same_top10"],
                    ]
                )
        print(
            md_table(
                ["memories", "tenant | case", "before p50 / p95", "after p50 / p95", "before/after p50", "same top 10"],
                ab_md,
            )
        )
    print()
    print(md_table(["ingestion", "memories/s"], [[k, v["per_s"]] for k, v in ingestion.items() if isinstance(v, dict)]))
    print(f"\nRSS {rss_start} MiB at start, {rss_warm} MiB after warm-up; wall {time.perf_counter() - started:.0f} s\n")
    emit_json(
        "scale",
        {
            "machine": {**info, "loadavg_end": loadavg()},
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "ann_index_min_rows": store_mod.ANN_INDEX_MIN_ROWS,
            "rss_start_mib": rss_start,
            "rss_after_warm_up_mib": rss_warm,
            "sizes": per_size,
            "ingestion": ingestion,
            "wall_s": round(time.perf_counter() - started, 1),
        },
        args.out,
    )
    for service in (svc, ingest_svc):
        service.close()  # writes the request log out before its directory goes
    tmp.cleanup()
    if args.keep:
        shutil.rmtree(root / "ingest", ignore_errors=True)
        shutil.rmtree(root / "before", ignore_errors=True)
    return 0


def compare_before_after(
    svc: Any,
    root: Path,
    table_name: str,
    tenants: Sequence[str],
    cases: dict[str, dict[str, Any]],
    next_queries: Any,
    n: int,
) -> dict[str, Any]:
    """The search cases on this store and on a copy with the previous defaults, query by query."""
    from lancedb.index import BTree

    from mem_mcp import MemoryService, Settings

    before_dir = root / "before"
    shutil.rmtree(before_dir, ignore_errors=True)
    svc.db.wait_for_maintenance()
    shutil.copytree(root / "data", before_dir)
    before = MemoryService(
        Settings(data_dir=before_dir, _env_file=None, resident_memories_mib=0), embedder=svc.embedder
    )
    _, btable, _ = before._table_of("default")
    for idx in btable.list_indices():
        if str(idx.index_type).lower() == "bitmap":
            btable.drop_index(idx.name)
            btable.create_index(idx.columns[0], config=BTree(), replace=True)
    out: dict[str, Any] = {}
    for tenant in tenants:
        for case, kw in cases.items():
            kw = dict(kw)
            scope = {"app_id": "bench", "tenant_id": tenant, **kw.pop("scope_extra", {})}
            queries = next_queries(n)
            for q in queries:
                svc.embedder.embed_query(q)  # cached for both
            for s in (svc, before):  # warm each side's caches for this case
                s.search_memories(query=queries[0], scope=scope, top_k=10, **kw)
            times: dict[str, list[float]] = {"before": [], "after": []}
            same = 0
            for j, q in enumerate(queries):
                ids = {}
                order = (("after", svc), ("before", before)) if j % 2 else (("before", before), ("after", svc))
                for name, s in order:
                    t1 = time.perf_counter()
                    res = s.search_memories(query=q, scope=scope, top_k=10, **kw)
                    times[name].append(time.perf_counter() - t1)
                    ids[name] = [h.memory.id for h in res.results]
                same += ids["before"] == ids["after"]
            b, a = stats_ms(times["before"]), stats_ms(times["after"])
            out[f"{tenant} | {case}"] = {
                "before": b,
                "after": a,
                "ratio_p50": round(b["p50_ms"] / max(a["p50_ms"], 1e-9), 2),
                "same_top10": f"{same}/{len(queries)}",
            }
    before.close()
    shutil.rmtree(before_dir, ignore_errors=True)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
