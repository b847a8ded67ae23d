"""Profiles filled from conversations through the whole service: the Anthropic extractor (the real
``anthropic`` client against the fake Messages API on 127.0.0.1), and the offline rules in Chinese and
English. Also the Anthropic side of the contract: the attributes in the prompt, the answer checked."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from mem_mcp.extraction import (
    ExtractionError,
    ExtractionInput,
    ExtractMessage,
    ProfileAttributeSpec,
    ProfileSpec,
    StrategySpec,
)
from mem_mcp.extraction.anthropic import SYSTEM_PROMPT, AnthropicExtractor, ExtractionAnswer
from mem_mcp.extraction.offline import OfflineExtractor
from mem_mcp.service import MemoryService

from fake_anthropic import FakeAnthropic, tool_answer
from fakes import HashEmbedder

ALICE = {"app_id": "app", "tenant_id": "alice", "agent_id": "claude", "run_id": "r1"}
BASIC = [
    {"name": "年龄", "description": "用户年龄"},
    {"name": "爱好", "description": "用户的兴趣爱好"},
    {"name": "职业", "description": "用户职业"},
    {"name": "居住地", "description": "用户目前居住的城市"},
]
SEED = [
    {"role": "user", "content": "我今年28岁，是一名软件工程师。周末喜欢踢足球。"},
    {"role": "assistant", "content": "很高兴认识你!"},
]
T0 = datetime(2025, 6, 2, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def values(svc: MemoryService, schema_id: str, **kw) -> dict[str, str | None]:
    return {a.name: a.value for a in svc.get_user_profile(schema_id, app_id="app", tenant_id="alice", **kw).attributes}


def prompt_of(fake: FakeAnthropic, n: int = -1) -> str:
    content = fake.requests[n].body["messages"][0]["content"]
    return content if isinstance(content, str) else "".join(block["text"] for block in content)


# -- offline ---------------------------------------------------------------------------------------


@pytest.fixture
def offline(memory_settings):
    svc = MemoryService(memory_settings, embedder=HashEmbedder(), extractor=OfflineExtractor())
    yield svc
    svc.close()


def test_offline_fills_the_seed_profile_in_chinese(offline):
    schema = offline.create_profile_schema("用户基础画像", BASIC, app_id="app")
    out = offline.add_memories(messages=SEED, scope=ALICE, profile_schema=schema.profile_schema_id)
    assert out.status == "done"
    assert values(offline, schema.profile_schema_id) == {
        "年龄": "28岁",
        "爱好": "踢足球",
        "职业": "软件工程师",
        "居住地": None,
    }
    user_msg = out.message_ids[0]
    profile = offline.get_user_profile(schema.profile_schema_id, app_id="app", tenant_id="alice")
    assert all(a.source == [user_msg] for a in profile.attributes if a.value)  # not the assistant's turn

    offline.add_memories(
        messages=[{"role": "user", "content": "我搬到上海了"}], scope=ALICE, profile_schema_id=schema.profile_schema_id
    )
    moved = offline.add_memories(
        messages=[{"role": "user", "content": "我最近搬到深圳了"}],
        scope={**ALICE, "run_id": "r2"},
        profile_schema_id=schema.profile_schema_id,
    )
    assert [(e.event, e.value, e.old_value) for e in moved.profile_events] == [("UPDATE", "深圳", "上海")]
    home = values(offline, schema.profile_schema_id, include_history=True)
    assert home["居住地"] == "深圳"


def test_offline_fills_an_english_profile(offline):
    schema = offline.create_profile_schema(
        "basics",
        [
            {"name": "age"},
            {"name": "occupation"},
            {"name": "hobbies"},
            {"name": "city", "description": "Where the user lives"},
            {"name": "pets"},
            {"name": "diet"},
        ],
        app_id="app",
    )
    offline.add_memories(
        messages=[
            {"role": "user", "content": "I'm 34 and I work as a nurse. I love hiking. I live in Lisbon."},
            {"role": "assistant", "content": "Nice!"},
            {"role": "user", "content": "I have a cat named Miso, and I'm vegetarian."},
        ],
        scope=ALICE,
        profile_schema_id=schema.profile_schema_id,
    )
    assert values(offline, schema.profile_schema_id) == {
        "age": "34",
        "occupation": "nurse",
        "hobbies": "hiking",
        "city": "Lisbon",
        "pets": "a cat named Miso",
        "diet": "vegetarian",
    }
    offline.add_memories(
        messages=[{"role": "user", "content": "I moved to Porto last month. I also enjoy surfing."}],
        scope=ALICE,
        profile_schema_id=schema.profile_schema_id,
    )
    now = values(offline, schema.profile_schema_id)
    assert now["city"] == "Porto" and now["hobbies"] == "hiking, surfing"


# -- Anthropic through the service -----------------------------------------------------------------


def seed_answer(profile: list[dict]) -> dict:
    return {
        "memories": [
            {
                "text": "用户今年28岁，是一名软件工程师，周末喜欢踢足球。",
                "type": "fact",
                "confidence": 0.95,
                "source_messages": [0],
            }
        ],
        "decisions": [{"candidate": 0, "action": "ADD"}],
        "profile": profile,
    }


def test_anthropic_fills_the_profile_in_the_same_call(claude):
    fake, svc = claude
    schema = svc.create_profile_schema("用户基础画像", BASIC, app_id="app")
    sid = schema.profile_schema_id
    fake.script(
        [
            tool_answer(
                seed_answer(
                    [
                        {"attribute": "a1", "value": "28岁", "confidence": 0.95, "source_messages": [0]},
                        {"attribute": "a2", "value": "踢足球", "source_messages": [0]},
                        {"attribute": "职业", "value": "软件工程师", "source_messages": [0]},  # by name: accepted too
                    ]
                )
            )
        ]
    )
    out = svc.add_memories(messages=SEED, scope=ALICE, profile_schema_id=sid)
    assert len(fake.requests) == 1 and [e.event for e in out.events] == ["ADD"]
    assert {(e.event, e.name, e.value) for e in out.profile_events} == {
        ("ADD", "年龄", "28岁"),
        ("ADD", "爱好", "踢足球"),
        ("ADD", "职业", "软件工程师"),
    }
    assert values(svc, sid) == {"年龄": "28岁", "爱好": "踢足球", "职业": "软件工程师", "居住地": None}

    prompt = prompt_of(fake)
    assert "<profile_attributes>" in prompt
    assert (
        "a1 年龄 — 用户年龄 (current: unknown)" in prompt
        and "a4 居住地 — 用户目前居住的城市 (current: unknown)" in prompt
    )
    assert "fill the profile attributes" in prompt
    raw = json.dumps(fake.requests[-1].body, ensure_ascii=False)
    assert not any(a.attribute_id in raw for a in schema.attributes)  # short ids only

    # A later move: the model sees the current values and answers the new one; history keeps the old.
    fake.script(
        [
            tool_answer(
                {
                    "memories": [],
                    "decisions": [],
                    "profile": [{"attribute": "a4", "value": "上海", "source_messages": [0]}],
                }
            )
        ]
    )
    svc.add_memories(messages=[{"role": "user", "content": "我搬到上海了"}], scope=ALICE, profile_schema_id=sid)
    fake.script(
        [
            tool_answer(
                {
                    "memories": [],
                    "decisions": [],
                    "profile": [{"attribute": "a4", "value": "杭州", "confidence": 0.9, "source_messages": [0]}],
                }
            )
        ]
    )
    moved = svc.add_memories(
        messages=[{"role": "user", "content": "我又搬到杭州了"}], scope=ALICE, profile_schema_id=sid
    )
    assert "a4 居住地 — 用户目前居住的城市 (current: 上海)" in prompt_of(fake)
    assert "a1 年龄 — 用户年龄 (current: 28岁)" in prompt_of(fake)
    assert [(e.event, e.value, e.old_value) for e in moved.profile_events] == [("UPDATE", "杭州", "上海")]
    profile = svc.get_user_profile(sid, app_id="app", tenant_id="alice", include_history=True)
    home = profile.attributes[3]
    assert home.value == "杭州" and [h.value for h in home.history] == ["上海", "杭州"]
    assert home.history[1].extractor == "anthropic" and home.history[1].model == "claude-haiku-4-5"
    assert home.history[1].source == moved.message_ids

    # Clearing: "忘掉我住哪儿".
    fake.script([tool_answer({"memories": [], "decisions": [], "profile": [{"attribute": "a4", "clear": True}]})])
    cleared = svc.add_memories(
        messages=[{"role": "user", "content": "忘掉我住哪儿"}], scope=ALICE, profile_schema_id=sid
    )
    assert [(e.event, e.old_value) for e in cleared.profile_events] == [("DELETE", "杭州")]
    assert values(svc, sid)["居住地"] is None


def test_anthropic_answer_naming_an_unknown_attribute_fails_the_job_and_keeps_the_messages(claude):
    fake, svc = claude
    sid = svc.create_profile_schema("s", BASIC, app_id="app").profile_schema_id
    fake.script([tool_answer(seed_answer([{"attribute": "a9", "value": "x"}]))])
    out = svc.add_memories(messages=SEED, scope=ALICE, profile_schema_id=sid)
    assert out.status == "failed" and "a9" in out.note and out.message_ids
    assert all(v is None for v in values(svc, sid).values())
    fake.script([tool_answer(seed_answer([{"attribute": "a1", "value": "28岁"}]))])
    assert svc.retry_request(out.request_id).status == "done"
    assert values(svc, sid)["年龄"] == "28岁"


def test_without_a_profile_schema_the_prompt_has_no_attributes(claude):
    fake, svc = claude
    fake.script([tool_answer({"memories": [], "decisions": []})])
    out = svc.add_memories(messages=SEED, scope=ALICE)
    assert out.profile_events == [] and "<profile_attributes>" not in prompt_of(fake)


# -- the Anthropic extractor on its own ------------------------------------------------------------


def profile_input(**kw) -> ExtractionInput:
    return ExtractionInput(
        messages=[ExtractMessage(id="msg-1", role="user", content="I'm 28, a software engineer.", created_at=T0)],
        strategies=[StrategySpec(name="fact")],
        now=T0,
        profile=ProfileSpec(
            profile_schema_id="ps_1",
            name="basics",
            attributes=[
                ProfileAttributeSpec(attribute_id="attr_age", name="age", description="The user's age"),
                ProfileAttributeSpec(attribute_id="attr_job", name="occupation", current_value="student"),
            ],
        ),
        **kw,
    )


def test_the_tool_schema_and_system_prompt_cover_the_profile():
    schema = ExtractionAnswer.model_json_schema()
    assert "profile" in schema["properties"] and "profile" not in schema["required"]
    assert "<profile_attributes>" in SYSTEM_PROMPT and "clear" in SYSTEM_PROMPT


def test_extractor_maps_short_ids_and_drops_empty_values():
    with FakeAnthropic() as fake:
        fake.script(
            [
                tool_answer(
                    {
                        "memories": [],
                        "decisions": [],
                        "profile": [
                            {"attribute": "A1", "value": " 28 ", "source_messages": [0], "confidence": 0.9},
                            {"attribute": "a2", "value": "", "source_messages": [0]},
                        ],
                    }
                )
            ]
        )
        ex = AnthropicExtractor(api_key="k", base_url=fake.url, max_retries=0)
        result = ex.extract(profile_input())
        assert [(u.attribute_id, u.value, u.source_message_ids, u.confidence) for u in result.profile_updates] == [
            ("attr_age", "28", ["msg-1"], 0.9)
        ]
        assert "a2 occupation (current: student)" in prompt_of(fake)

        fake.script(
            [
                tool_answer(
                    {
                        "memories": [],
                        "decisions": [],
                        "profile": [{"attribute": "a1", "value": "28", "source_messages": [3]}],
                    }
                )
            ]
        )
        with pytest.raises(ExtractionError, match="profile\\[0\\] cites messages \\[3\\]"):
            ex.extract(profile_input())
        # A profile-only request (no memory strategies) still calls the model.
        fake.script([tool_answer({"memories": [], "decisions": [], "profile": [{"attribute": "a1", "value": "28"}]})])
        only = ex.extract(profile_input().model_copy(update={"strategies": []}))
        assert [u.value for u in only.profile_updates] == ["28"]
        ex.close()
