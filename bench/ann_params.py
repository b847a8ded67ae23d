"""ANN index parameters on a large store: latency and recall@10 against exact search, per setting.

Runs on a store that ``scale.py --keep DIR`` built (``DIR/data``): for each index build setting
(``--builds``: IVF partitions, HNSW ``m`` and ``ef_construction``; ``shipped`` is the index the store
has), the vector query of each tenant through ``Database.vector_search`` with each query setting
(``--ef``, ``--nprobes``, ``--refine``), and the tenant's resident exact scan beside them. Recall@10 is
against an exact numpy top 10 over the tenant's vectors, for the first 10 rows of a query for
``--limit`` rows (``search_memories`` asks for a pool of 50 and fuses it, so its recall is that of
limit 50). Query settings are interleaved query by query; the index is rebuilt per build setting and
the shipped one restored at the end.

    .venv/bin/python bench/scale.py --sizes 1000000 --keep /tmp/s1m --searches 50 --ann-queries 30 ...
    .venv/bin/python bench/ann_params.py --data /tmp/s1m/data --ef 0,100,200,400 --refine 5,10 \\
        --builds shipped,partitions=512,m=32:ef_construction=400
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import stats_ms, unique_queries  # noqa: E402

from _common import emit_json, loadavg, log, machine, md_table, quiet_lance, rss_mib  # noqa: E402

quiet_lance()

import numpy as np  # noqa: E402


def parse_build(spec: str) -> dict[str, int]:
    """``partitions=512:m=32:ef_construction=400`` -> HnswSq keyword arguments."""
    out: dict[str, int] = {}
    for part in spec.split(":"):
        key, _, value = part.partition("=")
        out[{"partitions": "num_partitions"}.get(key, key)] = int(value)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="a data directory built by scale.py --keep")
    ap.add_argument("--tenants", default="tenant-00,tenant-10")
    ap.add_argument("--queries", type=int, default=30)
    ap.add_argument("--limit", type=int, default=50, help="rows asked of the index (search_memories: 50)")
    ap.add_argument("--ef", default="0", help="HNSW ef at query time; 0 = LanceDB's default (1.5 x rows asked)")
    ap.add_argument("--nprobes", default="0", help="IVF partitions probed; 0 = LanceDB's default")
    ap.add_argument("--refine", default="5", help="refine factors (exact re-rank of factor x limit rows)")
    ap.add_argument("--builds", default="shipped", help="comma-separated: shipped, or key=value:... for HnswSq")
    ap.add_argument("--seed", type=int, default=23)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    from lancedb.index import HnswSq

    from mem_mcp import MemoryService, Settings
    from mem_mcp.storage.resident import RowMatch

    info = machine()
    svc = MemoryService(Settings(data_dir=args.data, _env_file=None))
    svc.warm_up()
    emb = svc.embedder
    _, table, _ = svc._table_of("default")
    rows_total = table.count_rows()
    had_index = ("vector",) in {tuple(i.columns) for i in table.list_indices()}
    tenants = [t for t in args.tenants.split(",") if t]
    queries = unique_queries(args.seed, args.queries)
    qvecs = [emb.embed_query(q) for q in queries]
    exact: dict[str, list[set[str]]] = {}
    wheres = {t: f"app_id = 'bench' AND tenant_id = '{t}' AND status = 'active'" for t in tenants}
    tenant_rows = {t: svc.db.count(table, wheres[t]) for t in tenants}
    for tenant in tenants:
        data = svc.db.arrow(table, wheres[tenant], ["row_key", "vector"])
        keys = data.column("row_key").to_pylist()
        column = data.column("vector").combine_chunks()
        mat = column.flatten().to_numpy(zero_copy_only=False).reshape(len(column), -1)
        exact[tenant] = [{keys[i] for i in np.argsort(-(mat @ qv))[:10]} for qv in qvecs]
        del data, mat
        svc.db.resident.load_now(table.name, "bench", tenant)
    settings = [
        (ef, nprobes, refine)
        for ef in (int(x) for x in args.ef.split(","))
        for nprobes in (int(x) for x in args.nprobes.split(","))
        for refine in (int(x) for x in args.refine.split(","))
    ]
    results: list[dict[str, Any]] = []
    for build in [b for b in args.builds.split(",") if b]:
        build_s = None
        if build != "shipped":
            t0 = time.perf_counter()
            table.create_index("vector", config=HnswSq(distance_type="cosine", **parse_build(build)), replace=True)
            build_s = round(time.perf_counter() - t0, 1)
            log(f"[build {build}] {build_s} s")
        for tenant in tenants:
            times: dict[Any, list[float]] = {s: [] for s in settings}
            recalls: dict[Any, list[float]] = {s: [] for s in settings}
            res_t, res_r = [], []
            match = RowMatch("bench", tenant, None, None, ("active",))
            for qi, qv in enumerate(qvecs):
                for s in settings:
                    ef, nprobes, refine = s
                    t1 = time.perf_counter()
                    got = svc.db.vector_search(
                        table,
                        qv,
                        wheres[tenant],
                        args.limit,
                        ["row_key"],
                        nprobes=nprobes or None,
                        ef=ef or None,
                        refine_factor=refine,
                    )
                    times[s].append(time.perf_counter() - t1)
                    recalls[s].append(len(exact[tenant][qi] & {r["row_key"] for r in got[:10]}) / 10)
                t1 = time.perf_counter()
                got = svc.db.vector_search(table, qv, wheres[tenant], args.limit, ["row_key"], match=match)
                res_t.append(time.perf_counter() - t1)
                res_r.append(len(exact[tenant][qi] & {r["row_key"] for r in got[:10]}) / 10)
            for s in settings:
                results.append(
                    {
                        "build": build,
                        "build_s": build_s,
                        "tenant": tenant,
                        "rows": tenant_rows[tenant],
                        "ef": s[0] or "default",
                        "nprobes": s[1] or "default",
                        "refine": s[2],
                        **stats_ms(times[s]),
                        "recall@10": round(float(np.mean(recalls[s])), 4),
                    }
                )
            if build == args.builds.split(",")[0]:
                served = svc.db.resident.current(table.name, table.version, match)
                results.append(
                    {
                        "build": "resident (exact scan)" if served else "resident: too big, ANN index",
                        "build_s": None,
                        "tenant": tenant,
                        "rows": tenant_rows[tenant],
                        "ef": "-",
                        "nprobes": "-",
                        "refine": "-",
                        **stats_ms(res_t),
                        "recall@10": round(float(np.mean(res_r)), 4),
                    }
                )
            log(f"[{build}] {tenant} done")
    if any(b != "shipped" for b in args.builds.split(",")):
        t0 = time.perf_counter()
        if had_index:
            svc.db.create_vector_index(table)
        else:  # the store had none (below ANN_INDEX_MIN_ROWS): leave it so
            table.drop_index(next(i.name for i in table.list_indices() if tuple(i.columns) == ("vector",)))
        log(f"[restore shipped index] {time.perf_counter() - t0:.1f} s")

    print(f"\nANN parameters: {rows_total:,} rows, limit {args.limit}, {args.queries} queries per cell\n")
    print(
        md_table(
            ["build", "build s", "tenant", "ef", "nprobes", "refine", "p50 ms", "p95 ms", "recall@10"],
            [
                [
                    r["build"],
                    r["build_s"] or "",
                    f"{r['tenant']} ({r['rows']:,})",
                    r["ef"],
                    r["nprobes"],
                    r["refine"],
                    r["p50_ms"],
                    r["p95_ms"],
                    r["recall@10"],
                ]
                for r in results
            ],
        )
    )
    emit_json(
        "ann_params",
        {
            "machine": {**info, "loadavg_end": loadavg()},
            "args": {k: str(v) for k, v in vars(args).items()},
            "rows": rows_total,
            "results": results,
            "rss_mib": rss_mib(),
        },
        args.out,
    )
    svc.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
