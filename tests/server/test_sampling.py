"""The MCP sampling extractor through the SDK's in-process client: the client's model (a scripted
``sampling_callback``, the only double) extracts; the server, the service and LanceDB are real.
The same paths over stdio are in test_e2e_sampling_stdio.py."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client
from mcp_types import Implementation

from mem_mcp.config import Settings
from mem_mcp.extraction import ExtractionInput, ExtractionResult
from mem_mcp.extraction.llm import TOOL_NAME, ExtractionAnswer, system_prompt
from mem_mcp.server import build_server
from mem_mcp.service import CallContext, MemoryService

from fakes import HashEmbedder
from scripted_sampling import MINUTES, SEED_ANSWER, SEED_CONVERSATION, TAKEAWAY, Delay, ScriptedModel

TOOLS = types.SamplingCapability(tools=types.SamplingToolsCapability())


@pytest.fixture
def svc(tmp_path: Path):
    settings = Settings(
        data_dir=tmp_path / "data",
        extractor="sampling",
        anthropic_api_key=None,
        sampling_timeout_s=1.5,
        _env_file=None,
    )
    service = MemoryService(settings, embedder=HashEmbedder())
    yield service
    service.close()


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel()


def connect(
    svc: MemoryService, model: ScriptedModel | None, capabilities: types.SamplingCapability | None = TOOLS
) -> Client:
    """A client of a fresh server over ``svc``; with ``model`` as its sampling model, or unable to sample."""
    return Client(
        build_server(svc.settings.model_copy(update={"tools": "all"}), svc),
        mode="legacy",
        client_info=Implementation(name="desk", version="1"),
        sampling_callback=model,
        sampling_capabilities=capabilities if model is not None else None,
    )


async def call(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    return result.structured_content


def user(*texts: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": t} for t in texts]


async def test_seed_conversation_through_a_tool_call(svc, model):
    model.answer(SEED_ANSWER)
    async with connect(svc, model) as client:
        out = await call(client, "add_memories", {"messages": SEED_CONVERSATION})
        assert out["status"] == "done"
        assert [(e["event"], e["text"]) for e in out["events"]] == [("ADD", TAKEAWAY), ("ADD", MINUTES)]
        memory = await call(client, "get_memory", {"memory_id": out["events"][0]["memory_id"]})
    assert (memory["extractor"], memory["model"]) == ("sampling", "scripted-model")
    assert memory["source"] == [out["message_ids"][2]]

    (request,) = model.requests
    (tool,) = request.tools
    assert tool.name == TOOL_NAME and tool.input_schema == ExtractionAnswer.model_json_schema()
    assert request.tool_choice.mode == "required"
    assert request.system_prompt == system_prompt("tool")
    prompt = model.prompt()
    assert "user: 每天上午11点提醒我点外卖。" in prompt and "[4] " in prompt
    assert not any(message_id in prompt for message_id in out["message_ids"])  # indexes, never ids


async def test_json_answer_validated_whole_then_invalid_fails_and_retry_works(svc, model):
    fenced = "```json\n" + ExtractionAnswer.model_validate(SEED_ANSWER).model_dump_json() + "\n```"
    prose = "Sure! Here are the memories: " + ExtractionAnswer.model_validate(SEED_ANSWER).model_dump_json()
    peanuts = {
        "memories": [{"text": "用户对花生过敏。", "type": "fact", "confidence": 0.95, "source_messages": [0]}],
        "decisions": [{"candidate": 0, "action": "ADD"}],
    }
    model.answer(fenced, prose, peanuts)
    async with connect(svc, model, capabilities=types.SamplingCapability()) as client:
        first = await call(client, "add_memories", {"messages": SEED_CONVERSATION})
        assert [e["event"] for e in first["events"]] == ["ADD", "ADD"]
        assert model.requests[0].tools is None and "JSON Schema" in model.requests[0].system_prompt

        failed = await call(client, "add_memories", {"messages": user("我对花生过敏")})
        assert failed["status"] == "failed" and failed["events"] == []
        status = await call(client, "get_request", {"request_id": failed["request_id"]})
        assert status["error_code"] == "EXTRACTION_FAILED" and "not the JSON object" in status["error"]
        assert "Sure! Here are" in status["error"]
        messages = await call(client, "list_messages", {})
        assert [m["content"] for m in messages["messages"]][-1] == "我对花生过敏"

        retried = await call(client, "retry_request", {"request_id": failed["request_id"]})
        assert retried["status"] == "done" and retried["attempts"] == 2
        assert [(e["event"], e["text"]) for e in retried["events"]] == [("ADD", "用户对花生过敏。")]


async def test_invalid_tool_input_fails_the_job_and_keeps_the_messages(svc, model):
    bad = {"memories": [{"type": "fact", "confidence": 0.9, "source_messages": [0]}], "decisions": []}
    wrong_ref = {
        **SEED_ANSWER,
        "decisions": [{"candidate": 0, "action": "UPDATE", "target": "m7"}, {"candidate": 1, "action": "ADD"}],
    }
    model.answer(bad, wrong_ref, SEED_ANSWER)
    async with connect(svc, model) as client:
        out = await call(client, "add_memories", {"messages": SEED_CONVERSATION})
        assert out["status"] == "failed" and "retry_request" in out["note"]
        status = await call(client, "get_request", {"request_id": out["request_id"]})
        assert "failed validation" in status["error"] and "memories.0.text" in status["error"]
        again = await call(client, "retry_request", {"request_id": out["request_id"]})
        assert again["status"] == "failed" and "unknown memory 'm7'" in again["error"]
        done = await call(client, "retry_request", {"request_id": out["request_id"]})
        assert done["status"] == "done" and [e["event"] for e in done["events"]] == ["ADD", "ADD"]
        assert done["attempts"] == 3 and len(model.requests) == 3


async def test_refusal_and_timeout_fail_retryably(svc, model):
    model.answer(types.ErrorData(code=-1, message="User rejected sampling request"), Delay(5.0, SEED_ANSWER))
    async with connect(svc, model) as client:
        refused = await call(client, "add_memories", {"messages": SEED_CONVERSATION})
        status = await call(client, "get_request", {"request_id": refused["request_id"]})
        assert status["status"] == "failed" and "refused the sampling request" in status["error"]
        assert "User rejected" in status["error"]

        # The scripted model answers after 5 s; the server stops waiting at its 1.5 s timeout.
        late = await call(client, "retry_request", {"request_id": refused["request_id"]})
        assert late["status"] == "failed" and "did not answer the sampling request within 1.5 s" in late["error"]


async def test_a_client_without_sampling_gets_the_offline_extractor(svc, caplog):
    caplog.set_level(logging.WARNING, logger="mem_mcp.server.sampling")
    async with connect(svc, None) as client:
        out = await call(client, "add_memories", {"messages": SEED_CONVERSATION})
        assert [e["event"] for e in out["events"]] == ["ADD", "ADD"]
        memory = await call(client, "get_memory", {"memory_id": out["events"][0]["memory_id"]})
    assert memory["extractor"] == "offline" and "外卖" in memory["text"]
    assert "desk did not declare the MCP sampling capability" in caplog.text
    assert "offline extractor instead" in caplog.text


async def test_background_job_samples_while_the_client_is_connected(svc, model):
    model.answer(SEED_ANSWER)
    async with connect(svc, model) as client:
        out = await call(client, "add_memories", {"messages": SEED_CONVERSATION, "sync": False})
        assert out["status"] == "pending"
        await asyncio.to_thread(svc.wait_for_jobs)
        status = await call(client, "get_request", {"request_id": out["request_id"]})
    assert status["status"] == "done" and [e["text"] for e in status["events"]] == [TAKEAWAY, MINUTES]
    assert len(model.requests) == 1


class Gate:
    """An extractor that holds the job worker until released (to queue a job behind it)."""

    name = "gate"
    model = None

    def __init__(self) -> None:
        self.open = threading.Event()

    def extract(self, data: ExtractionInput) -> ExtractionResult:
        assert self.open.wait(30)
        return ExtractionResult(candidates=[], extractor=self.name)


async def test_background_job_whose_session_ended_fails_then_retries_on_a_new_connection(svc, model):
    gate = Gate()
    svc.add_memories(
        messages=user("hold the worker"), sync=False, ctx=CallContext(svc.default_context().defaults, extractor=gate)
    )
    async with connect(svc, model) as client:
        queued = await call(client, "add_memories", {"messages": SEED_CONVERSATION, "sync": False})
    gate.open.set()  # the first client is gone before its job runs
    await asyncio.to_thread(svc.wait_for_jobs)
    status = svc.get_request(queued["request_id"])
    assert status.status == "failed" and status.error_code == "EXTRACTION_FAILED"
    assert "session that asked for this extraction has ended" in status.error and model.requests == []
    assert len(svc.list_messages(scope=status.scope.model_dump()).messages) == len(SEED_CONVERSATION)

    model.answer(SEED_ANSWER)
    async with connect(svc, model) as client:
        retried = await call(client, "retry_request", {"request_id": queued["request_id"]})
    assert retried["status"] == "done" and [e["event"] for e in retried["events"]] == ["ADD", "ADD"]


async def test_running_summary_is_rewritten_by_the_model(svc, model):
    svc.create_store("notes", extraction_strategies=["fact", "summary"])
    first_summary = "用户在对话中要求每天上午11点提醒点外卖，并要求次日上午10点提醒整理会议纪要。"
    second_summary = first_summary.rstrip("。") + "；随后说明自己对花生过敏。"
    model.answer(
        {
            "memories": [
                *SEED_ANSWER["memories"],
                {"text": first_summary, "type": "summary", "confidence": 0.9, "source_messages": [2, 4]},
            ],
            "decisions": [*SEED_ANSWER["decisions"], {"candidate": 2, "action": "ADD"}],
        },
        {
            "memories": [
                {"text": "用户对花生过敏。", "type": "fact", "confidence": 0.95, "source_messages": [0]},
                {"text": second_summary, "type": "summary", "confidence": 0.9, "source_messages": [0]},
            ],
            # A model may well decide the summary is NONE or an UPDATE of something else: the run's summary
            # slot decides, not the model.
            "decisions": [{"candidate": 0, "action": "ADD"}, {"candidate": 1, "action": "NONE", "target": "m1"}],
        },
    )
    async with connect(svc, model) as client:
        first = await call(client, "add_memories", {"messages": SEED_CONVERSATION, "store": "notes"})
        assert [(e["event"], e["type"]) for e in first["events"]] == [
            ("ADD", "fact"),
            ("ADD", "fact"),
            ("ADD", "summary"),
        ]
        assert "(none yet: write the first summary)" in model.prompt(0)
        second = await call(client, "add_memories", {"messages": user("对了，我对花生过敏。"), "store": "notes"})
        summary_id = first["events"][2]["memory_id"]
        assert [
            (e["event"], e["memory_id"] if e["type"] == "summary" else None, e.get("old_text"))
            for e in second["events"]
        ] == [("ADD", None, None), ("UPDATE", summary_id, first_summary)]
        assert f'<running_summary strategy="summary">\n{first_summary}\n</running_summary>' in model.prompt(1)
        assert first_summary not in model.prompt(1).split("<existing_memories>")[1]  # summaries are not consolidated
        history = await call(client, "memory_history", {"memory_id": summary_id, "store": "notes"})
    assert [(h["event"], h["text"]) for h in history["entries"]] == [("ADD", first_summary), ("UPDATE", second_summary)]
