"""mem-mcp on object storage, for real: an S3-compatible server (moto's server mode, from PyPI) on
127.0.0.1, started by the tests, and ``db_uri=s3://...`` with storage options (endpoint, allow_http,
credentials), as a user would configure it.

Two things keep concurrent writers safe there, with no lock between servers:

- LanceDB commits a table version by writing its manifest with a conditional PUT (``If-None-Match: *``):
  of two writers committing the same version, one gets ``412 Precondition Failed`` and retries on top
  of the other's commit. The tests check that the emulator honours that and that LanceDB sends it.
- Two ``merge_insert``s of one new key (a memory's next version, a same-text add, a message ``seq``)
  would both commit even so (they touch no common fragment): the merge key is the table's primary key
  and the merge skips its scalar index, so the second is refused and re-run (storage/commits.py). With
  merge_insert alone every key raced here got two rows, and two servers acknowledged one version twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest

pytest.importorskip("moto")
boto3 = pytest.importorskip("boto3")

from test_unique_keys import DIM, _row  # noqa: E402

from mem_mcp.config import Settings  # noqa: E402
from mem_mcp.errors import MemMcpError  # noqa: E402
from mem_mcp.service import MemoryService  # noqa: E402
from mem_mcp.storage import Database  # noqa: E402

from fakes import HashEmbedder, NoopExtractor  # noqa: E402

BUCKET = "mem-mcp-test"
SCOPE = {"app_id": "app", "tenant_id": "t", "agent_id": "g", "run_id": "r"}
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3Server:
    """moto in server mode on 127.0.0.1, recording every request (method, path, headers)."""

    def __init__(self, root: Path) -> None:
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.recording = root / "moto-recording.jsonl"
        env = {
            **os.environ,
            "MOTO_ENABLE_RECORDING": "1",
            "MOTO_RECORDER_FILEPATH": str(self.recording),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("moto server did not start")
                time.sleep(0.1)
        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        self.client.create_bucket(Bucket=BUCKET)

    def storage_options(self) -> dict[str, str]:
        """What a user configures (MEM_MCP_STORAGE_OPTIONS) for an S3-compatible server."""
        return {"endpoint": self.endpoint, "allow_http": "true", **KEYS}

    def requests(self) -> list[dict[str, Any]]:
        if not self.recording.exists():
            return []
        return [json.loads(line) for line in self.recording.read_text().splitlines() if line.strip()]

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = S3Server(tmp_path_factory.mktemp("s3"))
    yield server
    server.close()


def _settings(s3: S3Server, prefix: str, **kw: Any) -> Settings:
    return Settings(db_uri=f"s3://{BUCKET}/{prefix}", storage_options=s3.storage_options(), _env_file=None, **kw)


def _service(s3: S3Server, prefix: str) -> MemoryService:
    return MemoryService(_settings(s3, prefix), embedder=HashEmbedder(), extractor=NoopExtractor())


def test_the_emulator_refuses_a_second_create_only_put(s3):
    """The primitive LanceDB's commits need: PUT with If-None-Match: * fails once the object exists."""
    key = f"probe/{uuid.uuid4().hex}"
    s3.client.put_object(Bucket=BUCKET, Key=key, Body=b"first", IfNoneMatch="*")
    with pytest.raises(s3.client.exceptions.ClientError) as err:
        s3.client.put_object(Bucket=BUCKET, Key=key, Body=b"second", IfNoneMatch="*")
    assert err.value.response["Error"]["Code"] == "PreconditionFailed"
    assert s3.client.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"first"


