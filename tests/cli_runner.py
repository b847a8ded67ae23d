"""Running ``mem-mcp`` in-process through ``mem_mcp.cli.main`` for the CLI tests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mem_mcp.cli import main


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``mem-mcp ARGS`` in-process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = cli(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)
