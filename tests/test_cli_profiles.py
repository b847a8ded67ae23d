"""``mem-mcp profile-schema ...`` and ``mem-mcp profile show``, in-process through ``mem_mcp.cli.main``
(data in tmp_path; the profile values come from a conversation added through the service)."""

from __future__ import annotations

import json

from mem_mcp.config import Settings
from mem_mcp.extraction.offline import OfflineExtractor
from mem_mcp.service import MemoryService

from cli_runner import cli, cli_json


def test_profile_schema_commands_and_profile_show(capsys, data_dir):
    schema = cli_json(
        capsys,
        "profile-schema",
        "create",
        "用户基础画像",
        "--description",
        "年龄和兴趣",
        "--attr",
        "年龄=用户年龄",
        "--attr",
        "爱好=用户的兴趣爱好",
        "--attributes-json",
        '[{"name": "居住地", "description": "用户目前居住的城市", "default_value": "未知"}]',
    )
    sid = schema["profile_schema_id"]
    assert [a["name"] for a in schema["attributes"]] == ["居住地", "年龄", "爱好"]

    code, out, _ = cli(capsys, "profile-schema", "list")
    assert code == 0 and f"{sid}  用户基础画像  (3 attributes)" in out and "1 of 1 schemas" in out
    code, out, _ = cli(capsys, "profile-schema", "show", sid)
    assert "年龄 — 用户年龄" in out and "[default: 未知]" in out

    ids = {a["name"]: a["attribute_id"] for a in schema["attributes"]}
    updated = cli_json(
        capsys,
        "profile-schema",
        "update",
        sid,
        "--add",
        "职业=用户职业",
        "--delete",
        ids["爱好"],
        "--ops",
        json.dumps([{"op": "update", "attribute_id": ids["年龄"], "description": "周岁"}]),
    )
    assert [(a["name"], a["description"]) for a in updated["attributes"]] == [
        ("居住地", "用户目前居住的城市"),
        ("年龄", "周岁"),
        ("职业", "用户职业"),
    ]

    # Values come from a conversation (the CLI has no conversation input); the CLI reads them back.
    svc = MemoryService(Settings(data_dir=data_dir, _env_file=None), extractor=OfflineExtractor())
    svc.add_memories(messages=[{"role": "user", "content": "我今年28岁，是一名软件工程师。"}], profile_schema_id=sid)
    svc.add_memories(messages=[{"role": "user", "content": "我搬到上海了"}], profile_schema_id=sid)
    svc.add_memories(messages=[{"role": "user", "content": "我搬到杭州了"}], profile_schema_id=sid)
    svc.close()

    code, out, _ = cli(capsys, "profile", "show", sid, "--history")
    assert code == 0
    assert "用户基础画像" in out and "default/default" in out
    assert "年龄: 28岁" in out and "职业: 软件工程师" in out and "居住地: 杭州" in out
    assert "v1 ADD    上海" in out and "v2 UPDATE 杭州" in out
    other = cli_json(capsys, "profile", "show", sid, "--tenant", "bob")
    assert other["tenant_id"] == "bob" and all("value" not in a for a in other["attributes"])
    code, out, _ = cli(capsys, "profile", "show", sid, "--tenant", "bob")
    assert "居住地: (unknown; default 未知)" in out

    code, out, _ = cli(capsys, "profile-schema", "delete", sid)
    assert code == 0 and f"deleted {sid} (4 stored values)" in out
    assert cli_json(capsys, "profile-schema", "list")["total"] == 0


def test_profile_cli_errors_are_typed(capsys, data_dir):
    code, _, err = cli(capsys, "profile-schema", "create", "s", "--attr", "姓名", "--attr", "名字")
    assert code == 2 and err.startswith("error: DUPLICATE_ATTRIBUTE:") and "姓名" in err
    code, _, err = cli(capsys, "profile-schema", "create", "s")
    assert code == 2 and "EMPTY_SCHEMA" in err
    code, _, err = cli(capsys, "profile", "show", "ps_missing")
    assert code == 2 and "PROFILE_SCHEMA_NOT_FOUND" in err
    code, _, err = cli(capsys, "profile-schema", "update", "ps_missing", "--name", "x")
    assert code == 2 and "PROFILE_SCHEMA_NOT_FOUND" in err
