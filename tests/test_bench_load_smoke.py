"""Smoke run of bench/load_http.py: it starts a real HTTP server, loads it briefly, and verifies that
every acknowledged write is present. Not timed: the benchmark's numbers live in BENCHMARKS.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "load_http.py"


def test_load_test_smoke_run_loses_no_writes():
    out = subprocess.run([sys.executable, str(BENCH), "--smoke"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["acknowledged"] > 0 and result["lost"] == 0 and result["errors"] == 0
    assert result["foreign_hits"] == 0 and result["latency"]["add"]["n"] > 0
