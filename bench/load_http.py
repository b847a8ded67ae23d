"""Load test over HTTP: N concurrent MCP clients against a real `mem-mcp serve --transport
streamable-http` on 127.0.0.1, mixing add_memories (text) and search_memories for a bounded time.

Each client has its own token and tenant (tokens made with `mem-mcp token create`), so the run also
checks isolation under load. A run lasts a time (--seconds) or a number of operations per client
(--ops, as the smoke run does: a busy machine still gets every client's writes). Reports throughput,
p50/p95/p99 latency per operation, errors, and afterwards verifies, from a fresh process on the same
data directory, that every acknowledged write is present in its own tenant and no other.

    .venv/bin/python bench/load_http.py --clients 8 --seconds 60 --search-ratio 0.7
    .venv/bin/python bench/load_http.py --smoke   # 2 clients, 6 operations each: checks it works (CI)

The server runs with the real default embedding model; rate limits are lifted (MEM_MCP_RATE_LIMIT_*
= 0) so the test measures the server, not the limiter.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit_json, loadavg, log, machine, md_table, percentile  # noqa: E402

TOPICS_EN = [
    "likes {x} music",
    "has a cat named {x}",
    "is learning {x}",
    "works on the {x} project",
    "prefers {x} tea",
    "visited {x} last spring",
    "is allergic to {x}",
    "plays {x} on weekends",
]
TOPICS_ZH = ["喜欢听{x}音乐", "养了一只叫{x}的猫", "正在学习{x}", "负责{x}项目", "喜欢喝{x}茶", "去年春天去了{x}"]
WORDS = [
    "jazz",
    "Max",
    "Rust",
    "Atlas",
    "green",
    "Kyoto",
    "peanuts",
    "chess",
    "爵士",
    "小白",
    "日语",
    "北极星",
    "龙井",
    "杭州",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEM_MCP_", "ANTHROPIC_"))}
    env.update(
        {
            "MEM_MCP_DATA_DIR": str(data),
            "HF_HUB_OFFLINE": "1",
            "LANCE_LOG": "error",
            "MEM_MCP_RATE_LIMIT_PER_MINUTE": "0",
            "MEM_MCP_RATE_LIMIT_ADD_PER_MINUTE": "0",
            "MEM_MCP_RATE_LIMIT_SEARCH_PER_MINUTE": "0",
        }
    )
    return env


def _cli(*args: str, env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-m", "mem_mcp", *args], env=env, capture_output=True, text=True, check=True)
    return out.stdout


def _memory_text(rng: random.Random, client: int, n: int) -> str:
    if rng.random() < 0.5:
        return f"The user {rng.choice(TOPICS_EN).format(x=rng.choice(WORDS))} (c{client}-{n})"
    return f"用户{rng.choice(TOPICS_ZH).format(x=rng.choice(WORDS))}（c{client}-{n}）"


async def _client(
    url: str, token: str, idx: int, deadline: float, search_ratio: float, out: dict[str, Any], ops: int | None = None
) -> None:
    """One client's loop: until the deadline, or for ``ops`` operations (then the deadline is ignored)."""
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client
    from mcp_types import Implementation

    rng = random.Random(idx)
    lat: dict[str, list[float]] = {"add": [], "search": []}
    errors: list[str] = []
    acked: list[str] = []
    foreign = 0
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as http:
        async with Client(
            streamable_http_client(url, http_client=http),
            mode="legacy",
            client_info=Implementation(name=f"load-{idx}", version="1"),
        ) as client:
            n = attempts = 0
            while attempts < ops if ops is not None else time.monotonic() < deadline:
                attempts += 1
                op = "search" if acked and rng.random() < search_ratio else "add"
                started = time.perf_counter()
                try:
                    if op == "add":
                        res = await client.call_tool("add_memories", {"text": _memory_text(rng, idx, n)})
                    else:
                        res = await client.call_tool("search_memories", {"query": rng.choice(WORDS), "top_k": 10})
                except Exception as exc:  # a transport failure is an error of the run, not of the script
                    errors.append(f"{op}: {type(exc).__name__}: {exc}"[:200])
                    continue
                lat[op].append(time.perf_counter() - started)
                if res.is_error:
                    errors.append(f"{op}: {res.content[0].text}"[:200])
                elif op == "add":
                    acked.append(res.structured_content["events"][0]["memory_id"])
                else:
                    foreign += sum(
                        1
                        for h in res.structured_content["results"]
                        if f"(c{idx}-" not in h["text"] and f"（c{idx}-" not in h["text"]
                    )
                n += 1
    out[idx] = {"lat": lat, "errors": errors, "acked": acked, "foreign_hits": foreign}


