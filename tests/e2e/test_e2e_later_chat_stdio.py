"""End to end over stdio with the Python SDK: a memory saved in one chat (one server process) is read,
changed, traced and forgotten by its id in a later chat (a new process, a new run), with no scope
passed, as Claude Desktop's model would do it. The default tool set, the real embedding model."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters
from mcp_types import Implementation


def _params(data: Path) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEM_MCP_", "ANTHROPIC_"))}
    env.update({"MEM_MCP_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", "OMP_WAIT_POLICY": "PASSIVE"})
    return StdioServerParameters(command=sys.executable, args=["-m", "mem_mcp", "serve"], env=env)


async def _chat(data: Path, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    async with Client(
        _params(data), client_info=Implementation(name="claude-ai", version="1"), read_timeout_seconds=120
    ) as c:
        return [await c.call_tool(tool, args) for tool, args in calls]


def _ok(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    return result.structured_content


def test_a_later_chat_changes_and_forgets_what_an_earlier_one_saved(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (added,) = asyncio.run(_chat(data, [("add_memories", {"text": "The user drinks coffee every morning"})]))
    memory_id = _ok(added)["events"][0]["memory_id"]

    found, got, updated, history, deleted, again = asyncio.run(
        _chat(
            data,
            [
                ("search_memories", {"query": "what does the user drink?"}),
                ("get_memory", {"memory_id": memory_id}),
                ("update_memory", {"memory_id": memory_id, "text": "The user drinks green tea every morning"}),
                ("memory_history", {"memory_id": memory_id}),
                ("delete_memory", {"memory_id": memory_id}),
                ("search_memories", {"query": "what does the user drink?"}),
            ],
        )
    )
    assert _ok(found)["results"][0]["id"] == memory_id
    first_run = _ok(got)["scope"]["run_id"]
    assert _ok(got)["text"] == "The user drinks coffee every morning"
    event = _ok(updated)["events"][0]
    assert event["event"] == "UPDATE" and event["old_text"] == "The user drinks coffee every morning"
    assert _ok(updated)["memory"]["scope"]["run_id"] == first_run  # still the memory of the first chat
    assert [e["event"] for e in _ok(history)["entries"]] == ["ADD", "UPDATE"]
    assert _ok(deleted)["events"][0]["event"] == "DELETE"
    assert memory_id not in {h["id"] for h in _ok(again)["results"]}
