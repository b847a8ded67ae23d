"""RSS of the cross-lingual term tables over many distinct Chinese memories: what a long-running server
keeps per memory text that its searches have seen (names across scripts, dictionary words).

Each step asks ``retrieval.across_terms`` what one new Chinese memory of ``--chars`` characters covers
of an English question that names someone in pinyin ("Lele"), and what an English memory covers of a
Chinese question, as a search over a store of such memories does for each candidate. RSS is sampled
four times; a bounded design flattens out, an unbounded one grows with every text.

    .venv/bin/python bench/across_rss.py --texts 20000 --chars 200
    .venv/bin/python bench/across_rss.py --texts 2000 --src /tmp/before/src   # another checkout's code
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit_json, log, machine, md_table, rss_mib  # noqa: E402

BASE = "用户周末喜欢自己下厨拿手菜是红烧肉儿子乐乐对花生过敏每周日上午上游泳课公司总部在北京深圳分公司上班"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=20000)
    ap.add_argument("--chars", type=int, default=200)
    ap.add_argument("--src", default=None, help="import mem_mcp from this src directory instead")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    if args.src:
        sys.path.insert(0, args.src)
    from mem_mcp import retrieval

    retrieval.load_across_tables()
    rng = random.Random(1)
    start = rss_mib()
    question = "Is my son Lele allergic to peanuts? Does he swim on Sunday?"
    terms = retrieval.query_terms(question)
    samples = []
    t0 = time.perf_counter()
    for i in range(args.texts):
        text = "".join(rng.choice(BASE) for _ in range(args.chars)) + str(i)
        retrieval.across_terms(question, terms, text)
        zh = text[:12]
        retrieval.across_terms(zh, retrieval.query_terms(zh), f"The user's son Lele is allergic to peanuts ({i})")
        if (i + 1) % max(1, args.texts // 4) == 0:
            samples.append((i + 1, round(rss_mib(), 1)))
            log(f"[across] {i + 1} texts: RSS {samples[-1][1]} MiB")
    seconds = time.perf_counter() - t0
    # The longest texts a client may send (max_text_chars), never cached: one search candidate's cost.
    long_zh = "".join(rng.choice(BASE) for _ in range(8000))
    long_en = (
        " ".join(f"{a}{b}".capitalize() for a in ("le", "nan", "xiao", "wang") for b in ("le", "shan", "chen")) * 60
    )
    eight = "Is my son Lele allergic to peanuts, shellfish or eggs on Sunday mornings?"
    timings = {}
    # per candidate, as a search calls it: the query's side made once (retrieval.across_query)
    for label, q, memory in (
        ("8,000-char Chinese memory, 8-term English question", eight, long_zh),
        ("8,000-char Chinese question, English memory of many names", long_zh, long_en[:8000]),
    ):
        terms_q = retrieval.query_terms(q)
        t = time.perf_counter()
        prepared = retrieval.across_query(q, terms_q)
        timings[label + ": the query's side, once a search"] = round((time.perf_counter() - t) * 1e3, 1)
        for when in ("first search", "next search"):
            t = time.perf_counter()
            retrieval.across_terms(q, terms_q, memory, prepared)
            timings[f"{label}: the candidate, {when}"] = round((time.perf_counter() - t) * 1e3, 1)
    rows = [[n, f"{r:.0f}", f"{r - start:+.0f}"] for n, r in samples]
    print(f"\nCross-lingual term tables, {args.chars}-character Chinese memories; RSS at the start {start:.0f} MiB\n")
    print(md_table(["texts seen", "RSS MiB", "growth MiB"], rows))
    print(f"\n{seconds / args.texts * 1e3:.2f} ms per text (both directions)")
    for label, ms in timings.items():
        print(f"{label}: {ms} ms")
    print()
    emit_json(
        "across_rss",
        {
            "machine": machine(),
            "src": args.src or "src",
            "chars": args.chars,
            "rss_start_mib": round(start, 1),
            "samples": samples,
            "ms_per_text": round(seconds / args.texts * 1e3, 3),
            "long_text_ms": timings,
        },
        args.out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