def _verify(data: Path, tenants: dict[int, str], results: dict[int, Any]) -> dict[str, int]:
    """Every acknowledged write present, in its own tenant (read from a fresh process's view)."""
    os.environ["MEM_MCP_DATA_DIR"] = str(data)
    from mem_mcp.config import Settings
    from mem_mcp.service import MemoryService

    svc = MemoryService(Settings(data_dir=data))
    lost = misplaced = 0
    try:
        for idx, tenant in tenants.items():
            have: set[str] = set()
            offset = 0
            while True:
                page = svc.list_memories(scope={"tenant_id": tenant}, limit=500, offset=offset)
                have |= {m.id for m in page.memories}
                offset += len(page.memories)
                if offset >= page.total or not page.memories:
                    break
            acked = set(results[idx]["acked"])
            lost += len(acked - have)
            misplaced += len(have - acked)
    finally:
        svc.close()
    return {"acknowledged": sum(len(r["acked"]) for r in results.values()), "lost": lost, "unexpected": misplaced}


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="mem-mcp-load-")) / "data"
    env = _env(data)
    tenants = {i: f"tenant-{i}" for i in range(args.clients)}
    tokens = {
        i: json.loads(_cli("token", "create", "--tenant", t, "--role", "write", "--json", env=env))["token"]
        for i, t in tenants.items()
    }
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mem_mcp", "serve", "--transport", "streamable-http", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        import httpx2

        async with httpx2.AsyncClient() as http:
            for _ in range(300):
                try:
                    health = (await http.get(f"http://127.0.0.1:{port}/healthz")).json()
                    if health.get("model_loaded"):
                        break
                except httpx2.TransportError:
                    pass
                await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # let warm-up (model, calibration) finish
        url = f"http://127.0.0.1:{port}/mcp"
        out: dict[int, Any] = {}
        started = time.monotonic()
        deadline = started + args.seconds
        await asyncio.gather(*(_client(url, tokens[i], i, deadline, args.search_ratio, out, args.ops) for i in tenants))
        elapsed = time.monotonic() - started
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    verify = _verify(data, tenants, out)
    lat = {op: [s for r in out.values() for s in r["lat"][op]] for op in ("add", "search")}
    total_ops = sum(len(v) for v in lat.values())
    errors = [e for r in out.values() for e in r["errors"]]
    stats = {
        op: {
            "n": len(v),
            "p50_ms": round(percentile([x * 1000 for x in v], 50), 1),
            "p95_ms": round(percentile([x * 1000 for x in v], 95), 1),
            "p99_ms": round(percentile([x * 1000 for x in v], 99), 1),
        }
        for op, v in lat.items()
    }
    return {
        "clients": args.clients,
        "ops_per_client": args.ops,
        "seconds": round(elapsed, 1),
        "search_ratio": args.search_ratio,
        "ops": total_ops,
        "ops_per_s": round(total_ops / elapsed, 1),
        "latency": stats,
        "errors": len(errors),
        "error_samples": errors[:5],
        "foreign_hits": sum(r["foreign_hits"] for r in out.values()),
        **verify,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--ops", type=int, help="Operations per client instead of a duration (ignores --seconds).")
    parser.add_argument("--search-ratio", type=float, default=0.7, help="Share of searches once a client has written.")
    parser.add_argument("--smoke", action="store_true", help="Tiny run for CI: checks it works, numbers mean nothing.")
    parser.add_argument("--out", help="Also write the JSON result to this file.")
    args = parser.parse_args()
    if args.smoke:
        args.clients, args.ops = 2, 6
    if args.ops is not None and args.ops < 1:
        parser.error("--ops must be at least 1")
    info = machine()
    length = f"{args.ops} operations each" if args.ops is not None else f"{args.seconds:.0f} s"
    log(f"load test: {args.clients} clients, {length}, search ratio {args.search_ratio}")
    result = asyncio.run(_run(args))
    rows = [[op, s["n"], s["p50_ms"], s["p95_ms"], s["p99_ms"]] for op, s in result["latency"].items()]
    print(md_table(["operation", "n", "p50 ms", "p95 ms", "p99 ms"], rows))
    print(
        f"\n{result['clients']} clients, {result['seconds']} s: {result['ops_per_s']} ops/s, errors {result['errors']}, "
        f"acknowledged writes {result['acknowledged']}, lost {result['lost']}, foreign hits {result['foreign_hits']}"
    )
    emit_json("load_http", {**result, "machine": info, "loadavg_end": loadavg()}, args.out)
    if result["lost"] or result["errors"] or result["foreign_hits"] or result["unexpected"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
