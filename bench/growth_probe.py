"""Where a long run of text writes puts its memory (issue 13): RSS over many ``add_memories(text=)``
calls in one process, next to what each candidate holds: LanceDB's session caches, Arrow's memory pool,
glibc's heap (in use and free), the resident snapshots, Python's own objects (tracemalloc, optional).

    .venv/bin/python bench/growth_probe.py --writes 3000                  # the hash embedder: storage only
    .venv/bin/python bench/growth_probe.py --writes 10000 --real-model    # the default model too
    .venv/bin/python bench/growth_probe.py --writes 2000 --tracemalloc    # Python allocations by line
    MALLOC_ARENA_MAX=2 .venv/bin/python bench/growth_probe.py ...          # allocator settings to compare

Prints one markdown table (a row per sample) and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reliability import SCOPE, BenchEmbedder  # noqa: E402

from _common import emit_json, log, machine, md_table, quiet_lance, rss_mib  # noqa: E402


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _mallinfo() -> dict[str, float]:
    """glibc's heap: bytes in use (``uordblks`` + mmapped ``hblkhd``) and free but kept (``fordblks``), MiB."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        info = libc.mallinfo2()
    except (OSError, AttributeError):
        return {}
    mib = 1 << 20
    return {
        "heap_used_mib": round((info.uordblks + info.hblkhd) / mib, 1),
        "heap_free_mib": round(info.fordblks / mib, 1),
    }


def _anon_mib() -> float:
    """Anonymous resident memory (heaps, arenas, mmapped buffers) from /proc/self/smaps_rollup."""
    try:
        for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
            if line.startswith("Anonymous:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return float("nan")


_SESSIONS: list[Any] = []


def _capture_sessions() -> None:
    """Keep the LanceDB sessions the database creates (their cache counters are not reachable from the
    connection)."""
    import lancedb

    made = lancedb.Session

    def session(*args: Any, **kwargs: Any) -> Any:
        _SESSIONS.append(made(*args, **kwargs))
        return _SESSIONS[-1]

    lancedb.Session = session


def sample(svc: Any, i: int, started: float) -> dict[str, Any]:
    import pyarrow as pa

    gc.collect()
    session = _SESSIONS[-1] if _SESSIONS else None
    out: dict[str, Any] = {
        "writes": i,
        "s": round(time.perf_counter() - started, 1),
        "rss_mib": rss_mib(),
        "anon_mib": _anon_mib(),
        "arrow_mib": round(pa.total_allocated_bytes() / (1 << 20), 1),
        "resident_mib": round(svc.db.resident.resident_bytes() / (1 << 20), 1),
        "py_objects": len(gc.get_objects()),
        **_mallinfo(),
    }
    if session is not None:
        size, items = getattr(session, "size_bytes", None), getattr(session, "approx_num_items", None)
        size, items = (size() if callable(size) else size), (items() if callable(items) else items)
        if size is not None:
            out["lance_cache_mib"] = round(size / (1 << 20), 1)
            out["lance_cache_items"] = items
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", type=int, default=3000)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--real-model", action="store_true", help="The default embedding model (else a hash).")
    parser.add_argument("--resident-mib", type=float, default=None, help="Settings.resident_memories_mib.")
    parser.add_argument("--index-cache-mib", type=int, default=None, help="Settings.lance_index_cache_mib.")
    parser.add_argument("--metadata-cache-mib", type=int, default=None, help="Settings.lance_metadata_cache_mib.")
    parser.add_argument("--tracemalloc", action="store_true", help="Top Python allocation growth, second half.")
    parser.add_argument("--out", help="Also write the JSON result to this file.")
    args = parser.parse_args()
    quiet_lance()
    _capture_sessions()
    from mem_mcp import MemoryService, Settings

    extra = {
        name: value
        for name, value in (
            ("resident_memories_mib", args.resident_mib),
            ("lance_index_cache_mib", args.index_cache_mib),
            ("lance_metadata_cache_mib", args.metadata_cache_mib),
        )
        if value is not None
    }
    data = Path(tempfile.mkdtemp(prefix="mem-mcp-growth-")) / "data"
    settings = Settings(data_dir=data, _env_file=None, **extra)
    svc = MemoryService(settings) if args.real_model else MemoryService(settings, embedder=BenchEmbedder())
    svc.warm_up()
    svc.add_memories(text="The user warms up the probe", scope=SCOPE)
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start(8)
    started = time.perf_counter()
    rows = [sample(svc, 0, started)]
    step = max(1, args.writes // args.samples)
    half_snapshot = None
    for i in range(1, args.writes + 1):
        svc.add_memories(text=f"The user wrote note {i} about topic {i % 97} on day {i % 31}", scope=SCOPE)
        if i % step == 0:
            rows.append(sample(svc, i, started))
            log(f"  {rows[-1]}")
        if args.tracemalloc and i == args.writes // 2:
            half_snapshot = tracemalloc.take_snapshot()
    top: list[str] = []
    if args.tracemalloc and half_snapshot is not None:
        diff = tracemalloc.take_snapshot().compare_to(half_snapshot, "traceback")
        for stat in diff[:12]:
            frames = [f"{f.filename.split('site-packages/')[-1]}:{f.lineno}" for f in stat.traceback[-4:]]
            top.append(f"{stat.size_diff / 1024:+.0f} KiB {stat.count_diff:+d} blocks  " + " <- ".join(frames[::-1]))
    half = [r for r in rows if r["writes"] >= args.writes // 2]
    span = max(1, half[-1]["writes"] - half[0]["writes"])
    slope = {
        k: round((half[-1][k] - half[0][k]) * 1024 / span, 2)
        for k in (
            "rss_mib",
            "anon_mib",
            "arrow_mib",
            "resident_mib",
            "heap_used_mib",
            "heap_free_mib",
            "lance_cache_mib",
        )
        if k in half[0]
    }
    svc.close()
    cols = list(rows[-1])
    print(md_table(cols, [[r.get(c, "") for c in cols] for r in rows]))
    print("\nsecond half, KiB per write: " + ", ".join(f"{k} {v}" for k, v in slope.items()))
    for line in top:
        print("  " + line)
    emit_json(
        "growth_probe",
        {
            "writes": args.writes,
            "real_model": args.real_model,
            "samples": rows,
            "slope_kib_per_write": slope,
            "tracemalloc_top": top,
            "machine": machine(),
        },
        args.out,
    )


if __name__ == "__main__":
    main()
