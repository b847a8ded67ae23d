"""Console page load with 10,000 memories: the first page of the memory list, a search, a deep page,
the overview and the activity log, served by a real `mem-mcp ui` process.

The store is filled through the public API (``import_memories``, so every memory is embedded with the
default model; latency.py's templates, ~30% Chinese, created over two years) in the default tenant, the
one a local console lists. Each page is timed two ways:

- server: an HTTP GET until the last byte of the HTML (what the console itself costs);
- browser: headless Chromium (the OS's, through Playwright) navigating to the page, from the start of the
  navigation to the load event (HTML, stylesheet and script: what a person waits for).

Searches use distinct queries, so each includes its query embedding. Seeding takes minutes (the
embedding rate); ``--keep DIR`` keeps the data directory and reuses it on the next run.

    .venv/bin/python bench/ui_load.py --keep /tmp/ui-bench-10k --out bench/results/ui_load.json
    .venv/bin/python bench/ui_load.py --memories 300 --repeats 3      # quick look
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency import make_memory, make_queries  # noqa: E402

from _common import emit_json, loadavg, log, machine, md_table, quiet_lance, summary_ms  # noqa: E402

quiet_lance()

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def seed(data: Path, n: int, rng: random.Random) -> float:
    """Fill the default tenant with ``n`` memories through import_memories; returns the seconds it took."""
    from mem_mcp import MemoryService, Settings

    svc = MemoryService(Settings(data_dir=data, _env_file=None))
    try:
        have = svc.stats().memories_active
        if have >= n:
            log(f"[seed] reusing {data} ({have} memories)")
            return 0.0
        scope = {"app_id": "default", "tenant_id": "default", "agent_id": "desktop", "run_id": "run-0"}
        now = datetime.now(timezone.utc)
        records = [make_memory(rng, i, scope, now) for i in range(n)]
        started = time.perf_counter()
        done = [0]

        def progress(k: int) -> None:
            done[0] += k
            if done[0] % 1024 < k:
                log(f"[seed] {done[0]}/{n}")

        svc.import_memories(records, progress=progress)
        return time.perf_counter() - started
    finally:
        svc.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_console(data: Path) -> tuple[subprocess.Popen[str], str]:
    import httpx

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEM_MCP_", "ANTHROPIC_"))}
    env.update({"MEM_MCP_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "mem_mcp", "ui", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/static/console.css", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"mem-mcp ui did not start: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.2)


def time_http(url: str, paths: Sequence[str]) -> list[float]:
    import httpx

    out = []
    with httpx.Client(timeout=120) as http:
        http.get(f"{url}/memories")  # a session cookie, as a browser has
        for path in paths:
            t0 = time.perf_counter()
            response = http.get(f"{url}{path}")
            out.append(time.perf_counter() - t0)
            assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return out


def time_browser(page: Any, url: str, paths: Sequence[str]) -> list[float]:
    out = []
    for path in paths:
        page.goto(f"{url}{path}", wait_until="load")
        nav = page.evaluate(
            "(() => { const n = performance.getEntriesByType('navigation')[0]; "
            "return n.loadEventEnd - n.startTime; })()"
        )
        out.append(nav / 1000.0)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--memories", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=20, help="loads of each page (distinct queries for search)")
    ap.add_argument("--keep", type=Path, default=None, help="data directory to build once and reuse")
    ap.add_argument("--no-browser", action="store_true", help="server timings only")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    info = machine()
    rng = random.Random(args.seed)
    tmp = None
    if args.keep:
        root = args.keep
        root.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="mem-mcp-ui-bench-")
        root = Path(tmp.name)
    data = root / "data"
    seed_s = seed(data, args.memories, rng)
    if seed_s:
        log(f"[seed] {args.memories} memories in {seed_s:.0f} s ({args.memories / seed_s:.0f}/s)")

    queries = list(dict.fromkeys(make_queries(random.Random(args.seed + 1), args.repeats * 6)))
    qpos = [0]

    def distinct_searches(n: int) -> list[str]:
        batch = queries[qpos[0] : qpos[0] + n]
        qpos[0] += n
        return [f"/memories?q={quote(q)}" for q in batch]

    pages: dict[str, Callable[[int], list[str]]] = {
        "memories, first page": lambda n: ["/memories"] * n,
        "search (distinct queries)": distinct_searches,
        "memories, page 200 (offset 4975)": lambda n: ["/memories?offset=4975"] * n,
        "overview (counts, 2 charts)": lambda n: ["/"] * n,
        "activity (request log, jobs)": lambda n: ["/activity"] * n,
    }
    proc, url = start_console(data)
    results: dict[str, dict[str, Any]] = {}
    try:
        time_http(url, ["/memories", "/", "/activity", distinct_searches(1)[0]])  # warm: model, caches
        for name, paths in pages.items():
            results[name] = {"server": summary_ms(time_http(url, paths(args.repeats)))}
            log(f"[server] {name}: {results[name]['server']}")
        chromium = shutil.which("chromium")
        if not args.no_browser and chromium:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as pw:
                context = pw.chromium.launch_persistent_context(
                    tempfile.mkdtemp(prefix="mem-mcp-ui-bench-chromium-"),
                    executable_path=chromium,
                    headless=True,
                    args=CHROMIUM_ARGS,
                    viewport={"width": 1280, "height": 860},
                )
                page = context.new_page()
                page.goto(f"{url}/memories")
                for name, paths in pages.items():
                    results[name]["browser"] = summary_ms(time_browser(page, url, paths(args.repeats)))
                    log(f"[browser] {name}: {results[name]['browser']}")
                context.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if tmp is not None:
            tmp.cleanup()

    rows = []
    for name, r in results.items():
        b = r.get("browser", {})
        rows.append([name, r["server"]["p50_ms"], r["server"]["p95_ms"], b.get("p50_ms", "—"), b.get("p95_ms", "—")])
    print(f"Console page load, {args.memories} memories, {args.repeats} loads each (load {loadavg()})\n")
    print(md_table(["page", "server p50 ms", "server p95 ms", "browser p50 ms", "browser p95 ms"], rows))
    emit_json(
        "ui_load",
        {
            "memories": args.memories,
            "repeats": args.repeats,
            "seed_s": round(seed_s, 1),
            "results": results,
            "machine": info,
            "loadavg_end": loadavg(),
        },
        args.out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
