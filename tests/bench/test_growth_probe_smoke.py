"""bench/growth_probe.py runs and reports every counter it promises (the figures live in BENCHMARKS.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.slow
def test_growth_probe_smoke(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(BENCH / "growth_probe.py"),
            "--writes",
            "40",
            "--samples",
            "2",
            "--out",
            str(tmp_path / "g.json"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert [s["writes"] for s in result["samples"]] == [0, 20, 40]
    last = result["samples"][-1]
    assert last["rss_mib"] > 0 and last["lance_cache_mib"] > 0 and "heap_used_mib" in last
    assert "rss_mib" in result["slope_kib_per_write"]
