"""Conversation -> memories end to end: `mem-mcp serve` over stdio, driven by the SDK's client, with the
default (offline) extractor and the real default embedding model."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

pytestmark = pytest.mark.slow  # long e2e: stdio server processes with the real model


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


async def test_messages_become_memories_and_a_change_updates_them(tmp_path: Path) -> None:
    async with Client(_params(tmp_path / "data"), mode="legacy") as client:
        seed = await client.call_tool(
            "add_memories",
            {
                "messages": [
                    {"role": "user", "content": "你好"},
                    {"role": "assistant", "content": "你好！"},
                    {"role": "user", "content": "每天上午11点提醒我点外卖。"},
                    {"role": "assistant", "content": "好的"},
                    {"role": "user", "content": "明天10点提醒我整理会议纪要。"},
                ]
            },
        )
        assert not seed.is_error, seed.content
        assert [e["event"] for e in seed.structured_content["events"]] == ["ADD", "ADD"]

        first = await client.call_tool("add_memories", {"messages": [{"role": "user", "content": "我喜欢喝咖啡"}]})
        coffee = first.structured_content["events"][0]
        change = await client.call_tool(
            "add_memories", {"messages": [{"role": "user", "content": "我不喝咖啡了，现在只喝茶"}], "sync": False}
        )
        assert change.structured_content["status"] == "pending"
        request_id = change.structured_content["request_id"]

    # A new server process: the background job has finished or resumes at start-up.
    async with Client(_params(tmp_path / "data"), mode="legacy") as client:
        status = None
        for _ in range(100):
            status = (await client.call_tool("get_request", {"request_id": request_id})).structured_content
            if status["status"] in ("done", "failed"):
                break
            import anyio

            await anyio.sleep(0.1)
        assert status["status"] == "done", status
        assert [(e["event"], e["memory_id"], e["old_text"]) for e in status["events"]] == [
            ("UPDATE", coffee["memory_id"], coffee["text"])
        ]

        found = await client.call_tool("search_memories", {"query": "what does the user drink?"})
        assert "茶" in found.structured_content["results"][0]["text"]
        texts = [h["text"] for h in found.structured_content["results"]]
        assert coffee["text"] not in texts
        assert not any("你好" in t for t in texts)
