"""The ``mem-mcp`` argument parser (``cli.py`` runs the commands)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def build_parser(version: str) -> argparse.ArgumentParser:
    """The ``mem-mcp`` argument parser: every command, its options and its help."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        type=Path,
        help="Data directory (default: $MEM_MCP_DATA_DIR or the per-user one; `mem-mcp doctor` shows it).",
    )
    common.add_argument("--json", action="store_true", help="Machine-readable JSON output.")
    scoped = argparse.ArgumentParser(add_help=False)
    scoped.add_argument("--store", default="default", help="Memory store (default: default).")
    for seg in ("app", "tenant", "agent", "run"):
        scoped.add_argument(f"--{seg}", dest=f"{seg}_id", help=f"Scope {seg}_id.")

    parser = argparse.ArgumentParser(
        prog="mem-mcp",
        description="Long-term memory for LLM agents over MCP.",
        epilog='Examples: mem-mcp serve | mem-mcp add "用户喜欢喝茶" | mem-mcp search "drinks"',
    )
    parser.add_argument("--version", action="version", version=f"mem-mcp {version}")
    sub = parser.add_subparsers(dest="command", required=True)
    _server_parsers(sub, common)
    _token_parsers(sub, common)
    _memory_parsers(sub, common, scoped)
    sub.add_parser("doctor", parents=[common], help="Show what mem-mcp would use, and check it works.")
    _profile_parsers(sub, common)
    return parser


def _server_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    serve = sub.add_parser("serve", parents=[common], help="Run the MCP server (stdio by default).")
    serve.add_argument("--transport", choices=["stdio", "sse", "streamable-http"], default="stdio")
    serve.add_argument("--host", help="HTTP: address to listen on (default 127.0.0.1).")
    serve.add_argument("--port", type=int, help="HTTP: port (default 8765).")
    serve.add_argument("--tokens-file", type=Path, help="HTTP: token file (default <data-dir>/tokens.json).")
    serve.add_argument(
        "--stateless", action="store_true", help="Streamable HTTP without sessions (behind a load balancer)."
    )
    serve.add_argument("--no-auth", action="store_true", help="HTTP without tokens; loopback only, single user.")

    claude = sub.add_parser(
        "claude-config",
        parents=[common],
        help="Print (or --write) the Claude Desktop config that starts this server.",
        epilog="Example: mem-mcp claude-config --write   (then restart Claude Desktop)",
    )
    claude.add_argument(
        "--write",
        action="store_true",
        help="Add the server to Claude Desktop's config file for this OS, keeping its other servers (a backup is kept).",
    )
    claude.add_argument("--name", default="memory", help="The server's name in the config (default: memory).")
    claude.add_argument(
        "--config-file", type=Path, help="The config file to write (default: Claude Desktop's on this OS)."
    )

    ui = sub.add_parser(
        "ui",
        parents=[common],
        help="The memory console in the browser (see, search, edit, forget).",
        epilog="Example: mem-mcp ui --port 8766  |  mem-mcp ui --host 0.0.0.0 --sign-in",
    )
    ui.add_argument(
        "--host",
        dest="ui_host",
        default="127.0.0.1",
        help="Address to listen on (default 127.0.0.1; any other needs --sign-in).",
    )
    ui.add_argument("--port", dest="ui_port", type=int, default=8766, help="Port (default 8766).")
    ui.add_argument("--sign-in", action="store_true", help="Require a token from `mem-mcp token create` to sign in.")
    ui.add_argument("--tokens-file", type=Path, help="Token file for --sign-in (default <data-dir>/tokens.json).")


def _token_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    token = sub.add_parser("token", help="Create, list and revoke HTTP bearer tokens.")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    tcreate = token_sub.add_parser(
        "create",
        parents=[common],
        help="Create a token bound to an app, a tenant and a role; prints it once.",
        epilog='Example: mem-mcp token create --tenant alice --role write --name "alice\'s laptop"',
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
    trevoke = token_sub.add_parser(
        "revoke", parents=[common], help="Revoke a token by id; a running server stops accepting it within a second."
    )
    trevoke.add_argument("token_id")
    trevoke.add_argument("--tokens-file", type=Path)


def _memory_parsers(sub: Any, common: argparse.ArgumentParser, scoped: argparse.ArgumentParser) -> None:
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
    search.add_argument("--filter", type=json.loads, help='Filter JSON, e.g. \'{"tags": "work"}\'.')
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
        "create",
        parents=[common, app],
        help="Create a schema.",
        epilog="Example: mem-mcp profile-schema create 用户画像 --attr 年龄=用户年龄 --attr 职业 --attr 居住地=用户目前居住的城市",
    )
    create.add_argument("name")
    create.add_argument("--description", default="")
    create.add_argument(
        "--attr",
        action="append",
        type=_attr_spec,
        default=[],
        metavar="NAME[=DESCRIPTION]",
        help="An attribute (repeat for each).",
    )
    create.add_argument(
        "--attributes-json",
        type=json.loads,
        default=[],
        help='JSON list, e.g. \'[{"name": "年龄", "description": "用户年龄", "default_value": "18"}]\'.',
    )
    lst = actions.add_parser("list", parents=[common, app], help="List the app's schemas.")
    lst.add_argument("--limit", type=int, default=50)
    lst.add_argument("--offset", type=int, default=0)
    show = actions.add_parser("show", parents=[common, app], help="Show a schema with its attributes.")
    show.add_argument("profile_schema_id")
    update = actions.add_parser(
        "update",
        parents=[common, app],
        help="Rename a schema or add, update, delete attributes.",
        epilog="Example: mem-mcp profile-schema update ps_... --add 宠物=用户养的宠物 --delete attr_... "
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
