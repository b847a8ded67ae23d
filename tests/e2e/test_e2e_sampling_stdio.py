"""MCP sampling end to end: `mem-mcp serve` over stdio with MEM_MCP_EXTRACTOR=sampling, driven by the
SDK's client whose sampling callback is the client's model (scripted answers: the only double). The
real default embedding model runs in the server."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from mcp_types import Implementation

from scripted_sampling import MINUTES, SEED_ANSWER, SEED_CONVERSATION, TAKEAWAY, ScriptedModel, seed_again

pytestmark = pytest.mark.slow  # long e2e: a stdio server process with the real model


def _params(data_dir: Path) -> StdioServerParameters:
    env = {
        **os.environ,
        "MEM_MCP_DATA_DIR": str(data_dir),
        "HF_HUB_OFFLINE": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
        "MEM_MCP_TOOLS": "all",
        "MEM_MCP_EXTRACTOR": "sampling",
    }
    for key in ("ANTHROPIC_API_KEY", "MEM_MCP_ANTHROPIC_API_KEY"):
        env.pop(key, None)  # the fallback is the offline extractor, whatever the developer's shell has
    return StdioServerParameters(command=sys.executable, args=["-m", "mem_mcp", "serve"], env=env)


async def call(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    return result.structured_content


async def wait_done(client: Client, request_id: str) -> dict[str, Any]:
    status: dict[str, Any] = {}
    for _ in range(200):
        status = await call(client, "get_request", {"request_id": request_id})
        if status["status"] in ("done", "failed"):
            break
        await anyio.sleep(0.05)
    return status


async def test_the_clients_model_extracts_over_stdio(tmp_path: Path) -> None:
    model = ScriptedModel("client-model-1")
    invalid = {**SEED_ANSWER, "decisions": [{"candidate": 0, "action": "DELETE"}, {"candidate": 1, "action": "ADD"}]}
    tea = {
        "memories": [
            {
                "text": "用户不喝咖啡了，现在只喝茶。",
                "type": "preference",
                "confidence": 0.9,
                "source_messages": [0],
                "reasoning": "explicit",
                "key": "drink",
            }
        ],
        "decisions": [{"candidate": 0, "action": "ADD"}],
    }
    model.answer(SEED_ANSWER, invalid, seed_again, tea)
    capabilities = types.SamplingCapability(tools=types.SamplingToolsCapability())
    async with Client(
        _params(tmp_path / "data"),
        mode="legacy",
        client_info=Implementation(name="desk", version="1"),
        sampling_callback=model,
        sampling_capabilities=capabilities,
    ) as client:
        # The seed-001 conversation: one ADD per reminder, nothing for the greeting.
        seed = await call(client, "add_memories", {"messages": SEED_CONVERSATION})
        assert [(e["event"], e["text"]) for e in seed["events"]] == [("ADD", TAKEAWAY), ("ADD", MINUTES)]
        memory = await call(client, "get_memory", {"memory_id": seed["events"][0]["memory_id"]})
        assert (memory["extractor"], memory["model"]) == ("sampling", "client-model-1")
        assert model.requests[0].tools[0].name == "record_memories" and "你好" in model.prompt(0)

        # An invalid answer (DELETE without a target): the job fails, its messages stay, a retry works.
        bad = await call(client, "add_memories", {"messages": SEED_CONVERSATION})
        assert bad["status"] == "failed" and bad["events"] == []
        status = await call(client, "get_request", {"request_id": bad["request_id"]})
        assert status["error_code"] == "EXTRACTION_FAILED" and "DELETE without a target" in status["error"]
        kept = await call(client, "list_messages", {})
        assert sum(m["request_id"] == bad["request_id"] for m in kept["messages"]) == len(SEED_CONVERSATION)
        retried = await call(client, "retry_request", {"request_id": bad["request_id"]})
        assert retried["status"] == "done"
        assert [(e["event"], e["memory_id"]) for e in retried["events"]] == [
            ("NONE", e["memory_id"]) for e in seed["events"]
        ]

        # In the background: the worker thread asks the same connection's model.
        queued = await call(
            client,
            "add_memories",
            {"messages": [{"role": "user", "content": "我不喝咖啡了，现在只喝茶"}], "sync": False},
        )
        done = await wait_done(client, queued["request_id"])
        assert done["status"] == "done" and [(e["event"], e["type"]) for e in done["events"]] == [("ADD", "preference")]
    assert len(model.requests) == 4

    # A client that cannot sample: the same server extracts with the offline rules instead.
    async with Client(
        _params(tmp_path / "data"), mode="legacy", client_info=Implementation(name="plain", version="1")
    ) as client:
        out = await call(
            client, "add_memories", {"messages": [{"role": "user", "content": "I am allergic to peanuts."}]}
        )
        assert [(e["event"], e["text"]) for e in out["events"]] == [("ADD", "The user is allergic to peanuts")]
        memory = await call(client, "get_memory", {"memory_id": out["events"][0]["memory_id"]})
        assert memory["extractor"] == "offline"
