"""Reliability harness (issue 13): crash, concurrency, memory/disk growth and HTTP-abuse checks, each
bounded in time, all on 127.0.0.1. Prints one markdown table and, last, one JSON line.

Parts (each runs in its own temporary data directory):
- kills:     a writer process (adds and updates through the service) is killed with SIGKILL at a
             random moment, again and again; afterwards every acknowledged write must be readable.
- races:     in one process, threads racing on one memory (update_memory), on one text (add_memories),
             and on one run's messages (seq), each repeated over trials.
- writers:   several processes on one data directory, each with threads, updating a shared set of
             memories and adding a shared pool of texts; then lost updates, versions acknowledged to
             two writers, memories with several active versions, duplicate ADDs and CONFLICTs counted.
- growth:    many text writes in one process with the default embedding model: RSS at the start, at
             the end, and its slope over the second half (KiB per write); then maintenance and disk
             bytes per memory, and the request log's manifests.
- s3:        the writers part on object storage, all updates on one memory: an S3 server (moto's server
             mode, from the [test] extra) on 127.0.0.1 and ``MEM_MCP_DB_URI=s3://...`` for every process;
             no lock joins them there.
- http:      a `mem-mcp serve --transport streamable-http` with tokens: one write token opening
             sessions with plain `initialize` for a while (how many it gets, whether another tenant
             can still open one, the server's RSS), then /healthz latency while the server is
             saturated with tool calls.

    .venv/bin/python bench/reliability.py                 # every part, default bounds (~6-8 min)
    .venv/bin/python bench/reliability.py --smoke         # tiny bounds: checks it runs (CI)
    .venv/bin/python bench/reliability.py --parts races,writers --writer-seconds 30
    .venv/bin/python bench/reliability.py --parts s3 --writer-seconds 60   # writers on an S3 bucket

Only public entry points are used (``from mem_mcp import MemoryService, Settings``, the CLI), so the
same script measures the code before and after a change.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit_json, loadavg, log, machine, md_table, percentile, quiet_lance, rss_mib  # noqa: E402

SCOPE = {"app_id": "bench", "tenant_id": "t1", "agent_id": "a1", "run_id": "r1"}
READ_SCOPE = {"app_id": "bench", "tenant_id": "t1", "agent_id": "*", "run_id": "*"}
PARTS = ("kills", "races", "writers", "s3", "growth", "http")


class BenchEmbedder:
    """A tiny deterministic embedder (the ``Embedder`` protocol) for the parts about correctness, so
    that several processes do not each load the real model on a shared 2-core machine."""

    name = "bench/hash-32"
    dim = 32

    def load(self) -> None:
        pass

    def _one(self, text: str) -> Any:
        import numpy as np

        vec = np.zeros(self.dim, dtype=np.float32)
        for term in text.lower().split():
            vec[int(hashlib.blake2b(term.encode(), digest_size=4).hexdigest(), 16) % self.dim] += 1.0
        vec[0] += 0.01
        return vec / np.linalg.norm(vec)

    def embed_documents(self, texts: Sequence[str]) -> Any:
        import numpy as np

        return np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text: str) -> Any:
        return self._one(text)


def _service(data: Path, real_model: bool = False, **settings: Any) -> Any:
    from mem_mcp import MemoryService, Settings

    s = Settings(data_dir=data, _env_file=None, **settings)
    return MemoryService(s) if real_model else MemoryService(s, embedder=BenchEmbedder())


def _code(exc: BaseException) -> str:
    return getattr(exc, "code", None) or type(exc).__name__


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


# -- child processes --------------------------------------------------------------------------------


def child_writer(args: argparse.Namespace) -> None:
    """Writes until killed or until --seconds pass; one JSON line per acknowledged write (flushed
    before the next write starts, so the parent knows exactly what was acknowledged)."""
    quiet_lance()
    svc = _service(Path(args.data))
    ids: list[str] = json.loads(Path(args.ids).read_text()) if args.ids else []
    pool = [f"The user shares fact number {k} with everyone" for k in range(args.same_texts)]
    lock = threading.Lock()
    deadline = time.monotonic() + args.seconds

    def emit(obj: dict[str, Any]) -> None:
        with lock:
            _emit(obj)

    def work(thread: int) -> None:
        rng = random.Random(f"{args.seed}-{thread}")
        n = 0
        while time.monotonic() < deadline:
            n += 1
            tag = f"w{args.seed}t{thread}n{n}"
            roll = rng.random()
            try:
                if ids and roll < args.update_share:
                    mid = rng.choice(ids)
                    res = svc.update_memory(mid, text=f"The user changed to {tag}", scope=SCOPE)
                    emit({"op": "update", "id": mid, "version": res.memory.version, "text": res.memory.text})
                elif roll < args.update_share + args.same_share:
                    text = rng.choice(pool)
                    ev = svc.add_memories(text=text, scope=SCOPE).events[0]
                    emit({"op": "same", "id": ev.memory_id, "event": ev.event, "text": text})
                else:
                    text = f"The user noted item {tag}"
                    ev = svc.add_memories(text=text, scope=SCOPE).events[0]
                    emit({"op": "add", "id": ev.memory_id, "event": ev.event, "text": text})
            except Exception as exc:  # every failure is counted by the parent, typed or not
                emit({"op": "error", "code": _code(exc), "message": str(exc)[:200]})

    threads = [threading.Thread(target=work, args=(t,)) for t in range(args.threads)]
    _emit({"op": "ready"})
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    svc.close()


def child_probe(args: argparse.Namespace) -> None:
    """GET ``args.data`` (a /healthz URL) every 50 ms for ``--seconds`` on one keep-alive connection,
    as a load balancer would from outside the server; then one JSON line: latencies (ms) and statuses.
    Its own process, so that the figure is the server's, not the event loop of the bench's clients."""
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(args.data)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    lat: list[float] = []
    bad: Counter = Counter()
    _emit({"op": "ready"})
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        try:
            conn.request("GET", url.path)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                bad[resp.status] += 1
        except (OSError, http.client.HTTPException) as exc:
            bad[type(exc).__name__] += 1
            conn.close()
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        lat.append((time.perf_counter() - t0) * 1000)
        time.sleep(0.05)
    _emit({"op": "probe", "latencies_ms": lat, "bad": {str(k): v for k, v in bad.items()}})


def _spawn_writer(
    data: Path,
    seed: int,
    seconds: float,
    threads: int,
    ids: Path | None,
    update_share: float,
    same_share: float,
    same_texts: int,
) -> subprocess.Popen[str]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "writer",
        "--data",
        str(data),
        "--seed",
        str(seed),
        "--seconds",
        str(seconds),
        "--threads",
        str(threads),
        "--update-share",
        str(update_share),
        "--same-share",
        str(same_share),
        "--same-texts",
        str(same_texts),
    ]
    if ids is not None:
        cmd += ["--ids", str(ids)]
    env = {**os.environ, "LANCE_LOG": "error", "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _read_acks(proc: subprocess.Popen[str], out: list[dict[str, Any]]) -> threading.Thread:
    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a line cut by SIGKILL was never acknowledged

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    return t


def _all_rows(svc: Any) -> list[Any]:
    """Every version of every memory in the bench scope (active, superseded, deleted)."""
    rows, offset = [], 0
    while True:
        page = svc.list_memories(scope=READ_SCOPE, limit=500, offset=offset, include_superseded=True)
        rows.extend(page.memories)
        offset += len(page.memories)
        if not page.memories or offset >= page.total:
            return rows


def _verify(data: Path, acks: list[dict[str, Any]], seeded: Sequence[str] = ()) -> dict[str, int]:
    """What the acknowledgements promised against what a fresh process reads."""
    svc = _service(data)
    try:
        rows = _all_rows(svc)
        texts_of: dict[str, set[str]] = defaultdict(set)
        active = Counter()
        for m in rows:
            texts_of[m.id].add(m.text)
            if m.status == "active":
                active[m.id] += 1
        # history is the authority for updates (a version may be superseded by now)
        history: dict[str, list[Any]] = {}
        for mid in {a["id"] for a in acks if a["op"] == "update"} | set(seeded):
            history[mid] = svc.memory_history(mid, scope=SCOPE).entries
        lost = 0
        for a in acks:
            if a["op"] == "update":
                if a["text"] not in {e.text for e in history[a["id"]]}:
                    lost += 1
            elif a["op"] in ("add", "same") and a["text"] not in texts_of.get(a["id"], set()):
                lost += 1
        versions = Counter((a["id"], a["version"]) for a in acks if a["op"] == "update")
        active_texts = Counter(m.text for m in rows if m.status == "active")
        pool_dups = sum(c - 1 for t, c in active_texts.items() if t.startswith("The user shares fact") and c > 1)
        return {
            "acked": sum(1 for a in acks if a["op"] in ("add", "same", "update")),
            "acked_updates": sum(1 for a in acks if a["op"] == "update"),
            "lost": lost,
            "versions_acked_twice": sum(c - 1 for c in versions.values() if c > 1),
            "multi_active": sum(1 for c in active.values() if c > 1),
            "duplicate_adds": pool_dups,
            "conflicts": sum(1 for a in acks if a["op"] == "error" and a["code"] == "CONFLICT"),
            "other_errors": sum(1 for a in acks if a["op"] == "error" and a["code"] != "CONFLICT"),
            "error_codes": dict(Counter(a["code"] for a in acks if a["op"] == "error")),
        }
    finally:
        svc.close()


def _seed(data: Path, n: int) -> tuple[list[str], Path]:
    svc = _service(data)
    try:
        ids = [
            svc.add_memories(text=f"The user seed memory {k} starts here", scope=SCOPE).events[0].memory_id
            for k in range(n)
        ]
    finally:
        svc.close()
    path = data.parent / "ids.json"
    path.write_text(json.dumps(ids))
    return ids, path


# -- parts ------------------------------------------------------------------------------------------


def part_kills(root: Path, kills: int, window_s: float) -> dict[str, Any]:
    """SIGKILL a writer at a random moment, `kills` times, on one data directory; then check."""
    data = root / "kills" / "data"
    data.mkdir(parents=True)
    ids, ids_path = _seed(data, 5)
    acks: list[dict[str, Any]] = []
    rng = random.Random(13)
    corrupt_opens = 0
    for k in range(kills):
        proc = _spawn_writer(data, 100 + k, 3600, 2, ids_path, 0.4, 0.1, 3)
        got: list[dict[str, Any]] = []
        pump = _read_acks(proc, got)
        t0 = time.monotonic()
        # Kill at a random moment once writes are flowing (the first one opens LanceDB).
        while sum(1 for a in got if a.get("op") != "ready") < 1 and time.monotonic() - t0 < 60:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, window_s))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        pump.join(5)
        acks.extend(a for a in got if a.get("op") != "ready")
        try:  # the data directory must open after every kill
            probe = _service(data)
            probe.list_memories(scope=READ_SCOPE, limit=1)
            probe.close()
        except Exception as exc:
            corrupt_opens += 1
            log(f"  open after kill {k} failed: {_code(exc)} {exc}")
    result = _verify(data, acks, ids)
    return {"kills": kills, "corrupt_opens": corrupt_opens, **result}


def part_races(root: Path, trials: int) -> dict[str, Any]:
    """Threads of one service racing on one memory, one text, one run's messages."""
    from mem_mcp.errors import MemMcpError

    data = root / "races" / "data"
    svc = _service(data)
    lost_trials = acked_twice = multi_active = conflicts = untyped = 0
    dup_trials = seq_trials = 0
    try:
        for trial in range(trials):
            scope = {**SCOPE, "run_id": f"r{trial}"}
            # 1. three updates of one memory at once
            mid = svc.add_memories(text=f"The user keeps a note on Paris {trial}", scope=scope).events[0].memory_id
            barrier = threading.Barrier(3)
            out: list[tuple[str, Any]] = []

            def upd(city: str) -> None:
                barrier.wait()
                try:
                    r = svc.update_memory(mid, text=f"The user keeps a note on {city} {trial}", scope=scope)
                    out.append(("ok", (r.memory.version, r.memory.text)))
                except MemMcpError as e:
                    out.append((e.code, None))
                except Exception as e:  # untyped: counted
                    out.append(("untyped:" + type(e).__name__, None))

            ts = [threading.Thread(target=upd, args=(c,)) for c in ("Berlin", "Rome", "Oslo")]
            [t.start() for t in ts]
            [t.join() for t in ts]
            hist = {e.text for e in svc.memory_history(mid, scope=scope).entries}
            oks = [v for code, v in out if code == "ok"]
            lost_trials += any(text not in hist for _, text in oks)
            acked_twice += len(oks) - len({v for v, _ in oks})
            conflicts += sum(1 for code, _ in out if code == "CONFLICT")
            untyped += sum(1 for code, _ in out if code.startswith("untyped"))
            page = svc.list_memories(scope=scope, limit=50)
            multi_active += sum(1 for c in Counter(m.id for m in page.memories).values() if c > 1)
            # 2. four identical adds at once
            barrier4 = threading.Barrier(4)
            events: list[str] = []

            def add() -> None:
                barrier4.wait()
                try:
                    events.append(svc.add_memories(text=f"The user likes tea {trial}", scope=scope).events[0].event)
                except MemMcpError as e:
                    events.append(e.code)

            ts = [threading.Thread(target=add) for _ in range(4)]
            [t.start() for t in ts]
            [t.join() for t in ts]
            dup_trials += events.count("ADD") != 1
            # 3. four single-message adds to one run at once
            mscope = {**scope, "run_id": f"m{trial}"}

            def msg(i: int) -> None:
                barrier4.wait()
                svc.add_memories(messages=[{"role": "user", "content": f"m{i}"}], scope=mscope)

            barrier4 = threading.Barrier(4)
            ts = [threading.Thread(target=msg, args=(i,)) for i in range(4)]
            [t.start() for t in ts]
            [t.join() for t in ts]
            seqs = [m.seq for m in svc.list_messages(scope=mscope).messages]
            seq_trials += len(set(seqs)) != len(seqs)
        svc.wait_for_jobs()
    finally:
        svc.close()
    return {
        "trials": trials,
        "update_lost_trials": lost_trials,
        "update_versions_acked_twice": acked_twice,
        "update_multi_active": multi_active,
        "update_conflicts": conflicts,
        "update_untyped": untyped,
        "same_text_dup_trials": dup_trials,
        "seq_dup_trials": seq_trials,
    }


