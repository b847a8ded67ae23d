"""Search latency of two checkouts of mem-mcp on one store, interleaved query by query: the before/after
of a code change (``scale.py --ab`` compares index defaults within one checkout, not two versions).

Each checkout runs in a worker process of its own (``PYTHONPATH`` its ``src``) over its own copy of a
store kept by ``scale.py --keep``; the driver sends every query to both, alternating which goes first.
Every query is searched once by each worker before the timed pass, so the timed searches find their
query vector in the embedding cache (as ``scale.py --ab``): the figures are the search without the model.
Reported: p50 / p95 per tenant, the after/before ratio of the medians, and how often both top 10s agree.

    .venv/bin/python bench/scale.py --sizes 100000 --keep /tmp/s100k --searches 5   # build the store once
    .venv/bin/python bench/ab_search.py --store /tmp/s100k --before ../main/src --after src --queries 200
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, emit_json, log, machine, md_table, percentile  # noqa: E402

_WORKER = r"""
import json, sys, time
from pathlib import Path
from mem_mcp import MemoryService, Settings
svc = MemoryService(Settings(data_dir=Path(sys.argv[1]), _env_file=None))
svc.warm_up()
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    t0 = time.perf_counter()
    kw = {"translation": req["translation"]} if "translation" in req else {}
    res = svc.search_memories(query=req["query"], scope=req["scope"], top_k=10, **kw)
    ms = (time.perf_counter() - t0) * 1000
    print(json.dumps({"ms": ms, "ids": [h.memory.id for h in res.results]}), flush=True)
svc.close()
"""


class Worker:
    def __init__(self, src: Path, data_dir: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(src)}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(data_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert json.loads(self.ask_line()).get("ready")

    def ask_line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("worker exited")
        return line

    def search(self, query: str, scope: dict[str, str], translation: str | None = None) -> dict[str, Any]:
        assert self.proc.stdin is not None
        req = {"query": query, "scope": scope, **({"translation": translation} if translation else {})}
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.ask_line())

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", type=Path, required=True, help="a directory kept by scale.py --keep")
    ap.add_argument("--before", type=Path, default=REPO.parent / "main" / "src", help="src of the before code")
    ap.add_argument("--after", type=Path, default=REPO / "src", help="src of the after code")
    ap.add_argument("--queries", type=int, default=200, help="distinct queries per tenant")
    ap.add_argument("--tenants", default="tenant-00,tenant-10", help="scale.py's largest and a median tenant")
    ap.add_argument("--seed", type=int, default=23)
    ap.add_argument(
        "--after-translation",
        action="store_true",
        help="the after worker also passes search_memories(translation=...): the next query of the list, so "
        "each of its searches is a real second one (the cost of a translation, not its quality)",
    )
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    from scale import unique_queries

    info = machine()
    tmp = Path(tempfile.mkdtemp(prefix="mem-mcp-ab-search-"))
    dirs = {}
    for name in ("before", "after"):
        dirs[name] = tmp / name
        shutil.copytree(args.store / "data", dirs[name])
    workers = {
        "before": Worker(args.before.resolve(), dirs["before"]),
        "after": Worker(args.after.resolve(), dirs["after"]),
    }
    tenants = [t.strip() for t in args.tenants.split(",") if t.strip()]
    queries = unique_queries(args.seed, args.queries * len(tenants))
    out: dict[str, Any] = {}
    try:
        for n, tenant in enumerate(tenants):
            scope = {"app_id": "bench", "tenant_id": tenant}
            qs = queries[n * args.queries : (n + 1) * args.queries]
            t0 = time.perf_counter()

            def second(name: str, j: int, qs: list[str] = qs) -> str | None:
                """With --after-translation, the after worker's translation of query j: the next query."""
                return qs[(j + 1) % len(qs)] if name == "after" and args.after_translation else None

            for j, q in enumerate(qs):  # untimed: embeds each query once per worker, reads the tenant's vectors
                for name, w in workers.items():
                    w.search(q, scope, second(name, j))
            log(f"[warm] {tenant}: {len(qs)} queries in {time.perf_counter() - t0:.1f}s")
            times: dict[str, list[float]] = {"before": [], "after": []}
            same = 0
            for j, q in enumerate(qs):
                ids = {}
                for name in ("after", "before") if j % 2 else ("before", "after"):
                    r = workers[name].search(q, scope, second(name, j))
                    times[name].append(r["ms"])
                    ids[name] = r["ids"]
                same += ids["before"] == ids["after"]
            stats = {k: {p: round(percentile(v, p), 2) for p in (50, 95)} for k, v in times.items()}
            out[tenant] = {
                **stats,
                "ratio_p50": round(stats["after"][50] / max(stats["before"][50], 1e-9), 3),
                "same_top10": f"{same}/{len(qs)}",
            }
    finally:
        for w in workers.values():
            w.close()
        shutil.rmtree(tmp, ignore_errors=True)
    rows = [
        [t, e["before"][50], e["after"][50], e["before"][95], e["after"][95], e["ratio_p50"], e["same_top10"]]
        for t, e in out.items()
    ]
    print()
    print(
        md_table(
            [
                "tenant",
                "before p50 ms",
                "after p50 ms",
                "before p95 ms",
                "after p95 ms",
                "after/before p50",
                "same top 10",
            ],
            rows,
        )
    )
    print()
    emit_json(
        "ab_search", {"machine": info, "before": str(args.before), "after": str(args.after), "results": out}, args.out
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
