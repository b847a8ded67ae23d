"""Cold start of the stdio MCP server, as an MCP host sees it.

Each run spawns ``mem-mcp serve`` (``sys.executable -m mem_mcp serve``) with a fresh
``MEM_MCP_DATA_DIR`` and, with the MCP SDK client (``mode="legacy"``: the ``initialize``
handshake), times from spawn to

- ``initialize`` answered (``Client.__aenter__`` returned),
- the first ``tools/list`` answered,
- the first ``search_memories`` answered (it opens the database and needs the embedding model; the
  server starts loading both in the background 0.5 s after start-up),
- and the duration of a second ``search_memories``;
- the server's resident memory (RSS, from /proc) once the first searches are answered: idle, with
  the model loaded.

For scale, the same table gives the floor set by the interpreter and the MCP SDK: a fresh
``python -c "import mcp.server"`` (spawn to exit), which any server built on the SDK pays before it
can answer ``initialize``.

Medians over ``--runs`` runs (default 5). ``--wait-before-search S`` sleeps between listing tools and
the first search (a host usually takes that long before the first tool call), to see how much the
background warm-up hides. ``--seed N`` first stores N memories in each data directory with a
separate process, so the first search reads a non-empty store.

    .venv/bin/python bench/cold_start.py
    .venv/bin/python bench/cold_start.py --runs 3 --wait-before-search 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit_json, loadavg, log, machine, md_table, percentile  # noqa: E402

STEPS = ("initialize", "list_tools", "first_search", "second_search")


def _children_rss_mib() -> float | None:
    """RSS of this process's child processes running mem_mcp (Linux /proc), in MiB."""
    me = str(os.getpid())
    total = 0.0
    found = False
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
                ppid = fh.read().rsplit(")", 1)[1].split()[1]
            if ppid != me:
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmdline = fh.read()
            if b"mem_mcp" not in cmdline and b"mem-mcp" not in cmdline:
                continue
            with open(f"/proc/{pid}/status", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024
                        found = True
        except (OSError, IndexError):
            continue
    return round(total, 1) if found else None


FLOORS = {"python": "import os; os._exit(0)", "python + import mcp.server": "import mcp.server, os; os._exit(0)"}


def import_floor() -> dict[str, float]:
    """Spawn-to-exit (no interpreter teardown) of a bare interpreter and of one that imports the MCP
    SDK's server, in seconds."""
    out: dict[str, float] = {}
    for label, code in FLOORS.items():
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        out[label] = time.perf_counter() - t0
    return out


def server_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEM_MCP_")}
    env.pop("ANTHROPIC_API_KEY", None)
    env.update({"MEM_MCP_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", "LANCE_LOG": "error"})
    return env


def seed(data_dir: Path, n: int) -> None:
    code = (
        "import sys\nfrom mem_mcp import MemoryService, Settings\n"
        "svc = MemoryService(Settings(data_dir=sys.argv[1]))\n"
        "svc.import_memories([{'scope': {'app_id': 'default', 'tenant_id': 'default', 'agent_id': 'seed',"
        " 'run_id': 'seed'}, 'text': f'The user remembers fact number {i} about their garden', 'type': 'fact'}"
        " for i in range(int(sys.argv[2]))])\n"
    )
    subprocess.run([sys.executable, "-c", code, str(data_dir), str(n)], check=True, env=server_env(data_dir))


async def one_run(command: list[str], data_dir: Path, wait_before_search: float) -> dict[str, float]:
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(command=command[0], args=command[1:], env=server_env(data_dir))
    marks: dict[str, float] = {}
    t0 = time.perf_counter()
    async with Client(params, mode="legacy", read_timeout_seconds=120) as client:
        marks["initialize"] = time.perf_counter() - t0
        tools = await client.list_tools()
        marks["list_tools"] = time.perf_counter() - t0
        assert any(t.name == "search_memories" for t in tools.tools), "no search_memories tool"
        if wait_before_search:
            await asyncio.sleep(wait_before_search)
        t1 = time.perf_counter()
        r = await client.call_tool("search_memories", {"query": "x"})
        marks["first_search"] = time.perf_counter() - t0
        marks["first_search_call"] = time.perf_counter() - t1
        if r.is_error:
            raise RuntimeError(f"search_memories failed: {r.content[0].text if r.content else r}")
        t2 = time.perf_counter()
        r = await client.call_tool("search_memories", {"query": "what does the user like to eat?"})
        marks["second_search"] = time.perf_counter() - t2
        if r.is_error:
            raise RuntimeError(f"search_memories failed: {r.content[0].text if r.content else r}")
        await asyncio.sleep(0.5)
        rss = _children_rss_mib()
        if rss is not None:
            marks["rss_idle_mib"] = rss / 1000  # stored in thousands so the ms formatting below shows MiB
    marks["shutdown"] = time.perf_counter() - t0
    return marks


def main(argv: "list[str] | None" = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--wait-before-search", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0, help="memories stored in each data dir before the run")
    ap.add_argument(
        "--command",
        default=None,
        help="server command (default: '<python> -m mem_mcp serve'; e.g. '.venv/bin/mem-mcp serve')",
    )
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    command = args.command.split() if args.command else [sys.executable, "-m", "mem_mcp", "serve"]

    info = machine()
    floors: list[dict[str, float]] = []
    runs: list[dict[str, float]] = []
    errors: list[str] = []
    for i in range(args.runs):
        data_dir = Path(tempfile.mkdtemp(prefix="mem-mcp-cold-"))
        try:
            if args.seed:
                seed(data_dir, args.seed)
            floors.append(import_floor())  # interleaved with the runs: same load on the machine
            marks = asyncio.run(one_run(command, data_dir, args.wait_before_search))
            runs.append(marks)
            log(f"[run {i + 1}] " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in marks.items()))
        except Exception as exc:  # report, keep going: a broken server is a result too
            errors.append(f"{type(exc).__name__}: {exc}")
            log(f"[run {i + 1}] failed: {errors[-1]}")
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)

    floor = {k: round(percentile([f[k] * 1000 for f in floors], 50), 1) for k in FLOORS} if floors else {}
    med = {k: round(percentile([r[k] * 1000 for r in runs], 50), 1) for k in (runs[0] if runs else [])}
    spread = {
        k: [round(min(r[k] for r in runs) * 1000, 1), round(max(r[k] for r in runs) * 1000, 1)]
        for k in (runs[0] if runs else [])
    }
    labels = {
        "initialize": "spawn -> initialize answered",
        "list_tools": "spawn -> first tools/list answered",
        "first_search": "spawn -> first search_memories answered",
        "first_search_call": "first search_memories call alone",
        "second_search": "second search_memories call",
        "shutdown": "spawn -> client closed",
        "rss_idle_mib": "server RSS after the searches, idle (MiB, not ms)",
    }
    print(
        f"\nCold start of `{' '.join(Path(c).name if j == 0 else c for j, c in enumerate(command))}` "
        f"({len(runs)} of {args.runs} runs ok, fresh data dir each, wait before search {args.wait_before_search}s, "
        f"seeded {args.seed})\n"
    )
    if runs:
        print(
            md_table(
                ["step", "median ms", "min-max ms"],
                [[labels.get(k, k), med[k], f"{spread[k][0]:.0f}-{spread[k][1]:.0f}"] for k in med]
                + [[f"floor: spawn -> exit of `{k}`", v, ""] for k, v in floor.items()],
            )
        )
    if errors:
        print("\nErrors:\n" + "\n".join(f"- {e}" for e in errors))
    print()
    emit_json(
        "cold_start",
        {
            "machine": {**info, "loadavg_end": loadavg()},
            "args": vars(args),
            "command": command,
            "median_ms": med,
            "floor_ms": floor,
            "min_max_ms": spread,
            "runs_ms": [{k: round(v * 1000, 1) for k, v in r.items()} for r in runs],
            "errors": errors,
        },
        args.out,
    )
    return 0 if runs else 1


if __name__ == "__main__":
    raise SystemExit(main())
