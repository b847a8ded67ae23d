"""AnthropicExtractor through the real ``anthropic`` client against a scripted local server.

No network beyond 127.0.0.1: ``FakeAnthropic`` answers ``POST /v1/messages`` from a script and records
what the client sent, so the tests check both the request (prompt, tool, caching) and how answers and
failures (429, 5xx, 529, 401, timeouts, invalid tool input) become results or ``ExtractionError``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import anthropic
import pytest

from mem_mcp.extraction import (
    ExistingMemory,
    ExtractionError,
    ExtractionInput,
    ExtractMessage,
    Extractor,
    StrategySpec,
)
from mem_mcp.extraction.anthropic import (
    DEFAULT_MODEL,
    MAX_TOKENS,
    SYSTEM_PROMPT,
    TOOL_NAME,
    AnthropicExtractor,
    ExtractionAnswer,
)

from fake_anthropic import FakeAnthropic, delay, error, text_answer, tool_answer

CST = timezone(timedelta(hours=8))
T0 = datetime(2025, 6, 2, 10, 0, tzinfo=CST)  # a Monday
ADD0 = {"candidate": 0, "action": "ADD"}
MSG_IDS = [
    "5f0c6a58-3f43-4a53-9d43-0f1d5f6a0001",
    "5f0c6a58-3f43-4a53-9d43-0f1d5f6a0002",
    "5f0c6a58-3f43-4a53-9d43-0f1d5f6a0003",
]


@pytest.fixture
def server() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


def make(server: FakeAnthropic, *, max_retries: int = 2, timeout: float = 5.0) -> AnthropicExtractor:
    return AnthropicExtractor(api_key="test", base_url=server.url, max_retries=max_retries, timeout=timeout)


def seed_input(**overrides: Any) -> ExtractionInput:
    values: dict[str, Any] = {
        "messages": [
            ExtractMessage(id=MSG_IDS[0], role="user", content="每天上午11点提醒我点外卖。", created_at=T0),
            ExtractMessage(
                id=MSG_IDS[1],
                role="assistant",
                content="好的，我会每天上午11点提醒你点外卖。",
                created_at=T0 + timedelta(seconds=5),
            ),
            ExtractMessage(
                id=MSG_IDS[2],
                role="user",
                content="对了，我现在不喝美式了，改喝拿铁。明天下午三点我要去看牙医。",
                created_at=T0 + timedelta(minutes=2),
            ),
        ],
        "strategies": [
            StrategySpec(name="fact", type="fact", description="Lasting facts, plans and reminders."),
            StrategySpec(name="preference", type="preference", description="Likes and dislikes."),
            StrategySpec(
                name="travel",
                type="preference",
                description="Travel habits.",
                extraction_prompt="Record seat and airline preferences.",
                update_prompt="Newer seat choices replace older ones.",
            ),
        ],
        "existing": [
            ExistingMemory(short_id="m1", text="用户喜欢喝美式咖啡。", type="preference"),
            ExistingMemory(short_id="m2", text="用户住在杭州。", type="fact"),
        ],
        "now": T0 + timedelta(minutes=3),
    }
    values.update(overrides)
    return ExtractionInput(**values)


def seed_answer(**overrides: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "memories": [
            {
                "text": "用户希望每天上午11点被提醒点外卖。",
                "type": "fact",
                "confidence": 0.95,
                "source_messages": [0],
            },
            {
                "text": "用户现在喝拿铁，不再喝美式咖啡。",
                "type": "preference",
                "confidence": 0.9,
                "source_messages": [2],
                "reasoning": "explicit: 用户说“我现在不喝美式了，改喝拿铁”",
                "key": "drink",
            },
        ],
        "decisions": [
            {"candidate": 0, "action": "ADD"},
            {"candidate": 1, "action": "UPDATE", "target": "m1", "text": "用户现在喝拿铁，不再喝美式咖啡。"},
        ],
    }
    answer.update(overrides)
    return answer


def user_prompt(server: FakeAnthropic, n: int = 0) -> str:
    content = server.requests[n].body["messages"][0]["content"]
    return content if isinstance(content, str) else "".join(block["text"] for block in content)


# -- the happy path ---------------------------------------------------------------------------------


def test_extracts_seed_conversation(server: FakeAnthropic) -> None:
    server.script([tool_answer(seed_answer())])
    extractor = make(server)
    assert isinstance(extractor, Extractor)

    result = extractor.extract(seed_input())

    assert result.extractor == "anthropic" and result.model == DEFAULT_MODEL
    first, second = result.candidates
    assert first.text == "用户希望每天上午11点被提醒点外卖。" and first.type == "fact"
    assert first.source_message_ids == [MSG_IDS[0]]
    assert second.text == "用户现在喝拿铁，不再喝美式咖啡。" and second.type == "preference"
    assert second.source_message_ids == [MSG_IDS[2]]
    assert second.key == "drink" and second.reasoning and second.reasoning.startswith("explicit")
    assert second.confidence == 0.9 and not second.retracts
    assert result.decisions is not None
    add, update = result.decisions
    assert (add.candidate, add.action, add.target) == (0, "ADD", None)
    assert (update.candidate, update.action, update.target) == (1, "UPDATE", "m1")
    assert update.text == "用户现在喝拿铁，不再喝美式咖啡。"
    assert len(server.requests) == 1


def test_request_carries_tool_forced_choice_cache_and_prompt(server: FakeAnthropic) -> None:
    server.script([tool_answer(seed_answer()), tool_answer(seed_answer(decisions=[]))])
    extractor = AnthropicExtractor(api_key="test", model="claude-test-model", base_url=server.url, max_retries=0)
    extractor.extract(seed_input())

    request = server.requests[0]
    assert request.path == "/v1/messages"
    assert request.api_key == "test"
    body = request.body
    assert body["model"] == "claude-test-model" and body["max_tokens"] == MAX_TOKENS

    (tool,) = body["tools"]
    assert tool["name"] == TOOL_NAME
    assert tool["input_schema"] == ExtractionAnswer.model_json_schema()
    assert tool["input_schema"]["required"] == ["memories", "decisions"]
    assert tool["cache_control"] == {"type": "ephemeral"}
    assert body["tool_choice"] == {"type": "tool", "name": TOOL_NAME}

    (system,) = body["system"]
    assert system == {"type": "text", "text": SYSTEM_PROMPT, "cache_control": {"type": "ephemeral"}}
    assert "用户" in system["text"] and "m1" in system["text"]

    assert [m["role"] for m in body["messages"]] == ["user"]
    prompt = user_prompt(server)
    # Messages by index, with their timestamps (and weekday) for resolving "明天".
    assert "[0] 2025-06-02T10:00+08:00 (Monday) user: 每天上午11点提醒我点外卖。" in prompt
    assert "[1] 2025-06-02T10:00+08:00 (Monday) assistant: 好的，我会每天上午11点提醒你点外卖。" in prompt
    assert "[2] 2025-06-02T10:02+08:00 (Monday) user: 对了，我现在不喝美式了，改喝拿铁。明天下午" in prompt
    assert "<now>2025-06-02T10:03+08:00 (Monday)</now>" in prompt
    # Existing memories under short ids only; no raw UUIDs anywhere in the request.
    assert "m1 [preference] 用户喜欢喝美式咖啡。" in prompt and "m2 [fact] 用户住在杭州。" in prompt
    raw = json.dumps(body, ensure_ascii=False)
    assert not any(message_id in raw for message_id in MSG_IDS)
    # Strategies, with a custom strategy's own prompts, in the user message, not the cached system block.
    assert "- name: travel (behaves like: preference)" in prompt
    assert "Record seat and airline preferences." in prompt and "Newer seat choices replace older ones." in prompt
    assert "Record seat and airline preferences." not in system["text"]

    # The cached prefix (tools + system) is byte-identical for another input.
    extractor.extract(seed_input(existing=[], strategies=[StrategySpec(name="fact")]))
    again = server.requests[1].body
    assert again["tools"] == body["tools"] and again["system"] == body["system"]
    assert "(none)" in user_prompt(server, 1)


def test_base_url_from_environment(server: FakeAnthropic, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    server.script([tool_answer(seed_answer())])
    result = AnthropicExtractor(api_key="test", max_retries=0, timeout=5.0).extract(seed_input())
    assert len(result.candidates) == 2 and len(server.requests) == 1


def test_injected_client_is_used(server: FakeAnthropic) -> None:
    server.script([tool_answer(seed_answer())])
    client = anthropic.Anthropic(api_key="other", base_url=server.url, max_retries=0)
    extractor = AnthropicExtractor(api_key="", client=client)
    assert extractor.client is client
    assert len(extractor.extract(seed_input()).candidates) == 2
    assert server.requests[0].api_key == "other"


def test_nothing_to_extract_makes_no_call(server: FakeAnthropic) -> None:
    result = make(server).extract(seed_input(messages=[]))
    assert result.candidates == [] and result.decisions is None and server.requests == []


def test_missing_api_key_is_refused_up_front() -> None:
    with pytest.raises(ExtractionError, match="ANTHROPIC_API_KEY"):
        AnthropicExtractor(api_key=" ")


def test_importing_the_module_does_not_import_the_sdk() -> None:
    code = "import sys, mem_mcp.extraction.anthropic as m; print('anthropic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- post-validation --------------------------------------------------------------------------------


def test_unrequested_type_is_dropped_with_its_decisions(server: FakeAnthropic) -> None:
    answer = seed_answer()
    unrequested = {"text": "用户在聊天。", "type": "episodic", "confidence": 0.5, "source_messages": [0]}
    answer["memories"].insert(0, unrequested)
    answer["decisions"] = [
        {"candidate": 0, "action": "ADD"},
        {"candidate": 1, "action": "ADD"},
        {"candidate": 2, "action": "UPDATE", "target": "M1"},
    ]
    server.script([tool_answer(answer)])
    result = make(server).extract(seed_input())
    assert [c.type for c in result.candidates] == ["fact", "preference"]
    assert result.decisions is not None
    assert [(d.candidate, d.action, d.target) for d in result.decisions] == [(0, "ADD", None), (1, "UPDATE", "m1")]


def test_type_matching_is_case_insensitive(server: FakeAnthropic) -> None:
    answer = seed_answer()
    answer["memories"][1]["type"] = "Preference"
    server.script([tool_answer(answer)])
    assert [c.type for c in make(server).extract(seed_input()).candidates] == ["fact", "preference"]


def test_no_decisions_leaves_reconciling_to_consolidation(server: FakeAnthropic) -> None:
    server.script([tool_answer(seed_answer(decisions=[]))])
    result = make(server).extract(seed_input())
    assert len(result.candidates) == 2 and result.decisions is None


def test_lists_sent_as_json_strings_are_accepted(server: FakeAnthropic) -> None:
    answer = seed_answer()
    answer["memories"] = json.dumps(answer["memories"], ensure_ascii=False)
    server.script([tool_answer(answer)])
    assert len(make(server).extract(seed_input()).candidates) == 2


def test_retraction_deletes(server: FakeAnthropic) -> None:
    answer = {
        "memories": [
            {
                "text": "用户要求忘掉其住址。",
                "type": "fact",
                "confidence": 1.0,
                "source_messages": [0],
                "retracts": True,
            }
        ],
        "decisions": [{"candidate": 0, "action": "DELETE", "target": "m2"}],
    }
    server.script([tool_answer(answer)])
    msg = ExtractMessage(id=MSG_IDS[0], role="user", content="忘掉我的地址。", created_at=T0)
    result = make(server).extract(seed_input(messages=[msg]))
    assert result.candidates[0].retracts
    assert result.decisions is not None and result.decisions[0].target == "m2"


@pytest.mark.parametrize(
    ("decisions", "expected"),
    [
        ([ADD0, {"candidate": 1, "action": "UPDATE", "target": "m9"}], "unknown memory 'm9'"),
        ([ADD0, {"candidate": 5, "action": "ADD"}], "candidate 5"),
        ([ADD0, {"candidate": 1, "action": "DELETE"}], "DELETE without a target"),
        ([ADD0], r"no decision for memories \[1\]"),
    ],
    ids=["unknown-short-id", "candidate-out-of-range", "delete-without-target", "undecided-candidate"],
)
def test_bad_decisions_are_rejected(server: FakeAnthropic, decisions: list[dict[str, Any]], expected: str) -> None:
    server.script([tool_answer(seed_answer(decisions=decisions))])
    with pytest.raises(ExtractionError, match=expected) as info:
        make(server).extract(seed_input())
    assert info.value.code == "EXTRACTION_FAILED"
    assert "answer was invalid" in str(info.value) and "can be retried" in str(info.value)


def test_source_message_out_of_range_is_rejected(server: FakeAnthropic) -> None:
    answer = seed_answer()
    answer["memories"][0]["source_messages"] = [0, 7]
    server.script([tool_answer(answer)])
    with pytest.raises(ExtractionError, match=r"cites messages \[7\]"):
        make(server).extract(seed_input())


# -- invalid answers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mutate",
    [
        lambda a: a["memories"][0].pop("text"),
        lambda a: a["memories"][0].update(confidence=7),
        lambda a: a["memories"][0].update(text="   "),
        lambda a: a.pop("decisions"),
        lambda a: a["decisions"][0].update(action="MERGE"),
    ],
    ids=["missing-text", "confidence-7", "blank-text", "missing-decisions", "unknown-action"],
)
def test_invalid_tool_input_is_a_validation_error(server: FakeAnthropic, mutate: Any) -> None:
    answer = seed_answer()
    mutate(answer)
    server.script([tool_answer(answer)])
    with pytest.raises(ExtractionError, match="failed validation") as info:
        make(server).extract(seed_input())
    message = str(info.value)
    assert "answer was invalid" in message and "can be retried" in message
    assert len(server.requests) == 1  # an invalid answer is not retried by the client


def test_text_only_answer_is_rejected(server: FakeAnthropic) -> None:
    server.script([text_answer("用户想每天11点点外卖。")])
    with pytest.raises(ExtractionError, match=f"did not call {TOOL_NAME}") as info:
        make(server).extract(seed_input())
    assert "用户想每天11点点外卖" in str(info.value)


def test_other_tool_name_is_rejected(server: FakeAnthropic) -> None:
    server.script([tool_answer(seed_answer(), name="something_else")])
    with pytest.raises(ExtractionError, match=f"did not call {TOOL_NAME}"):
        make(server).extract(seed_input())


def test_answer_cut_off_at_max_tokens_is_rejected(server: FakeAnthropic) -> None:
    server.script([tool_answer(seed_answer(), stop_reason="max_tokens")])
    with pytest.raises(ExtractionError, match="cut off at max_tokens"):
        make(server).extract(seed_input())


# -- HTTP failures, retries, timeouts ---------------------------------------------------------------


def test_rate_limited_once_then_success(server: FakeAnthropic) -> None:
    server.script([error(429, "slow down"), tool_answer(seed_answer())])
    result = make(server, max_retries=2).extract(seed_input())
    assert len(result.candidates) == 2
    assert len(server.requests) == 2
    assert server.requests[1].headers.get("x-stainless-retry-count") == "1"


@pytest.mark.parametrize(
    ("status", "expected"),
    [(429, "kept rate limiting"), (500, "kept failing after 2 retries"), (529, "overloaded")],
)
def test_persistent_errors_fail_after_retries(server: FakeAnthropic, status: int, expected: str) -> None:
    server.script([error(status, "nope")] * 3)
    with pytest.raises(ExtractionError, match=expected) as info:
        make(server, max_retries=2).extract(seed_input())
    assert len(server.requests) == 3  # the first try and 2 retries
    message = str(info.value)
    assert f"{status}: nope" in message and "messages are kept" in message and "can be retried" in message
    assert info.value.code == "EXTRACTION_FAILED" and info.value.details["status"] == status
    assert info.value.details["request_id"].startswith("req_fake")
    assert isinstance(info.value.__cause__, anthropic.APIStatusError)


def test_overloaded_then_success(server: FakeAnthropic) -> None:
    server.script([error(529), error(503), tool_answer(seed_answer())])
    assert len(make(server, max_retries=2).extract(seed_input()).candidates) == 2
    assert len(server.requests) == 3


def test_authentication_error_names_the_key(server: FakeAnthropic) -> None:
    server.script([error(401, "invalid x-api-key")])
    with pytest.raises(ExtractionError, match="ANTHROPIC_API_KEY") as info:
        make(server).extract(seed_input())
    assert "401" in str(info.value)
    assert len(server.requests) == 1  # not retried


def test_bad_request_is_not_retried(server: FakeAnthropic) -> None:
    server.script([error(400, "prompt is too long")])
    with pytest.raises(ExtractionError, match="refused the request .400: prompt is too long"):
        make(server).extract(seed_input())
    assert len(server.requests) == 1


def test_timeout_fails_with_retry_hint(server: FakeAnthropic) -> None:
    # The server answers after 3 s; the client gives up after 0.3 s (the cause is the SDK's timeout,
    # not an answer that came late).
    server.script([delay(3.0, tool_answer(seed_answer()))])
    with pytest.raises(ExtractionError, match="did not answer in time") as info:
        make(server, max_retries=0, timeout=0.3).extract(seed_input())
    assert "can be retried" in str(info.value)
    assert isinstance(info.value.__cause__, anthropic.APITimeoutError)


def test_timeout_is_retried(server: FakeAnthropic) -> None:
    server.script([delay(3.0, tool_answer(seed_answer())), tool_answer(seed_answer())])
    result = make(server, max_retries=1, timeout=0.3).extract(seed_input())
    assert len(result.candidates) == 2 and len(server.requests) == 2


def test_unreachable_server_is_a_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    extractor = AnthropicExtractor(api_key="test", base_url=f"http://127.0.0.1:{port}", max_retries=0, timeout=1.0)
    with pytest.raises(ExtractionError, match="Could not reach the Anthropic API") as info:
        extractor.extract(seed_input())
    assert "can be retried" in str(info.value)


def test_null_like_target_is_no_target(server: FakeAnthropic) -> None:
    decisions = [
        {"candidate": 0, "action": "ADD", "target": "none"},
        {"candidate": 1, "action": "NONE", "target": "null"},
    ]
    server.script([tool_answer(seed_answer(decisions=decisions))])
    result = make(server).extract(seed_input())
    assert result.decisions is not None
    assert [(d.action, d.target) for d in result.decisions] == [("ADD", None), ("NONE", None)]