def test_the_service_works_on_s3_and_commits_with_conditional_puts(s3):
    prefix = f"db-{uuid.uuid4().hex[:8]}"
    svc = _service(s3, prefix)
    try:
        mid = svc.add_memories(text="The user keeps memories in a bucket", scope=SCOPE).events[0].memory_id
        svc.update_memory(mid, text="The user keeps memories in an S3 bucket", scope=SCOPE)
        hits = svc.search_memories(query="S3 bucket", scope=SCOPE).results
        assert hits and hits[0].memory.id == mid and hits[0].memory.version == 2
        assert [e.version for e in svc.memory_history(mid, scope=SCOPE).entries] == [1, 2]
        svc.add_memories(messages=[{"role": "user", "content": "hello from s3"}], scope=SCOPE)
        assert [m.content for m in svc.list_messages(scope=SCOPE).messages] == ["hello from s3"]
    finally:
        svc.close()
    keys = [o["Key"] for o in s3.client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]
    assert any("/_versions/" in k for k in keys), keys[:5]
    manifests = [r for r in s3.requests() if r["method"] == "PUT" and prefix in r["url"] and "/_versions/" in r["url"]]
    assert manifests, "no manifest PUT was recorded"
    conditional = [r for r in manifests if {k.lower(): v for k, v in r["headers"].items()}.get("if-none-match") == "*"]
    assert len(conditional) == len(manifests), (
        f"{len(manifests) - len(conditional)} of {len(manifests)} manifest PUTs were not create-only: "
        "concurrent writers could overwrite each other's commits"
    )


