"""Chinese and English questions through search_memories, over a store holding each fact in both languages.

The 20 hand-written Chinese (question, memory) pairs of ``calibration.py`` and their English
translations: all 40 memories in one tenant, either in one run or each in a run of its own (the run
context of the ranking acts differently on the two). Every question is asked with ``top_k=10``; a
hit is the memory of its fact in either language. Reported per question language: top-1 hits, how
often both versions fill the top 2, and the mean reciprocal rank, for the shipped ranking and for
the ranking before issue 5's learned fusion (``--what-if`` replaces ``mem_mcp.retrieval`` attributes,
as in ``locomo_retrieval.py``). LoCoMo is English only; this is the Chinese check of a ranking change.

    .venv/bin/python bench/bilingual_search.py --out bench/results/bilingual.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit_json, md_table, quiet_lance  # noqa: E402

quiet_lance()

from calibration import EN_PAIRS, ZH_PAIRS  # noqa: E402
from locomo_retrieval import parse_what_if  # noqa: E402

#: The fusion before issue 5's learned ranking: coverage and similarity, neighbour share 0.3.
PREVIOUS = "VECTOR_RANK_WEIGHT=0,KEYWORD_RANK_WEIGHT=0,LENGTH_WEIGHT=0,RUN_WEIGHT=0,NEIGHBOUR_SHARE=0.3"
LAYOUTS = {"one run": "one", "a run per memory": "own"}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--what-if",
        action="append",
        default=None,
        metavar="NAME=VALUE[,NAME=VALUE]",
        help=f"compare with these mem_mcp.retrieval attributes (default: {PREVIOUS})",
    )
    ap.add_argument("--out", default=None, help="also write the JSON result here")
    args = ap.parse_args(argv)

    from mem_mcp import MemoryService, Settings, retrieval

    variants = {"shipped": {}, **parse_what_if(args.what_if or [PREVIOUS], retrieval, ap)}
    tmp = tempfile.TemporaryDirectory(prefix="mem-mcp-bilingual-")
    svc = MemoryService(Settings(data_dir=Path(tmp.name), _env_file=None))
    records = [
        {
            "id": f"mem_{tenant}_{lang}_{i}",
            "text": memory,
            "type": "semantic",
            "metadata": {"fact": i},
            "scope": {
                "app_id": "bilingual",
                "tenant_id": tenant,
                "agent_id": "bench",
                "run_id": "chat" if tenant == "one" else f"{lang}{i}",
            },
        }
        for tenant in LAYOUTS.values()
        for lang, pairs in (("zh", ZH_PAIRS), ("en", EN_PAIRS))
        for i, (_, memory) in enumerate(pairs)
    ]
    svc.import_memories(records)

    results: dict[str, Any] = {}
    rows = []
    for layout, tenant in LAYOUTS.items():
        for variant, changes in variants.items():
            saved = {k: getattr(retrieval, k) for k in changes}
            for k, v in changes.items():
                setattr(retrieval, k, v)
            try:
                entry = {}
                for lang, pairs in (("zh", ZH_PAIRS), ("en", EN_PAIRS)):
                    top1 = both = 0
                    rr = 0.0
                    for i, (question, _) in enumerate(pairs):
                        res = svc.search_memories(
                            query=question, scope={"app_id": "bilingual", "tenant_id": tenant}, top_k=10
                        )
                        facts = [h.memory.metadata["fact"] for h in res.results]
                        top1 += bool(facts) and facts[0] == i
                        both += facts[:2] == [i, i]
                        rr += next((1 / (1 + r) for r, f in enumerate(facts) if f == i), 0.0)
                    entry[lang] = {
                        "questions": len(pairs),
                        "top1": top1,
                        "both_top2": both,
                        "mrr": round(rr / len(pairs), 3),
                    }
                    label = "previous fusion" if variant == f"hybrid {PREVIOUS}" else variant.replace("hybrid ", "")
                    rows.append(
                        [layout, label, lang, f"{top1}/{len(pairs)}", f"{both}/{len(pairs)}", entry[lang]["mrr"]]
                    )
                results[f"{layout} | {variant}"] = entry
            finally:
                for k, v in saved.items():
                    setattr(retrieval, k, v)
    print("\nBilingual search: 20 facts, each stored in Chinese and in English (40 memories per store)\n")
    print(md_table(["store", "ranking", "questions", "top-1 hit", "both versions in top 2", "MRR"], rows))
    print()
    emit_json("bilingual_search", {"variants": {k: v for k, v in variants.items()}, "results": results}, args.out)
    svc.close()
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
