"""Search latency with LanceDB's cache bounds A against B, on one kept store, interleaved in one run.

The index and metadata caches (``MEM_MCP_LANCE_INDEX_CACHE_MIB``, ``MEM_MCP_LANCE_METADATA_CACHE_MIB``)
bound what a long-running server's RSS climbs to (bench/reliability.py's growth part); this checks what
smaller bounds cost a search on a large store. One child process per configuration opens the same store
(built by ``bench/scale.py --keep DIR``), loads the model and answers searches; the parent hands every
child the same queries round by round, alternating which child goes first, so both see the same machine.
Each round's query embeddings are computed before its timed searches (the embedder's query cache), so
the figures are the search alone. Cases: the largest and the median tenant, unfiltered (agent/run
``*``) and with a metadata filter (LanceDB's prefiltered path). Last: each child's RSS.

    .venv/bin/python bench/scale.py --sizes 100000 --real 2000 --searches 5 --ops 3 --ann-queries 5 \\
        --ingest 10 --ingest-single 5 --keep /tmp/s100k                      # build the store once
    .venv/bin/python bench/cache_ab.py --store /tmp/s100k/data --configs 48:16,24:8 --out ab.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit_json, loadavg, log, machine, md_table, percentile, quiet_lance, rss_mib  # noqa: E402

CASES: dict[str, dict[str, Any]] = {"agent/run *": {}, "metadata.lang=zh": {"filter": {"metadata.lang": "zh"}}}


def child(store: str) -> None:
    quiet_lance()
    from mem_mcp import MemoryService, Settings

    svc = MemoryService(Settings(data_dir=store, _env_file=None))
    svc.warm_up()
    emb = svc.embedder
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        if job.get("quit"):
            break
        for q in job["queries"]:
            emb.embed_query(q)  # into the query cache: the timed part is the search
        out: dict[str, list[float]] = {}
        for tenant in job["tenants"]:
            for case, kw in CASES.items():
                times = []
                for q in job["queries"]:
                    t0 = time.perf_counter()
                    svc.search_memories(query=q, scope={"app_id": "bench", "tenant_id": tenant}, **kw)
                    times.append(time.perf_counter() - t0)
                out[f"{tenant} {case}"] = times
        print(json.dumps({"times": out, "rss_mib": rss_mib()}), flush=True)
    svc.close()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", help="data dir of a store kept by bench/scale.py --keep (DIR/data)")
    ap.add_argument("--configs", default="48:16,24:8", help="index:metadata MiB pairs, comma separated")
    ap.add_argument("--tenants", default="tenant-00,tenant-10")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--per-round", type=int, default=15, help="distinct queries per round (each case, tenant)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    if args.child:
        child(args.store)
        return 0
    from scale import unique_queries

    info = {**machine(), "loadavg_start": loadavg()}
    configs = [tuple(int(x) for x in c.split(":")) for c in args.configs.split(",")]
    tenants = args.tenants.split(",")
    procs = []
    for index_mib, meta_mib in configs:
        env = {
            **os.environ,
            "MEM_MCP_LANCE_INDEX_CACHE_MIB": str(index_mib),
            "MEM_MCP_LANCE_METADATA_CACHE_MIB": str(meta_mib),
            "HF_HUB_OFFLINE": "1",
        }
        p = subprocess.Popen(
            [sys.executable, __file__, "--child", "--store", args.store],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert p.stdout is not None
        json.loads(p.stdout.readline())
        procs.append(p)
    queries = unique_queries(7, args.rounds * args.per_round + args.per_round)
    times: list[dict[str, list[float]]] = [{} for _ in configs]
    rss: list[float] = [0.0 for _ in configs]

    def run(i: int, qs: list[str]) -> dict[str, Any]:
        p = procs[i]
        assert p.stdin is not None and p.stdout is not None
        p.stdin.write(json.dumps({"queries": qs, "tenants": tenants}) + "\n")
        p.stdin.flush()
        return json.loads(p.stdout.readline())

    for i in range(len(configs)):  # warm-up round, not counted
        run(i, queries[: args.per_round])
    for r in range(args.rounds):
        qs = queries[(r + 1) * args.per_round : (r + 2) * args.per_round]
        order = list(range(len(configs)))
        if r % 2:
            order.reverse()
        for i in order:
            ans = run(i, qs)
            for case, ts in ans["times"].items():
                times[i].setdefault(case, []).extend(ts)
            rss[i] = ans["rss_mib"]
        log(f"[round {r + 1}/{args.rounds}]")
    for p in procs:
        assert p.stdin is not None
        p.stdin.write(json.dumps({"quit": True}) + "\n")
        p.stdin.flush()
        p.wait(timeout=120)
    result: dict[str, Any] = {"configs": {}, "machine": info, "loadavg_end": loadavg()}
    rows = []
    base = configs[0]
    for i, cfg in enumerate(configs):
        name = f"{cfg[0]}:{cfg[1]}"
        cases = {}
        for case, ts in times[i].items():
            ms = [t * 1000 for t in ts]
            p50 = statistics.median(ms)
            ref = statistics.median([t * 1000 for t in times[0][case]])
            cases[case] = {"n": len(ms), "p50_ms": round(p50, 2), "p95_ms": round(percentile(ms, 95), 2)}
            rows.append([name, case, len(ms), round(p50, 2), round(percentile(ms, 95), 2), round(p50 / ref, 3)])
        result["configs"][name] = {"cases": cases, "rss_mib": rss[i]}
    print(
        md_table(
            ["caches index:metadata MiB", "case", "searches", "p50 ms", "p95 ms", f"p50 / {base[0]}:{base[1]}"], rows
        )
    )
    print(md_table(["caches", "child RSS MiB"], [[k, v["rss_mib"]] for k, v in result["configs"].items()]))
    emit_json("cache_ab", result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