def test_two_connections_inserting_the_same_new_keys_on_s3_insert_each_once(s3):
    """The compare-and-swap behind version writes, same-text adds and message seq, on S3: two connections
    (as two servers have) inserting the same new keys at the same moment; each key is stored once and
    reported inserted to the writer whose row it is."""
    uri = f"s3://{BUCKET}/db-{uuid.uuid4().hex[:8]}"
    dbs = [Database(uri, s3.storage_options()) for _ in range(2)]
    tables = [db.memories("mem_race", DIM) for db in dbs]
    barrier = threading.Barrier(2)
    won: dict[int, list[str]] = {0: [], 1: []}

    def claim(w: int) -> None:
        for i in range(4):
            barrier.wait(60)
            if dbs[w].insert_new(tables[w], "row_key", [_row(f"k{i}", f"key {i}", f"w{w}")]):
                won[w].append(f"k{i}:1")

    threads = [threading.Thread(target=claim, args=(w,)) for w in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    stored = dbs[0].rows(tables[0], "row_key LIKE 'k%'", ["row_key", "request_id"])
    for db in dbs:
        db.close()
    assert sorted(r["row_key"] for r in stored) == [f"k{i}:1" for i in range(4)], "a key stored twice or never"
    owner = {r["row_key"]: r["request_id"] for r in stored}
    assert sorted(won[0] + won[1]) == sorted(owner)
    assert all(owner[k] == f"w{w}" for w, keys in won.items() for k in keys)


@pytest.mark.parametrize("rounds", [2, pytest.param(8, marks=pytest.mark.slow)])
def test_two_services_on_one_bucket_keep_every_acknowledged_write(s3, rounds):
    """Two services (two connections, as two servers have) writing at once, adds and updates of one
    memory, ``rounds`` each; no lock joins them (object storage)."""
    prefix = f"db-{uuid.uuid4().hex[:8]}"
    first = _service(s3, prefix)
    mid = first.add_memories(text="The user lives in Paris", scope=SCOPE).events[0].memory_id
    second = _service(s3, prefix)
    acked: list[tuple[str, Any]] = []
    lock = threading.Lock()

    def work(svc: MemoryService, w: int) -> None:
        for k in range(rounds):
            ev = svc.add_memories(text=f"The user wrote note {w}-{k}", scope=SCOPE).events[0]
            shared = svc.add_memories(text=f"The user shares fact {k}", scope=SCOPE).events[0]
            svc.add_memories(messages=[{"role": "user", "content": f"turn {w}-{k}"}], scope=SCOPE)
            try:
                res = svc.update_memory(mid, text=f"The user moved to {w}-{k}", scope=SCOPE)
                out = ("update", (res.memory.version, res.memory.text))
            except MemMcpError as exc:
                out = (exc.code, None)
            with lock:
                acked.append(("add", ev))
                acked.append(("shared", shared))
                acked.append(("message", f"turn {w}-{k}"))
                acked.append(out)

    threads = [threading.Thread(target=work, args=(svc, w)) for w, svc in enumerate((first, second))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        reader = _service(s3, prefix)
        texts = Counter(m.text for m in reader.list_memories(scope=SCOPE, limit=500).memories)
        for kind, ev in acked:
            if kind in ("add", "shared"):
                assert texts[ev.text] == 1, f"{ev.text!r}: {texts[ev.text]} copies"
        # The same text added by both at once: one ADD, one NONE of the same memory.
        shared = [ev for kind, ev in acked if kind == "shared"]
        assert Counter(ev.event for ev in shared) == {"ADD": rounds, "NONE": rounds}
        assert len({ev.memory_id for ev in shared}) == rounds
        # Messages of one run: each stored once, seq unique and without gaps.
        messages = reader.list_messages(scope=SCOPE, limit=500).messages
        assert sorted(m.content for m in messages) == sorted(t for kind, t in acked if kind == "message")
        assert sorted(m.seq for m in messages) == list(range(2 * rounds))
        assert {kind for kind, _ in acked} <= {"add", "shared", "message", "update", "CONFLICT"}
        history = reader.memory_history(mid, scope=SCOPE).entries
        by_version = {e.version: e.text for e in history}
        updates = [v for kind, v in acked if kind == "update"]
        assert len({v for v, _ in updates}) == len(updates), "a version was acknowledged twice"
        for version, text in updates:
            assert by_version.get(version) == text, f"acknowledged v{version} {text!r} lost: {by_version}"
        assert Counter(e.status for e in history)["active"] == 1
        reader.close()
    finally:
        first.close()
        second.close()


# -- two HTTP servers on one bucket (slow) ----------------------------------------------------------


def _serve(s3: S3Server, prefix: str, data_dir: Path, extra: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEM_MCP_", "ANTHROPIC_"))}
    env.update(
        {
            "MEM_MCP_DB_URI": f"s3://{BUCKET}/{prefix}",
            "MEM_MCP_STORAGE_OPTIONS": json.dumps(s3.storage_options()),
            "MEM_MCP_DATA_DIR": str(data_dir),
            "MEM_MCP_NO_AUTH": "1",
            "MEM_MCP_STATELESS_HTTP": "1",
            "MEM_MCP_RATE_LIMIT_PER_MINUTE": "0",
            "MEM_MCP_RATE_LIMIT_ADD_PER_MINUTE": "0",
            "MEM_MCP_RATE_LIMIT_SEARCH_PER_MINUTE": "0",
            "HF_HUB_OFFLINE": "1",
            "LANCE_LOG": "error",
            **extra,
        }
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mem_mcp",
            "serve",
            "--transport",
            "streamable-http",
            "--stateless",
            "--no-auth",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, f"http://127.0.0.1:{port}"


async def _wait_healthy(base: str, proc: subprocess.Popen) -> None:
    import httpx2

    async with httpx2.AsyncClient() as http:
        for _ in range(1200):
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stderr.read() if proc.stderr else ''}"[-2000:])
            try:
                if (await http.get(f"{base}/healthz")).status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not become healthy")


async def _writer(base: str, w: int, mid: str, n: int, out: list[Any]) -> None:
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with Client(streamable_http_client(f"{base}/mcp"), mode="legacy") as client:
        for k in range(n):
            res = await client.call_tool("add_memories", {"text": f"The user wrote note {w}-{k}", "scope": SCOPE})
            assert not res.is_error, res.content[0].text
            out.append(("add", res.structured_content["events"][0]))
            res = await client.call_tool(
                "update_memory", {"memory_id": mid, "text": f"The user moved to {w}-{k}", "scope": SCOPE}
            )
            if res.is_error:
                # A typed error: "CODE: message", the code in _meta (no structured content: it would have to
                # match the tool's output schema). Only CONFLICT is allowed (checked by the caller).
                assert res.meta is not None, res.content[0].text
                out.append((res.meta["error"]["code"], None))
            else:
                mem = res.structured_content["memory"]
                out.append(("update", (mem["version"], mem["text"])))


async def _read_through(base: str, text: str) -> bool:
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with Client(streamable_http_client(f"{base}/mcp"), mode="legacy") as client:
        res = await client.call_tool("list_memories", {"scope": SCOPE, "limit": 500})
        return any(m["text"] == text for m in res.structured_content["memories"])


def _two_servers(s3: S3Server, tmp_path: Path, writers: int, rounds: int) -> None:
    """Two `serve --transport streamable-http --stateless` processes on one bucket, ``writers`` concurrent
    MCP clients (alternating between the servers) each adding ``rounds`` memories and updating one shared
    memory as often: every acknowledged write present once, each acknowledged update its own version, one
    active version; with the default read_consistency_s = 0 a write acknowledged by one server is read at
    once through the other. No lock joins the servers: the database's commits must hold by themselves."""
    prefix = f"db-{uuid.uuid4().hex[:8]}"
    seed = MemoryService(_settings(s3, prefix), embedder=None, extractor=NoopExtractor())
    mid = seed.add_memories(text="The user lives in Paris", scope=SCOPE).events[0].memory_id
    seed.close()
    servers = [_serve(s3, prefix, tmp_path / f"d{i}", {}) for i in range(2)]
    try:

        async def run() -> list[Any]:
            await asyncio.gather(*(_wait_healthy(base, proc) for proc, base in servers))
            out: list[Any] = []
            await asyncio.gather(*(_writer(servers[w % 2][1], w, mid, rounds, out) for w in range(writers)))
            # read-your-writes across servers: written through A, read through B at once
            from mcp import Client
            from mcp.client.streamable_http import streamable_http_client

            async with Client(streamable_http_client(f"{servers[0][1]}/mcp"), mode="legacy") as a:
                await a.call_tool("add_memories", {"text": "The user crosses servers", "scope": SCOPE})
            out.append(("visible", await _read_through(servers[1][1], "The user crosses servers")))
            return out

        out = asyncio.run(run())
    finally:
        for proc, _ in servers:
            proc.send_signal(signal.SIGTERM)
        for proc, _ in servers:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
    assert ("visible", True) in out
    reader = MemoryService(_settings(s3, prefix), embedder=HashEmbedder(), extractor=NoopExtractor())
    try:
        texts = Counter(m.text for m in reader.list_memories(scope=SCOPE, limit=500).memories)
        adds = [ev for kind, ev in out if kind == "add"]
        assert len(adds) == writers * rounds
        assert all(texts[ev["text"]] == 1 for ev in adds), texts
        updates = [v for kind, v in out if kind == "update"]
        assert {kind for kind, _ in out} <= {"add", "update", "CONFLICT", "visible"}
        assert len({v for v, _ in updates}) == len(updates), f"a version was acknowledged twice: {sorted(updates)}"
        history = reader.memory_history(mid, scope=SCOPE).entries
        by_version = {e.version: e.text for e in history}
        for version, text in updates:
            assert by_version.get(version) == text, f"acknowledged v{version} {text!r} lost"
        assert Counter(e.status for e in history)["active"] == 1
    finally:
        reader.close()


@pytest.mark.slow
def test_two_stateless_http_servers_on_one_bucket(s3, tmp_path):
    """Two servers, four writers (two through each), five rounds: 20 adds and 20 updates of one memory.
    Before the primary-key fix this acknowledged 2 of 20 versions to two writers in one run (11 of 20
    before the version writes were reworked). Slow: two server processes take ~40 s to start here."""
    _two_servers(s3, tmp_path, writers=4, rounds=5)
