"""Where does the default embedder put related and unrelated (query, passage) pairs?

retrieval.py maps the model's raw cosine to [0, 1]: with a fixed ``Calibration(floor, ceiling)`` (0 at
or below ``floor``, 1 at or above ``ceiling``), and, where retrieval.py has it, per query: the floor
is the median cosine of the query to built-in unrelated sentences of the memory's language
(``retrieval.BACKGROUND``), the scale a fixed span. This measures the raw cosine (``embed_query`` vs
``embed_documents`` of the service's default embedder) of

- related pairs: a LoCoMo question (categories 1-4) and each of its evidence turns;
- unrelated pairs: a LoCoMo question and random turns of *other* conversations;
- same-conversation non-evidence: a question and random turns of its own conversation that are not
  evidence (the neighbours a search actually has to rank below the evidence);
- 20 hand-written Chinese (question, memory) pairs and their English translations, related and
  shuffled, within each language and across the two (zh question / en memory and the reverse).

and prints p5/p50/p95 of each, with a suggested floor (≈ p50 of unrelated) and ceiling (≈ p95 of
related) per source, the scores the fixed calibration and the service's per-query calibration give
each group, and whether the right memory ranks first in a small mixed-language store.

    .venv/bin/python bench/calibration.py                 # 400 questions
    .venv/bin/python bench/calibration.py --questions 1536
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from locomo_retrieval import CATEGORIES, normalise_evidence, sample_turns  # noqa: E402

from _common import REPO, emit_json, loadavg, log, machine, md_table, percentile, quiet_lance  # noqa: E402

quiet_lance()

import numpy as np  # noqa: E402

# (query, related passage): memories as an agent would save them, and questions about them.
ZH_PAIRS = [
    ("用户喜欢喝什么？", "用户每天早上都喝一杯绿茶。"),
    ("用户对什么过敏？", "用户对花生过敏，吃了会起疹子。"),
    ("用户住在哪里？", "用户去年搬到了杭州西湖区。"),
    ("用户的工作是什么？", "用户在一家互联网公司做前端工程师。"),
    ("用户养了什么宠物？", "用户养了一只叫豆豆的柯基犬。"),
    ("用户什么时候去北京出差？", "用户下个月十号去北京出差三天。"),
    ("用户的生日是哪天？", "用户的生日是九月十八日。"),
    ("用户平时做什么运动？", "用户每天早上跑步五公里。"),
    ("用户喜欢什么音乐？", "用户最喜欢听周杰伦的歌。"),
    ("用户的孩子多大了？", "用户的女儿今年六岁，刚上小学一年级。"),
    ("用户吃素吗？", "用户是素食者，不吃肉也不吃鱼。"),
    ("用户在学什么语言？", "用户正在学习日语，准备明年去东京留学。"),
    ("用户的车是什么牌子？", "用户开一辆白色的比亚迪电动车。"),
    ("用户喜欢看什么电影？", "用户喜欢看科幻电影，最爱《星际穿越》。"),
    ("用户的妹妹住在哪？", "用户的妹妹住在上海浦东。"),
    ("用户周末一般做什么？", "用户周末通常去爬山或者在家看书。"),
    ("用户喜欢吃辣吗？", "用户很能吃辣，最爱重庆火锅。"),
    ("用户的血型是什么？", "用户是O型血。"),
    ("用户睡眠怎么样？", "用户最近失眠，每天只睡五个小时。"),
    ("用户有什么爱好？", "用户业余时间喜欢练书法和下围棋。"),
]
# The same facts in English (translations of ZH_PAIRS, in order): gives English-only pairs with the
# same template effect as the Chinese ones, and both cross-language directions.
EN_PAIRS = [
    ("What does the user like to drink?", "The user drinks a cup of green tea every morning."),
    ("What is the user allergic to?", "The user is allergic to peanuts and gets a rash after eating them."),
    ("Where does the user live?", "The user moved to Xihu District in Hangzhou last year."),
    ("What is the user's job?", "The user works as a front-end engineer at an internet company."),
    ("What pet does the user have?", "The user has a corgi named Doudou."),
    (
        "When is the user going to Beijing on business?",
        "The user goes to Beijing on the 10th of next month for a three-day business trip.",
    ),
    ("When is the user's birthday?", "The user's birthday is on September 18."),
    ("What exercise does the user usually do?", "The user runs five kilometres every morning."),
    ("What music does the user like?", "The user's favourite songs are Jay Chou's."),
    ("How old is the user's child?", "The user's daughter is six this year and just started first grade."),
    ("Is the user vegetarian?", "The user is a vegetarian and eats neither meat nor fish."),
    ("What language is the user learning?", "The user is learning Japanese to study in Tokyo next year."),
    ("What brand is the user's car?", "The user drives a white BYD electric car."),
    ("What films does the user like?", "The user likes science-fiction films, Interstellar most of all."),
    ("Where does the user's sister live?", "The user's sister lives in Pudong, Shanghai."),
    ("What does the user usually do at weekends?", "At weekends the user usually goes hiking or reads at home."),
    ("Does the user like spicy food?", "The user loves spicy food, Chongqing hotpot most of all."),
    ("What is the user's blood type?", "The user's blood type is O."),
    ("How does the user sleep?", "The user has insomnia lately and sleeps only five hours a night."),
    ("What are the user's hobbies?", "In their spare time the user practises calligraphy and plays Go."),
]


def pct(values: list[float]) -> dict[str, float]:
    return {f"p{q}": round(percentile(values, q), 4) for q in (5, 25, 50, 75, 95)} | {"n": len(values)}


def clamp_share(values: list[float], floor: float, ceiling: float) -> tuple[float, float]:
    """Share of pairs mapped to 0 (<= floor) and to 1 (>= ceiling)."""
    arr = np.asarray(values)
    return float(np.mean(arr <= floor)), float(np.mean(arr >= ceiling))


def main(argv: "list[str] | None" = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "bench" / "locomo10.json"))
    ap.add_argument("--questions", type=int, default=400, help="LoCoMo questions sampled (categories 1-4)")
    ap.add_argument("--negatives", type=int, default=3, help="unrelated turns per question, of each kind")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    from mem_mcp import retrieval
    from mem_mcp.embeddings import make_embedder

    info = machine()
    started = time.perf_counter()
    rng = random.Random(args.seed)
    data = json.loads(Path(args.data).read_text(encoding="utf-8"))
    emb = make_embedder("auto")
    emb.load()
    fixed = retrieval.calibration_for(emb.name)
    per_query = hasattr(retrieval, "QueryCalibration") and hasattr(retrieval, "BACKGROUND")

    turns: dict[tuple[str, str], str] = {}
    by_sample: dict[str, list[str]] = {}
    questions: list[dict[str, Any]] = []
    for sample in data:
        sid = sample["sample_id"]
        ts = sample_turns(sample)
        by_sample[sid] = [t["dia_id"] for t in ts]
        for t in ts:
            turns[(sid, t["dia_id"])] = t["text"]
        for q in sample["qa"]:
            if q.get("category") not in CATEGORIES:
                continue
            ev = [e for e in normalise_evidence(q.get("evidence")) if (sid, e) in turns]
            if ev:
                questions.append({"sample": sid, "question": str(q["question"]), "evidence": ev})
    rng.shuffle(questions)
    questions = questions[: args.questions]
    samples = list(by_sample)

    related: list[tuple[int, tuple[str, str]]] = []
    other: list[tuple[int, tuple[str, str]]] = []
    same: list[tuple[int, tuple[str, str]]] = []
    for qi, q in enumerate(questions):
        related += [(qi, (q["sample"], e)) for e in q["evidence"]]
        for _ in range(args.negatives):
            sid = rng.choice([s for s in samples if s != q["sample"]])
            other.append((qi, (sid, rng.choice(by_sample[sid]))))
            pool = [d for d in by_sample[q["sample"]] if d not in q["evidence"]]
            same.append((qi, (q["sample"], rng.choice(pool))))

    keys = sorted({k for _, k in related + other + same})
    log(f"[embed] {len(questions)} questions, {len(keys)} turns")
    t0 = time.perf_counter()
    loco_q = np.stack([emb.embed_query(q["question"]) for q in questions])
    dvecs = emb.embed_documents([turns[k] for k in keys])
    zh_q = np.stack([emb.embed_query(q) for q, _ in ZH_PAIRS])
    en_q = np.stack([emb.embed_query(q) for q, _ in EN_PAIRS])
    zh_texts, en_texts = [p for _, p in ZH_PAIRS], [p for _, p in EN_PAIRS]
    zh_p = emb.embed_documents(zh_texts)
    en_p = emb.embed_documents(en_texts)
    embed_s = time.perf_counter() - t0
    index = {k: i for i, k in enumerate(keys)}

    # Every query vector in one matrix; a pair is (row of Q, memory text, raw cosine).
    Q = np.concatenate([loco_q, zh_q, en_q])
    zh_off, en_off = len(loco_q), len(loco_q) + len(zh_q)
    Pair = tuple[int, str, float]

    def loco(pairs: list[tuple[int, tuple[str, str]]]) -> list[Pair]:
        return [(qi, turns[k], float(loco_q[qi] @ dvecs[index[k]])) for qi, k in pairs]

    def hand_pairs(q_off: int, qv: np.ndarray, pv: np.ndarray, texts: list[str]) -> tuple[list[Pair], list[Pair]]:
        """Query i belongs with memory i; every other combination is an unrelated pair."""
        sims = qv @ pv.T
        n = len(qv)
        rel = [(q_off + i, texts[i], float(sims[i, i])) for i in range(n)]
        unrel = [(q_off + i, texts[j], float(sims[i, j])) for i in range(n) for j in range(n) if i != j]
        return rel, unrel

    hand = {
        "Chinese": hand_pairs(zh_off, zh_q, zh_p, zh_texts),
        "English (same facts)": hand_pairs(en_off, en_q, en_p, en_texts),
        "zh question, en memory": hand_pairs(zh_off, zh_q, en_p, en_texts),
        "en question, zh memory": hand_pairs(en_off, en_q, zh_p, zh_texts),
    }
    groups: dict[str, list[Pair]] = {
        "LoCoMo related (question, evidence turn)": loco(related),
        "LoCoMo same conversation, not evidence": loco(same),
        "LoCoMo unrelated (other conversation)": loco(other),
    }
    for name, (rel, unrel) in hand.items():
        groups[f"{name} related"] = rel
        groups[f"{name} unrelated (shuffled)"] = unrel
    raw = {name: [c for _, _, c in v] for name, v in groups.items()}

    # The service's scoring of each pair: the fixed calibration, and the per-query one if present.
    span = None
    if per_query:
        span = retrieval.span_for(emb.name)
        background = {lang: emb.embed_documents(list(texts)) for lang, texts in retrieval.BACKGROUND.items()}
        qcals = [
            retrieval.QueryCalibration.from_background({lang: (b @ q).tolist() for lang, b in background.items()}, span)
            for q in Q
        ]

    def service_score(pair: Pair) -> float:
        qi, text, c = pair
        if per_query:
            return float(qcals[qi](c, retrieval.language(text)))
        return float(fixed(c))

    scored = {name: [service_score(p) for p in v] for name, v in groups.items()}
    stats = {name: pct(v) for name, v in raw.items()}

    def suggest(rel: list[float], unrel: list[float]) -> tuple[float, float]:
        return round(percentile(unrel, 50), 2), round(percentile(rel, 95), 2)

    suggestions = {
        "LoCoMo (English chat turns)": suggest(
            raw["LoCoMo related (question, evidence turn)"], raw["LoCoMo unrelated (other conversation)"]
        ),
        **{f"hand-written {n}": suggest(raw[f"{n} related"], raw[f"{n} unrelated (shuffled)"]) for n in hand},
    }
    suggested = suggestions["LoCoMo (English chat turns)"]

    # How often a related pair outscores an unrelated one (pairwise ROC AUC).
    def auc(pos: list[float], neg: list[float]) -> float:
        p = np.asarray(pos)[:, None]
        n = np.asarray(neg)[None, :]
        return round(float(np.mean(p > n) + 0.5 * np.mean(p == n)), 4)

    contrasts = {
        "LoCoMo related vs other conversation": (
            "LoCoMo related (question, evidence turn)",
            "LoCoMo unrelated (other conversation)",
        ),
        "LoCoMo related vs same conversation": (
            "LoCoMo related (question, evidence turn)",
            "LoCoMo same conversation, not evidence",
        ),
        **{f"{n} related vs shuffled": (f"{n} related", f"{n} unrelated (shuffled)") for n in hand},
        "zh question: en answer vs unrelated zh memory": (
            "zh question, en memory related",
            "Chinese unrelated (shuffled)",
        ),
        "en question: zh answer vs unrelated en memory": (
            "en question, zh memory related",
            "English (same facts) unrelated (shuffled)",
        ),
    }
    aucs = {k: {"raw": auc(raw[a], raw[b]), "service": auc(scored[a], scored[b])} for k, (a, b) in contrasts.items()}

    # A mixed-language store: facts 0-9 saved in one language, facts 10-19 in the other. Asking about
    # facts 0-9 in the *other* language, is the right memory ranked first?
    half = len(ZH_PAIRS) // 2

    def mixed(
        q_off: int, qv: np.ndarray, ans: tuple[np.ndarray, list[str]], dis: tuple[np.ndarray, list[str]]
    ) -> dict[str, Any]:
        vecs = np.concatenate([ans[0][:half], dis[0][half:]])
        texts = ans[1][:half] + dis[1][half:]
        out: dict[str, Any] = {}
        for how in ("raw cosine", "service score"):
            ranks = []
            for i in range(half):
                cos = vecs @ qv[i]
                val = (
                    cos
                    if how == "raw cosine"
                    else np.array([service_score((q_off + i, t, float(c))) for t, c in zip(texts, cos)])
                )
                order = np.argsort(-val, kind="stable")
                ranks.append(int(np.where(order == i)[0][0]) + 1)
            out[how] = {
                "top1": round(float(np.mean([r == 1 for r in ranks])), 2),
                "mean_rank": round(float(np.mean(ranks)), 2),
            }
        return out

    zh_set, en_set = (zh_p, zh_texts), (en_p, en_texts)
    mixed_store = {
        "zh questions, answers in en, other memories zh": mixed(zh_off, zh_q, en_set, zh_set),
        "en questions, answers in zh, other memories en": mixed(en_off, en_q, zh_set, en_set),
        "zh questions, all memories zh (control)": mixed(zh_off, zh_q, zh_set, zh_set),
        "en questions, all memories en (control)": mixed(en_off, en_q, en_set, en_set),
    }

    scheme = (
        f"per-query floors from retrieval.BACKGROUND, span {span}"
        if per_query
        else f"Calibration({fixed.floor}, {fixed.ceiling})"
    )
    rows = []
    for name, v in raw.items():
        s = stats[name]
        sc = scored[name]
        s0, s1 = clamp_share(v, *suggested)
        rows.append(
            [
                name,
                s["n"],
                s["p5"],
                s["p50"],
                s["p95"],
                round(percentile([fixed(c) for c in v], 50), 2),
                round(percentile(sc, 50), 2),
                f"{np.mean(np.asarray(sc) >= 0.3):.0%}",
                f"{s0:.0%} / {s1:.0%}",
            ]
        )
    print(
        f"\nRaw cosine of {emb.name} (query: vs passage:), {len(questions)} LoCoMo questions; "
        f"service scoring: {scheme}\n"
    )
    print(
        md_table(
            [
                "pairs",
                "n",
                "p5",
                "p50",
                "p95",
                f"p50 score, fixed Calibration({fixed.floor}, {fixed.ceiling})",
                "p50 score, service",
                "share with service score >= 0.3",
                f"at 0 / at 1 under suggested {suggested}",
            ],
            rows,
        )
    )
    print(
        "\n"
        + md_table(
            ["separation (pairwise AUC)", "raw cosine", "service score"],
            [[k, v["raw"], v["service"]] for k, v in aucs.items()],
        )
    )
    print(
        "\n"
        + md_table(
            ["suggestion from", "floor (p50 unrelated)", "ceiling (p95 related)"],
            [[k, f, c] for k, (f, c) in suggestions.items()],
        )
    )
    print(
        "\n"
        + md_table(
            [
                f"mixed-language store ({half} answers + {len(ZH_PAIRS) - half} other memories)",
                "top-1, raw cosine",
                "mean rank, raw cosine",
                "top-1, service score",
                "mean rank, service score",
            ],
            [
                [
                    k,
                    v["raw cosine"]["top1"],
                    v["raw cosine"]["mean_rank"],
                    v["service score"]["top1"],
                    v["service score"]["mean_rank"],
                ]
                for k, v in mixed_store.items()
            ],
        )
    )
    print(
        f"\nSuggested fixed calibration (from LoCoMo, the large sample): Calibration(floor={suggested[0]}, "
        f"ceiling={suggested[1]}); retrieval.calibration_for gives Calibration(floor={fixed.floor}, "
        f"ceiling={fixed.ceiling})."
    )
    print()
    emit_json(
        "calibration",
        {
            "machine": {**info, "loadavg_end": loadavg()},
            "args": vars(args),
            "model": emb.name,
            "service_scoring": scheme,
            "questions": len(questions),
            "percentiles": stats,
            "service_score_p50": {k: round(percentile(v, 50), 4) for k, v in scored.items()},
            "auc": aucs,
            "mixed_language_store": mixed_store,
            "fixed_calibration": {"floor": fixed.floor, "ceiling": fixed.ceiling},
            "suggested": {"floor": suggested[0], "ceiling": suggested[1]},
            "suggestions": {k: {"floor": f, "ceiling": c} for k, (f, c) in suggestions.items()},
            "embed_s": round(embed_s, 1),
            "wall_s": round(time.perf_counter() - started, 1),
        },
        args.out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
