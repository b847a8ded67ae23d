"""From conversation to memory through the whole service: the real offline extractor, and the real
Anthropic extractor (real `anthropic` client) against the fake Messages API on 127.0.0.1."""

from __future__ import annotations

import pytest

from mem_mcp.extraction.offline import OfflineExtractor
from mem_mcp.service import MemoryService

from fake_anthropic import error, tool_answer
from fakes import HashEmbedder

ALICE = {"app_id": "app", "tenant_id": "alice", "agent_id": "claude", "run_id": "r1"}
READ = {"app_id": "app", "tenant_id": "alice"}


def user(*texts: str) -> list[dict]:
    return [{"role": "user", "content": t} for t in texts]


@pytest.fixture
def offline(memory_settings) -> MemoryService:
    svc = MemoryService(memory_settings, embedder=HashEmbedder(), extractor=OfflineExtractor())
    yield svc
    svc.close()


def texts(svc: MemoryService) -> list[str]:
    return sorted(m.text for m in svc.list_memories(scope=READ, limit=100).memories)


def test_default_extractor_without_a_key_is_offline(settings, make_service):
    assert make_service(settings, embedder=HashEmbedder()).extractor.name == "offline"


def test_seed_conversation_gives_two_reminders_and_nothing_for_hello(offline):
    out = offline.add_memories(
        messages=[
            {"role": "user", "content": "你好"},
            {"role": "assistant", "content": "你好！有什么可以帮你？"},
            {"role": "user", "content": "每天上午11点提醒我点外卖。"},
            {"role": "assistant", "content": "好的，已记下。"},
            {"role": "user", "content": "明天10点提醒我整理会议纪要。"},
        ],
        scope=ALICE,
    )
    assert [e.event for e in out.events] == ["ADD", "ADD"]
    saved = texts(offline)
    assert len(saved) == 2 and any("外卖" in t for t in saved) and any("会议纪要" in t for t in saved)
    assert not any("你好" in t for t in saved)
    mem = offline.get_memory(out.events[0].memory_id, scope=ALICE)
    assert mem.extractor == "offline" and mem.source and set(mem.source) <= set(out.message_ids)


def test_coffee_to_tea_updates_and_saying_it_twice_is_none(offline):
    first = offline.add_memories(messages=user("我喜欢喝咖啡"), scope=ALICE).events
    assert [e.event for e in first] == ["ADD"]
    change = offline.add_memories(messages=user("我不喝咖啡了，现在只喝茶"), scope={**ALICE, "run_id": "r2"}).events
    assert [e.event for e in change] == ["UPDATE"]
    assert change[0].memory_id == first[0].memory_id and change[0].old_text == first[0].text
    assert [h.memory.text for h in offline.search_memories(query="咖啡", scope=READ).results] == [change[0].text]
    history = offline.memory_history(first[0].memory_id, scope=ALICE).entries
    assert [e.event for e in history] == ["ADD", "UPDATE"]
    again = offline.add_memories(messages=user("我不喝咖啡了，现在只喝茶"), scope=ALICE).events
    assert [e.event for e in again] == ["NONE"]
    assert len(texts(offline)) == 1


def test_english_move_and_retraction(offline):
    offline.add_memories(messages=user("I live in Paris."), scope=ALICE)
    moved = offline.add_memories(messages=user("I moved to Berlin last month."), scope=ALICE).events
    assert [e.event for e in moved] == ["UPDATE"] and "Paris" in moved[0].old_text
    offline.add_memories(messages=user("My address is 12 Rue Oberkampf."), scope=ALICE)
    forget = offline.add_memories(messages=user("Please forget my address."), scope=ALICE).events
    assert [e.event for e in forget] == ["DELETE"] and "Oberkampf" in forget[0].old_text
    assert not any("Oberkampf" in t for t in texts(offline))


def test_background_extraction(offline):
    out = offline.add_memories(messages=user("我对花生过敏"), scope=ALICE, sync=False)
    assert out.status == "pending"
    offline.wait_for_jobs()
    status = offline.get_request(out.request_id)
    assert status.status == "done" and [e.event for e in status.events] == ["ADD"]
    assert any("花生" in t for t in texts(offline))


# -- Anthropic ------------------------------------------------------------------------------------


def test_anthropic_extracts_updates_and_survives_a_429(claude):
    fake, svc = claude
    assert svc.extractor.name == "anthropic"
    fake.script(
        [
            error(429, "slow down"),
            tool_answer(
                {
                    "memories": [
                        {
                            "text": "用户喜欢喝咖啡",
                            "type": "preference",
                            "confidence": 0.9,
                            "source_messages": [0],
                            "reasoning": "explicit",
                        }
                    ],
                    "decisions": [{"candidate": 0, "action": "ADD"}],
                }
            ),
        ]
    )
    first = svc.add_memories(messages=user("我喜欢喝咖啡"), scope=ALICE)
    assert first.status == "done" and [e.event for e in first.events] == ["ADD"]
    assert len(fake.requests) == 2  # the 429 was retried
    mem = svc.get_memory(first.events[0].memory_id, scope=ALICE)
    assert (mem.extractor, mem.model, mem.metadata.get("reasoning")) == ("anthropic", "claude-haiku-4-5", "explicit")

    fake.script(
        [
            tool_answer(
                {
                    "memories": [
                        {
                            "text": "用户不喝咖啡了，现在只喝茶",
                            "type": "preference",
                            "confidence": 0.95,
                            "source_messages": [0],
                        }
                    ],
                    "decisions": [
                        {"candidate": 0, "action": "UPDATE", "target": "m1", "text": "用户不喝咖啡了，现在只喝茶"}
                    ],
                }
            ),
        ]
    )
    change = svc.add_memories(messages=user("我不喝咖啡了，现在只喝茶"), scope=ALICE)
    assert [(e.event, e.memory_id, e.old_text) for e in change.events] == [("UPDATE", mem.id, "用户喜欢喝咖啡")]
    prompt = str(fake.requests[-1].body)
    assert "m1" in prompt and "用户喜欢喝咖啡" in prompt and mem.id not in prompt


def test_anthropic_outage_keeps_messages_and_retry_succeeds(claude):
    fake, svc = claude
    fake.script(
        [
            error(529, "overloaded"),
            error(529, "overloaded"),
            error(529, "overloaded"),
            error(529, "overloaded"),
            error(529, "overloaded"),
        ]
    )
    out = svc.add_memories(messages=user("I am allergic to shellfish"), scope=ALICE)
    assert out.status == "failed" and out.events == []
    assert "retry_request" in out.note
    assert [m.content for m in svc.list_messages(scope=ALICE).messages] == ["I am allergic to shellfish"]
    failed = svc.get_request(out.request_id)
    assert failed.error_code == "EXTRACTION_FAILED"

    fake.script(
        [
            tool_answer(
                {
                    "memories": [
                        {
                            "text": "The user is allergic to shellfish",
                            "type": "fact",
                            "confidence": 0.9,
                            "source_messages": [0],
                        }
                    ],
                    "decisions": [{"candidate": 0, "action": "ADD"}],
                }
            )
        ]
    )
    done = svc.retry_request(out.request_id)
    assert done.status == "done" and [e.event for e in done.events] == ["ADD"]
