"""bench/ui_load.py runs end to end on a tiny store (the real figures are in BENCHMARKS.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_ui_load_bench_runs(tmp_path: Path) -> None:
    out = tmp_path / "ui_load.json"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "ui_load.py"),
            "--memories",
            "40",
            "--repeats",
            "2",
            "--no-browser",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["memories"] == 40
    assert {"memories, first page", "search (distinct queries)"} <= set(result["results"])
    assert all(r["server"]["n"] == 2 and r["server"]["p50_ms"] > 0 for r in result["results"].values())
