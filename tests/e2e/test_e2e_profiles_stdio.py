"""User profiles end to end over stdio: `mem-mcp serve` (offline extractor, real default embedding model)
driven by the SDK's client. The seed-001 conversation fills the profile in one server process; a later
move, in a new process, updates it and keeps the old value in the attribute's history."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

pytestmark = pytest.mark.slow  # long e2e: stdio server processes with the real model (and a restart)

SEED_SCHEMA = {
    "name": "用户基础画像",
    "description": "包含年龄和兴趣的用户信息",
    "attributes": [
        {"name": "年龄", "description": "用户年龄"},
        {"name": "爱好", "description": "用户的兴趣爱好"},
        {"name": "职业", "description": "用户职业"},
        {"name": "居住地", "description": "用户目前居住的城市"},
    ],
}


def _params(data_dir: Path) -> StdioServerParameters:
    env = {
        **os.environ,
        "MEM_MCP_DATA_DIR": str(data_dir),
        "HF_HUB_OFFLINE": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
        "MEM_MCP_TOOLS": "all",
    }
    for key in ("ANTHROPIC_API_KEY", "MEM_MCP_ANTHROPIC_API_KEY", "MEM_MCP_EXTRACTOR"):
        env.pop(key, None)  # the offline extractor, whatever the developer's shell has
    return StdioServerParameters(command=sys.executable, args=["-m", "mem_mcp", "serve"], env=env)


async def _ok(client: Client, tool: str, args: dict) -> dict:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content[0].text
    return result.structured_content


async def test_profile_from_conversation_survives_restart_and_keeps_history(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with Client(_params(data), mode="legacy") as client:
        refused = await client.call_tool(
            "create_profile_schema", {"name": "bad", "attributes": [{"name": "姓名"}, {"name": "名字"}]}
        )
        assert refused.is_error and refused.meta["error"]["code"] == "DUPLICATE_ATTRIBUTE"

        schema = await _ok(client, "create_profile_schema", SEED_SCHEMA)
        sid = schema["profile_schema_id"]
        added = await _ok(
            client,
            "add_memories",
            {
                "profile_schema": sid,
                "messages": [
                    {"role": "user", "content": "我今年28岁，是一名软件工程师。周末喜欢踢足球。"},
                    {"role": "assistant", "content": "很高兴认识你!"},
                ],
            },
        )
        assert {(e["name"], e["value"]) for e in added["profile_events"]} == {
            ("年龄", "28岁"),
            ("职业", "软件工程师"),
            ("爱好", "踢足球"),
        }
        await _ok(
            client,
            "add_memories",
            {"profile_schema_id": sid, "messages": [{"role": "user", "content": "我搬到上海了"}]},
        )

        resource = await client.read_resource(f"memory://profiles/{sid}")
        profile = json.loads(resource.contents[0].text)
        assert {a["name"]: a.get("value") for a in profile["attributes"]} == {
            "年龄": "28岁",
            "爱好": "踢足球",
            "职业": "软件工程师",
            "居住地": "上海",
        }

    # A new process: the profile is still there; a second move updates it, with history.
    async with Client(_params(data), mode="legacy") as client:
        listed = await _ok(client, "list_profile_schemas", {})
        assert [s["profile_schema_id"] for s in listed["profile_schemas"]] == [sid]
        moved = await _ok(
            client,
            "add_memories",
            {
                "profile_schema_id": sid,
                "sync": False,
                "messages": [{"role": "user", "content": "I moved to Singapore last month."}],
            },
        )
        assert moved["status"] == "pending"
        status = None
        for _ in range(200):
            status = await _ok(client, "get_request", {"request_id": moved["request_id"]})
            if status["status"] in ("done", "failed"):
                break
            import anyio

            await anyio.sleep(0.05)
        assert status["status"] == "done", status
        assert [(e["event"], e["value"], e["old_value"]) for e in status["profile_events"]] == [
            ("UPDATE", "Singapore", "上海")
        ]

        profile = await _ok(client, "get_user_profile", {"profile_schema_id": sid, "include_history": True})
        home = next(a for a in profile["attributes"] if a["name"] == "居住地")
        assert home["value"] == "Singapore"
        assert [(h["event"], h["value"]) for h in home["history"]] == [("ADD", "上海"), ("UPDATE", "Singapore")]
        assert "superseded_at" in home["history"][0] and "superseded_at" not in home["history"][1]

        prompt = await client.get_prompt("recall_user_context", {"topic": "周末做什么"})
        text = prompt.messages[0].content.text
        assert "- 爱好: 踢足球" in text and "- 居住地: Singapore" in text