def part_writers(root: Path, procs: int, threads: int, seconds: float, memories: int = 8) -> dict[str, Any]:
    """Several processes (each with threads) on one data directory, racing on ``memories`` shared memories."""
    data = root / "writers" / "data"
    data.mkdir(parents=True)  # with MEM_MCP_DB_URI set (part s3) only the ids file lives here
    ids, ids_path = _seed(data, memories)
    children = [_spawn_writer(data, k, seconds, threads, ids_path, 0.5, 0.3, 4) for k in range(procs)]
    acks: list[list[dict[str, Any]]] = [[] for _ in children]
    pumps = [_read_acks(p, a) for p, a in zip(children, acks)]
    for p in children:
        try:
            p.wait(timeout=seconds + 120)
        except subprocess.TimeoutExpired:
            p.kill()
    for t in pumps:
        t.join(5)
    flat = [a for group in acks for a in group if a.get("op") != "ready"]
    return {"processes": procs, "threads": threads, "seconds": seconds, **_verify(data, flat, ids)}


def part_s3(root: Path, procs: int, threads: int, seconds: float) -> dict[str, Any]:
    """The writers part with every process on one S3 bucket: moto in server mode on 127.0.0.1, and
    MEM_MCP_DB_URI / MEM_MCP_STORAGE_OPTIONS in the environment (the writers inherit it)."""
    import boto3  # from moto[server], in the [test] extra

    port = _free_port()
    keys = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **keys},
    )
    saved = {k: os.environ.get(k) for k in ("MEM_MCP_DB_URI", "MEM_MCP_STORAGE_OPTIONS")}
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        endpoint = f"http://127.0.0.1:{port}"
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        ).create_bucket(Bucket="mem-mcp-bench")
        os.environ["MEM_MCP_DB_URI"] = "s3://mem-mcp-bench/db"
        os.environ["MEM_MCP_STORAGE_OPTIONS"] = json.dumps(
            {
                "endpoint": endpoint,
                "allow_http": "true",
                "aws_access_key_id": "testing",
                "aws_secret_access_key": "testing",
                "region": "us-east-1",
            }
        )
        # One shared memory: writes to S3 are slow, so every update races every other writer's.
        result = {**part_writers(root / "s3", procs, threads, seconds, memories=1), "memories": 1}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        moto.terminate()
        moto.wait(30)
    return result


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _maintain(svc: Any) -> str:
    """Run the service's maintenance pass (whatever this version of the code offers)."""
    for name in ("maintenance", "maintain", "run_maintenance"):
        fn = getattr(svc, name, None)
        if callable(fn):
            fn()
            return name
    # Before a maintenance entry point existed: the per-table optimize the background thread runs.
    db = svc.db
    for table in list(db._tables.values()):
        db.optimize(table)
    return "db.optimize"


