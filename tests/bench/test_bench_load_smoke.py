"""Smoke run of bench/load_http.py: it starts a real HTTP server, makes 2 clients do 6 operations each
(a count, not a duration: a busy machine makes it slower, never emptier), and verifies that every
acknowledged write is present. Not timed: the benchmark's numbers live in BENCHMARKS.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "load_http.py"


@pytest.mark.slow  # a server process with the real model
def test_load_test_smoke_run_loses_no_writes():
    out = subprocess.run([sys.executable, str(BENCH), "--smoke"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["ops"] == 2 * 6 and result["errors"] == 0, result["error_samples"]
    # Each client's first operation is an add.
    assert result["acknowledged"] >= 2 and result["lost"] == 0 and result["unexpected"] == 0
    assert result["foreign_hits"] == 0 and result["latency"]["add"]["n"] > 0
