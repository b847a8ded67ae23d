"""Smoke run of bench/offline_extraction_quality.py on the held-out table: the script runs the real offline
extractor over every case and reports per-language precision and recall. Not a threshold on the numbers
(they are measured and recorded in BENCHMARKS.md), only that they are well-formed and consistent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_heldout_table_is_large_enough_and_bilingual():
    sys.path.insert(0, str(BENCH))
    try:
        from offline_heldout_cases import HELDOUT_CASES
    finally:
        sys.path.remove(str(BENCH))
    ids = [c.id for c in HELDOUT_CASES]
    assert len(ids) == len(set(ids)) >= 40
    langs = [c.lang for c in HELDOUT_CASES]
    assert langs.count("zh") == langs.count("en")
    assert any(not c.must and not c.retract for c in HELDOUT_CASES if c.lang == "zh")
    assert any(not c.must and not c.retract for c in HELDOUT_CASES if c.lang == "en")


def test_quality_script_reports_precision_and_recall_on_heldout_table():
    out = subprocess.run(
        [sys.executable, str(BENCH / "offline_extraction_quality.py"), "--table", "held-out"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["bench"] == "offline_extraction_quality" and "development" not in result
    table = result["held-out"]
    for key in ("zh", "en", "all"):
        row = table[key]
        assert 0.0 <= row["precision"] <= 1.0 and 0.0 <= row["recall"] <= 1.0
        assert row["found"] <= row["expected"] and row["correct"] <= row["candidates"]
        assert row["cases"] > 0 and row["expected"] > 0
    assert table["all"]["cases"] == table["zh"]["cases"] + table["en"]["cases"]
    assert table["all"]["expected"] == table["zh"]["expected"] + table["en"]["expected"]
    misses = len(table["misses"])
    unfound = table["all"]["expected"] - table["all"]["found"]
    wrong = table["all"]["candidates"] - table["all"]["correct"]
    assert misses == unfound + wrong
    assert "| held-out | all |" in out.stdout