def part_growth(root: Path, writes: int) -> dict[str, Any]:
    """RSS over many text writes in one process with the default model; then disk after maintenance."""
    import gc

    data = root / "growth" / "data"
    svc = _service(data, real_model=True)
    svc.warm_up()
    svc.add_memories(text="The user warms up the bench", scope=SCOPE)
    samples: list[tuple[int, float]] = [(0, rss_mib())]
    step = max(1, writes // 20)
    started = time.perf_counter()
    for i in range(1, writes + 1):
        svc.add_memories(text=f"The user wrote note {i} about topic {i % 97} on day {i % 31}", scope=SCOPE)
        if i % step == 0:
            gc.collect()
            samples.append((i, rss_mib()))
    elapsed = time.perf_counter() - started
    half = [s for s in samples if s[0] >= writes // 2]
    slope_kib = (half[-1][1] - half[0][1]) * 1024 / max(1, half[-1][0] - half[0][0])
    svc.db.wait_for_maintenance() if hasattr(svc.db, "wait_for_maintenance") else None
    before_disk = _dir_bytes(data)
    # Versions younger than the retention are kept by design: wait it out (as a server's next scheduled
    # pass would), so that the figure is the disk a store settles at.
    retention = float(getattr(svc.settings, "version_retention_s", 0.0) or 0.0)
    if retention:
        time.sleep(min(retention, 180.0) + 2.0)
    how = _maintain(svc)
    svc.request_log.flush()
    stats = svc.stats()
    active = stats.memories_active
    svc.close()
    disk = _dir_bytes(data)
    req_manifests = (
        len(list((data / "requests.lance" / "_versions").glob("*"))) if (data / "requests.lance").exists() else -1
    )
    return {
        "writes": writes,
        "seconds": round(elapsed, 1),
        "writes_per_s": round(writes / elapsed, 1),
        "rss_start_mib": samples[0][1],
        "rss_end_mib": samples[-1][1],
        "rss_slope_second_half_kib_per_write": round(slope_kib, 1),
        "rss_samples": samples,
        "maintenance": how,
        "disk_bytes_before_maintenance_per_memory": round(before_disk / max(1, active)),
        "disk_bytes_per_memory": round(disk / max(1, active)),
        "memories": active,
        "request_log_manifests": req_manifests,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http_env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEM_MCP_", "ANTHROPIC_"))}
    env.update(
        {
            "MEM_MCP_DATA_DIR": str(data),
            "HF_HUB_OFFLINE": "1",
            "LANCE_LOG": "error",
            "MEM_MCP_RATE_LIMIT_PER_MINUTE": "0",
            "MEM_MCP_RATE_LIMIT_ADD_PER_MINUTE": "0",
            "MEM_MCP_RATE_LIMIT_SEARCH_PER_MINUTE": "0",
        }
    )
    return env


def _proc_rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return float("nan")


INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "abuse", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


async def _open_sessions(url: str, token: str, seconds: float, conc: int) -> Counter:
    import httpx2

    statuses: Counter = Counter()
    deadline = time.monotonic() + seconds
    async with httpx2.AsyncClient(timeout=30) as http:

        async def one() -> None:
            while time.monotonic() < deadline:
                try:
                    r = await http.post(url, json=INIT, headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"})
                    statuses[r.status_code] += 1
                except httpx2.TransportError as exc:
                    statuses[type(exc).__name__] += 1

        await asyncio.gather(*(one() for _ in range(conc)))
    return statuses


async def _saturate_and_probe(url: str, health: str, tokens: list[str], seconds: float, clients: int) -> dict[str, Any]:
    """`clients` MCP clients calling tools without pause, while /healthz is polled every 50 ms."""
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    deadline = time.monotonic() + seconds
    calls = Counter()

    async def client(i: int) -> None:
        async with create_mcp_http_client(headers={"Authorization": f"Bearer {tokens[i % len(tokens)]}"}) as http:
            async with Client(streamable_http_client(url, http_client=http), mode="legacy") as c:
                n = 0
                while time.monotonic() < deadline:
                    n += 1
                    try:
                        if n % 3:
                            await c.call_tool("add_memories", {"text": f"The user saturates with note {i}-{n}"})
                        else:
                            await c.call_tool("search_memories", {"query": f"note {n}", "top_k": 10})
                        calls["ok"] += 1
                    except Exception as exc:
                        calls[type(exc).__name__] += 1

    # The probe is a process of its own (child_probe): polled from this event loop, the figure was also
    # this loop's delay in scheduling it among the clients' coroutines.
    async def probe() -> dict[str, Any]:
        await asyncio.sleep(1.0)
        left = max(1.0, deadline - time.monotonic())
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", "probe", "--data", health, "--seconds", f"{left:.1f}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        out, _ = await asyncio.to_thread(proc.communicate, timeout=left + 120)
        return json.loads(out.strip().splitlines()[-1])

    result, *_ = await asyncio.gather(probe(), *(client(i) for i in range(clients)))
    lat, bad = result["latencies_ms"], result["bad"]
    return {
        "healthz_n": len(lat),
        "healthz_p50_ms": round(percentile(lat, 50), 1),
        "healthz_p99_ms": round(percentile(lat, 99), 1),
        "healthz_max_ms": round(max(lat), 1) if lat else None,
        "healthz_bad": dict(bad),
        "tool_calls": dict(calls),
    }


def part_http(root: Path, session_seconds: float, saturate_seconds: float, clients: int) -> dict[str, Any]:
    import httpx2

    data = root / "http" / "data"
    env = _http_env(data)

    def cli(*a: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "mem_mcp", *a], env=env, capture_output=True, text=True, check=True
        ).stdout

    abuser = json.loads(cli("token", "create", "--tenant", "abuser", "--role", "write", "--json"))["token"]
    victim = json.loads(cli("token", "create", "--tenant", "victim", "--role", "write", "--json"))["token"]
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mem_mcp", "serve", "--transport", "streamable-http", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url, health = f"http://127.0.0.1:{port}/mcp", f"http://127.0.0.1:{port}/healthz"
    try:
        for _ in range(600):
            try:
                if httpx2.get(health, timeout=2).json().get("model_loaded"):
                    break
            except (httpx2.TransportError, ValueError):
                pass
            time.sleep(0.1)
        time.sleep(1.0)
        rss_before = _proc_rss_mib(proc.pid)
        statuses = asyncio.run(_open_sessions(url, abuser, session_seconds, 8))
        rss_after = _proc_rss_mib(proc.pid)
        r = httpx2.post(url, json=INIT, headers={**MCP_HEADERS, "Authorization": f"Bearer {victim}"}, timeout=30)
        victim_status = r.status_code
        sat = asyncio.run(_saturate_and_probe(url, health, [victim], saturate_seconds, clients))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    return {
        "session_seconds": session_seconds,
        "abuser_sessions_opened": statuses.get(200, 0),
        "abuser_statuses": {str(k): v for k, v in statuses.items()},
        "victim_initialize_status": victim_status,
        "server_rss_before_mib": rss_before,
        "server_rss_after_sessions_mib": rss_after,
        "saturate_seconds": saturate_seconds,
        "saturating_clients": clients,
        **sat,
    }


# -- main -------------------------------------------------------------------------------------------


def _table(results: dict[str, Any]) -> str:
    rows: list[list[Any]] = []
    if "kills" in results:
        k = results["kills"]
        rows.append(
            [
                "kill -9 during adds and updates",
                f"{k['kills']} kills, {k['acked']} acked writes",
                f"{k['lost']} lost, {k['corrupt_opens']} corrupt opens",
            ]
        )
    if "races" in results:
        r = results["races"]
        rows.append(
            [
                "3 threads update one memory",
                f"{r['trials']} trials",
                f"lost update in {r['update_lost_trials']}/{r['trials']}, {r['update_versions_acked_twice']} versions "
                f"acked twice, {r['update_multi_active']} multi-active, {r['update_conflicts']} CONFLICT, "
                f"{r['update_untyped']} untyped",
            ]
        )
        rows.append(
            [
                "4 threads add the same text",
                f"{r['trials']} trials",
                f"duplicate ADD in {r['same_text_dup_trials']}/{r['trials']}",
            ]
        )
        rows.append(
            [
                "4 concurrent message adds to one run",
                f"{r['trials']} trials",
                f"duplicate seq in {r['seq_dup_trials']}/{r['trials']}",
            ]
        )
    if "writers" in results:
        w = results["writers"]
        rows.append(
            [
                f"{w['processes']} processes x {w['threads']} threads on one data dir, {w['seconds']:.0f} s",
                f"{w['acked']} acked ({w['acked_updates']} updates)",
                f"{w['lost']} lost, {w['versions_acked_twice']} versions acked twice, {w['multi_active']} "
                f"multi-active, {w['duplicate_adds']} duplicate ADDs, {w['conflicts']} CONFLICT, "
                f"{w['other_errors']} other errors",
            ]
        )
    if "s3" in results:
        w = results["s3"]
        rows.append(
            [
                f"{w['processes']} processes x {w['threads']} threads on one S3 bucket (moto), one shared memory, "
                f"{w['seconds']:.0f} s",
                f"{w['acked']} acked ({w['acked_updates']} updates)",
                f"{w['lost']} lost, {w['versions_acked_twice']} versions acked twice, {w['multi_active']} "
                f"multi-active, {w['duplicate_adds']} duplicate ADDs, {w['conflicts']} CONFLICT, "
                f"{w['other_errors']} other errors",
            ]
        )
    if "growth" in results:
        g = results["growth"]
        rows.append(
            [
                f"{g['writes']} text writes, one process, default model",
                f"{g['writes_per_s']} writes/s",
                f"RSS {g['rss_start_mib']:.0f} -> {g['rss_end_mib']:.0f} MiB, second half "
                f"{g['rss_slope_second_half_kib_per_write']} KiB/write",
            ]
        )
        rows.append(
            [
                "disk after maintenance",
                f"{g['memories']} memories ({g['maintenance']})",
                f"{g['disk_bytes_per_memory']} B/memory (before: {g['disk_bytes_before_maintenance_per_memory']}), "
                f"request log {g['request_log_manifests']} manifests",
            ]
        )
    if "http" in results:
        h = results["http"]
        rows.append(
            [
                f"one token opening sessions for {h['session_seconds']:.0f} s",
                f"{sum(h['abuser_statuses'].values())} initialize",
                f"{h['abuser_sessions_opened']} sessions opened, statuses {h['abuser_statuses']}; other tenant's "
                f"initialize -> {h['victim_initialize_status']}; RSS {h['server_rss_before_mib']:.0f} -> "
                f"{h['server_rss_after_sessions_mib']:.0f} MiB",
            ]
        )
        rows.append(
            [
                f"/healthz with {h['saturating_clients']} clients saturating",
                f"{h['healthz_n']} probes",
                f"p50 {h['healthz_p50_ms']} ms, p99 {h['healthz_p99_ms']} ms, max {h['healthz_max_ms']} ms",
            ]
        )
    return md_table(["test", "tried", "result"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default=",".join(PARTS), help=f"Comma-separated subset of {','.join(PARTS)}.")
    parser.add_argument("--smoke", action="store_true", help="Tiny bounds for CI: checks it runs, numbers mean little.")
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--kill-window", type=float, default=3.0, help="Max seconds a writer lives before its kill.")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--writer-procs", type=int, default=3)
    parser.add_argument("--writer-threads", type=int, default=2)
    parser.add_argument("--writer-seconds", type=float, default=45.0)
    parser.add_argument("--writes", type=int, default=3000, help="Text writes of the growth part.")
    parser.add_argument("--session-seconds", type=float, default=20.0)
    parser.add_argument("--saturate-seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--out", help="Also write the JSON result to this file.")
    # child mode (internal)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--ids", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=10.0, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--update-share", type=float, default=0.5, help=argparse.SUPPRESS)
    parser.add_argument("--same-share", type=float, default=0.2, help=argparse.SUPPRESS)
    parser.add_argument("--same-texts", type=int, default=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    quiet_lance()
    if args.child == "writer":
        child_writer(args)
        return
    if args.child == "probe":
        child_probe(args)
        return
    if args.smoke:
        args.kills, args.kill_window, args.trials = 2, 1.0, 2
        args.writer_procs, args.writer_seconds, args.writes = 2, 4.0, 150
        args.session_seconds, args.saturate_seconds, args.clients = 2.0, 3.0, 3
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}; choose from {PARTS}")
    info = machine()
    results: dict[str, Any] = {}
    root = Path(tempfile.mkdtemp(prefix="mem-mcp-reliability-"))
    for part in parts:
        started = time.perf_counter()
        log(f"reliability: {part} ...")
        if part == "kills":
            results[part] = part_kills(root, args.kills, args.kill_window)
        elif part == "races":
            results[part] = part_races(root, args.trials)
        elif part == "writers":
            results[part] = part_writers(root, args.writer_procs, args.writer_threads, args.writer_seconds)
        elif part == "s3":
            results[part] = part_s3(root, args.writer_procs, args.writer_threads, args.writer_seconds)
        elif part == "growth":
            results[part] = part_growth(root, args.writes)
        elif part == "http":
            results[part] = part_http(root, args.session_seconds, args.saturate_seconds, args.clients)
        results[part]["part_seconds"] = round(time.perf_counter() - started, 1)
        log(f"  {part}: {json.dumps(results[part])[:400]}")
    print(_table(results))
    emit_json("reliability", {**results, "machine": info, "loadavg_end": loadavg()}, args.out)


if __name__ == "__main__":
    main()
