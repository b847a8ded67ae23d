"""Smoke runs of every benchmark script on tiny inputs: each must run end to end and emit its JSON.

Nothing here is timed or compared with a target (the figures live in BENCHMARKS.md); these tests only
keep the scripts working as the code they measure changes. They use the real default embedder, as the
benchmarks do.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _script(name: str) -> ModuleType:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tiny_locomo(path: Path) -> Path:
    """Two LoCoMo-shaped conversations written for the test (the real data set is never copied)."""

    def conv(sid: str, a: str, b: str, pet: str, city: str) -> dict:
        return {
            "sample_id": sid,
            "conversation": {
                "speaker_a": a,
                "speaker_b": b,
                "session_1_date_time": "1:56 pm on 8 May, 2023",
                "session_1": [
                    {"speaker": a, "dia_id": "D1:1", "text": f"I adopted a {pet} last week!"},
                    {"speaker": b, "dia_id": "D1:2", "text": "Congrats! What is its name?"},
                    {
                        "speaker": a,
                        "dia_id": "D1:3",
                        "text": "We call him Biscuit.",
                        "blip_caption": f"a photo of a {pet}",
                    },
                ],
                "session_2_date_time": "10:04 am on 2 June, 2023",
                "session_2": [
                    {"speaker": b, "dia_id": "D2:1", "text": f"I am moving to {city} next month."},
                    {"speaker": a, "dia_id": "D2:2", "text": "That is far away, I will miss you."},
                ],
            },
            "qa": [
                {"question": f"What pet did {a} adopt?", "answer": pet, "evidence": ["D1:1"], "category": 4},
                {"question": f"When did {a} adopt a pet?", "answer": "May 2023", "evidence": ["D1:1"], "category": 2},
                {"question": f"Where is {b} moving?", "answer": city, "evidence": ["D2:1; D9:9"], "category": 1},
                {"question": "What is the pet's name?", "answer": "Biscuit", "evidence": ["D1:3"], "category": 3},
                {"question": "Adversarial", "answer": "", "evidence": ["D1:2"], "category": 5},
            ],
        }

    data = [conv("conv-a", "Ann", "Bo", "puppy", "Lisbon"), conv("conv-b", "Cy", "Di", "kitten", "Oslo")]
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _json_out(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.slow  # a bench script run end to end
def test_locomo_retrieval_runs_all_modes_and_metrics(tmp_path: Path) -> None:
    data = _tiny_locomo(tmp_path / "locomo.json")
    out = tmp_path / "locomo_out.json"
    cache = tmp_path / "vectors.npz"
    module = _script("locomo_retrieval")
    assert module.main(["--data", str(data), "--doc-cache", str(cache), "--out", str(out)]) == 0
    result = _json_out(out)
    assert result["memories"] == 10 and result["questions"] == 8
    assert result["skipped_evidence_ids"] == ["conv-a:D9:9", "conv-b:D9:9"]
    for mode in ("hybrid", "vector", "keyword", "bm25"):
        scores = result["results"][mode]["all"]
        assert set(scores) >= {"recall@1", "recall@5", "recall@10", "hit@10", "ndcg@10"}
        assert all(0.0 <= scores[k] <= 1.0 for k in scores if k != "n")
    # Ten turns per tenant, top 10: every evidence turn is found by the searches through the service.
    assert result["results"]["hybrid"]["all"]["recall@10"] == 1.0
    # The cache was written, and a second run reads the turn vectors from it.
    assert cache.exists()
    assert module.main(["--data", str(data), "--doc-cache", str(cache), "--modes", "keyword", "--out", str(out)]) == 0
    assert _json_out(out)["ingest"]["memories_per_s"] is None


def test_locomo_bm25_baseline_ranks_by_term_weight() -> None:
    module = _script("locomo_retrieval")
    bm25 = module.BM25(["the cat sat", "the dog ran far", "a cat and a dog"])
    assert bm25.rank("cat", 3) == [0, 2]  # the shorter document first; no match, no rank
    assert bm25.rank("zebra", 3) == []


def test_locomo_ndcg_is_one_for_a_perfect_ranking() -> None:
    module = _script("locomo_retrieval")
    perfect = module.metrics([{"ranked": ["a", "b", "x"], "evidence": ["a", "b"]}])
    assert perfect["ndcg@10"] == 1.0 and perfect["recall@1"] == 0.5 and perfect["hit@10"] == 1.0
    late = module.metrics([{"ranked": ["x", "y", "a"], "evidence": ["a"]}])
    assert 0 < late["ndcg@10"] < 1 and late["recall@1"] == 0.0


@pytest.mark.slow  # a bench script run end to end
def test_latency_runs_on_a_tiny_store(tmp_path: Path) -> None:
    out = tmp_path / "latency.json"
    args = ["--sizes", "30", "--searches", "2", "--adds", "2", "--no-contention", "--out", str(out)]
    assert _script("latency").main(args) == 0
    assert _json_out(out)["sizes"][0]["size"] == 30


@pytest.mark.slow  # a bench script run end to end
def test_calibration_runs_on_a_few_questions(tmp_path: Path) -> None:
    data = _tiny_locomo(tmp_path / "locomo.json")
    out = tmp_path / "calibration.json"
    assert (
        _script("calibration").main(["--data", str(data), "--questions", "4", "--negatives", "1", "--out", str(out)])
        == 0
    )
    assert _json_out(out)["bench"] == "calibration"


@pytest.mark.slow  # a bench script run end to end
def test_cold_start_spawns_the_stdio_server(tmp_path: Path) -> None:
    out = tmp_path / "cold.json"
    assert _script("cold_start").main(["--runs", "1", "--out", str(out)]) == 0
    assert _json_out(out)["errors"] == []


@pytest.mark.slow  # a bench script run end to end
def test_scale_runs_on_a_tiny_store(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    kept = tmp_path / "kept"
    args = [
        "--sizes",
        "200,400",
        "--real",
        "60",
        "--tenants",
        "3",
        "--searches",
        "2",
        "--ops",
        "3",
        "--ann-queries",
        "2",
        "--ingest",
        "10",
        "--ingest-single",
        "2",
        "--ab",
        "--keep",
        str(kept),
        "--out",
        str(out),
    ]
    assert _script("scale").main(args) == 0
    result = _json_out(out)
    assert [s["size"] for s in result["sizes"]] == [200, 400]
    for entry in result["sizes"]:
        assert entry["ann"] and all(0.0 <= a["ann"]["recall@10"] <= 1.0 for a in entry["ann"].values())
        assert all(a["resident"]["recall@10"] == 1.0 and a["resident"]["resident"] for a in entry["ann"].values())
        assert entry["disk_bytes_per_memory"] > 0
        assert len(entry["ab"]) == 10 and all(r["before"]["n"] == 2 for r in entry["ab"].values())
    assert result["ingestion"]["import_memories_batched"]["per_s"] > 0
    # ann_params.py runs on the kept store: the shipped index and a rebuilt one, then the shipped restored
    out2 = tmp_path / "ann.json"
    args = [
        "--data",
        str(kept / "data"),
        "--tenants",
        "tenant-00",
        "--queries",
        "2",
        "--limit",
        "10",
        "--ef",
        "0,60",
        "--builds",
        "shipped,partitions=2:m=8",
        "--out",
        str(out2),
    ]
    assert _script("ann_params").main(args) == 0
    cells = _json_out(out2)["results"]
    assert {c["build"] for c in cells} == {"shipped", "partitions=2:m=8", "resident (exact scan)"}
    assert all(0.0 <= c["recall@10"] <= 1.0 for c in cells)
    # cache_ab.py on the kept store: two cache bounds, one child process each, interleaved
    out3 = tmp_path / "cache_ab.json"
    args = ["--store", str(kept / "data"), "--configs", "48:16,2:1", "--tenants", "tenant-00"]
    assert _script("cache_ab").main([*args, "--rounds", "2", "--per-round", "2", "--out", str(out3)]) == 0
    configs = _json_out(out3)["configs"]
    assert set(configs) == {"48:16", "2:1"}
    assert all(case["n"] == 4 for c in configs.values() for case in c["cases"].values())
    assert all(c["rss_mib"] > 0 for c in configs.values())
    from mem_mcp import MemoryService, Settings

    svc = MemoryService(Settings(data_dir=kept / "data", _env_file=None))
    _, table, _ = svc._table_of("default")
    assert ("vector",) not in {tuple(i.columns) for i in table.list_indices()}  # 400 rows: none, as before
    svc.close()


@pytest.mark.slow  # a bench script run end to end
def test_fit_fusion_collects_pools_fits_and_checks_against_fuse(tmp_path: Path) -> None:
    data = _tiny_locomo(tmp_path / "locomo.json")
    pool, out = tmp_path / "pool.pkl", tmp_path / "fit.json"
    module = _script("fit_fusion")
    assert module.main(["--data", str(data), "--pool", str(pool), "--out", str(out)]) == 0
    result = _json_out(out)
    # The shipped constants, re-applied offline by retrieval.fuse, give back what search_memories returned.
    assert result["questions"] == 8 and result["reproduced_searches"] == 8
    assert set(result["fitted"]["params"]) == set(result["shipped"]["params"])
    assert result["fitted"]["params"]["SEMANTIC_WEIGHT"] == result["shipped"]["params"]["SEMANTIC_WEIGHT"]
    # A second run reads the pools from the file and only checks the shipped constants.
    assert pool.exists()
    assert module.main(["--pool", str(pool), "--no-fit", "--out", str(out)]) == 0
    assert "fitted" not in _json_out(out)


@pytest.mark.slow  # a bench script run end to end
def test_bilingual_search_compares_rankings_in_both_languages(tmp_path: Path) -> None:
    out = tmp_path / "bilingual.json"
    assert _script("bilingual_search").main(["--out", str(out)]) == 0
    results = _json_out(out)["results"]
    assert len(results) == 4  # two store layouts x (shipped, previous fusion)
    for entry in results.values():
        assert {entry["zh"]["questions"], entry["en"]["questions"]} == {20}
        assert 0.0 <= entry["zh"]["mrr"] <= 1.0 and 0.0 <= entry["en"]["mrr"] <= 1.0


def _bilingual_facts_data(tmp_path: Path) -> Path:
    import json as _json

    data = tmp_path / "facts"
    data.mkdir()

    def write(name: str, rows: list[dict]) -> None:
        (data / name).write_text("".join(_json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")

    write(
        "memories.jsonl",
        [
            {"id": "z001", "text": "用户对花生过敏", "group": "allergy"},
            {"id": "e001", "text": "The user is allergic to shellfish", "group": "allergy"},
            {"id": "z002", "text": "用户的女儿叫米娅", "group": "kids"},
            {"id": "e002", "text": "The user's dog is called Lucky", "group": "pets"},
        ],
    )
    write("dev.jsonl", [{"q": "Which nut am I allergic to?", "a": "z001"}, {"q": "我的狗叫什么？", "a": "e002"}])
    write(
        "heldout.jsonl", [{"q": "What is my daughter called?", "a": "z002"}, {"q": "我对什么海鲜过敏？", "a": "e001"}]
    )
    write(
        "changes.jsonl",
        [{"id": "c01", "old": "用户住在上海", "new": "用户搬到了深圳", "q": "我住在哪里？", "slot": "home"}],
    )
    write(
        "unanswerable.jsonl",
        [{"q": "Which golf club am I in?", "split": "dev"}, {"q": "我的游艇在哪？", "split": "heldout"}],
    )
    return data


def test_bilingual_facts_scores_both_directions_changes_and_floors(tmp_path: Path) -> None:
    data = _bilingual_facts_data(tmp_path)
    out = tmp_path / "bf.json"
    module = _script("bilingual_facts")
    assert module.main(["--data", str(data), "--no-locomo", "--changes-via", "add", "--out", str(out)]) == 0
    shipped = _json_out(out)["results"]["shipped"]
    assert shipped["dev"]["all"]["n"] == 2 and shipped["heldout"]["en->zh"]["n"] == 1
    assert 0.0 <= shipped["heldout"]["all"]["top1"] <= 1.0
    assert shipped["changes"]["events"] == {"c01": "UPDATE"} and shipped["changes"]["old_still_found"] == 0.0
    assert set(shipped["dev_floors"]) >= {"0.0", "0.02"}
    gates = shipped["dev_gates"]
    assert set(gates["0.5"]) == {"answered", "never_mentioned", "off_topic"}
    assert gates["off_topic_best_median"] is not None  # the off-topic requests were asked of the store
    emptied = [gates[str(g)]["off_topic"] for g in module.GATES]
    assert emptied == sorted(emptied)  # a higher gate empties at least as many


def test_bilingual_facts_raw_cache_serves_a_second_run_and_dev_only_skips_heldout(tmp_path: Path) -> None:
    data = _bilingual_facts_data(tmp_path)
    cache = tmp_path / "raw.npz"
    module = _script("bilingual_facts")
    args = ["--data", str(data), "--no-locomo", "--question-splits", "dev", "--raw-cache", str(cache)]
    assert module.main([*args, "--out", str(tmp_path / "a.json")]) == 0
    first = cache.stat().st_mtime_ns
    assert module.main([*args, "--out", str(tmp_path / "b.json")]) == 0
    assert cache.stat().st_mtime_ns == first  # every vector came from the cache: nothing new to save
    a, b = (_json_out(tmp_path / n)["results"]["shipped"] for n in ("a.json", "b.json"))
    assert a["dev"] == b["dev"] and "heldout" not in a and a["dev"]["all"]["n"] == 2


@pytest.mark.slow
def test_reliability_smoke_prints_its_table(tmp_path: Path) -> None:
    """bench/reliability.py --smoke: every part runs (numbers mean little at this size)."""
    import subprocess

    out = subprocess.run(
        [
            sys.executable,
            str(BENCH / "reliability.py"),
            "--smoke",
            "--parts",
            "kills,races,writers",
            "--out",
            str(tmp_path / "r.json"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["races"]["update_lost_trials"] == 0 and result["writers"]["lost"] == 0
    assert "| 3 threads update one memory |" in out.stdout
