"""The ``summary`` strategy through the service: one running summary per run, ADD then UPDATE with
history, in Chinese and English; the offline extractor's extractive summary and the Anthropic
extractor (real client, fake Messages API on 127.0.0.1) rewriting the previous summary."""

from __future__ import annotations

import pytest

from mem_mcp.config import Settings
from mem_mcp.consolidation import Plan
from mem_mcp.extraction import CandidateMemory, StrategySpec
from mem_mcp.extraction.offline import SUMMARY_MAX_CHARS, OfflineExtractor
from mem_mcp.running_summary import excluded_types, plans, slot_key
from mem_mcp.service import MemoryService

from fake_anthropic import FakeAnthropic, tool_answer
from fakes import HashEmbedder

R1 = {"app_id": "app", "tenant_id": "alice", "agent_id": "claude", "run_id": "r1"}
R2 = {**R1, "run_id": "r2"}
STORE = "notes"


def user(*texts: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": t} for t in texts]


@pytest.fixture
def svc(memory_settings):
    service = MemoryService(memory_settings, embedder=HashEmbedder(), extractor=OfflineExtractor())
    service.create_store(STORE, extraction_strategies=["fact", "summary"])
    yield service
    service.close()


def summaries(svc: MemoryService, scope: dict) -> list[str]:
    return [m.text for m in svc.list_memories(store=STORE, scope=scope, types=["summary"]).memories]


def summary_event(events):
    (event,) = [e for e in events if e.type == "summary"]
    return event


def test_chinese_run_keeps_one_summary_rewritten_as_it_goes(svc):
    first = svc.add_memories(
        messages=[
            {"role": "user", "content": "你好"},
            {"role": "assistant", "content": "你好！"},
            {"role": "user", "content": "每天上午11点提醒我点外卖。"},
            {"role": "assistant", "content": "好的"},
            {"role": "user", "content": "明天10点提醒我整理会议纪要。"},
        ],
        store=STORE,
        scope=R1,
    )
    assert [(e.event, e.type) for e in first.events] == [("ADD", "fact"), ("ADD", "fact"), ("ADD", "summary")]
    start = summary_event(first.events)
    assert start.text.startswith("用户在本次对话中：希望每天上午11点被提醒点外卖；") and "会议纪要" in start.text
    assert "你好" not in start.text
    memory = svc.get_memory(start.memory_id, store=STORE, scope=R1)
    assert memory.key == "summary" and memory.extractor == "offline"
    assert memory.source == [first.message_ids[2], first.message_ids[4]]

    second = svc.add_memories(messages=user("我住在上海。", "帮我写一封请假邮件"), store=STORE, scope=R1)
    assert [(e.event, e.type) for e in second.events] == [("ADD", "fact"), ("UPDATE", "summary")]
    update = summary_event(second.events)
    assert update.memory_id == start.memory_id and update.old_text == start.text
    assert update.text == start.text.rstrip("。") + "；住在上海；请助手写一封请假邮件。"

    # Nothing new to summarise: the summary stays as it is (no event for it).
    again = svc.add_memories(messages=user("你好", "我住在上海。"), store=STORE, scope=R1)
    assert [(e.event, e.type) for e in again.events] == [("NONE", "fact")]

    # A retraction deletes the fact, never the summary; the summary records it.
    forget = svc.add_memories(messages=user("忘掉我住在哪里"), store=STORE, scope=R1)
    assert [(e.event, e.type) for e in forget.events] == [("DELETE", "fact"), ("UPDATE", "summary")]
    assert summaries(svc, R1) == [summary_event(forget.events).text]

    history = svc.memory_history(start.memory_id, store=STORE, scope=R1).entries
    assert [(h.event, h.text) for h in history] == [
        ("ADD", start.text),
        ("UPDATE", update.text),
        ("UPDATE", summary_event(forget.events).text),
    ]
    assert history[1].old_text == start.text

    # Another run of the same user has its own summary; the first is untouched.
    other = svc.add_memories(messages=user("我每天早上跑步。"), store=STORE, scope=R2)
    assert summary_event(other.events).event == "ADD" and summary_event(other.events).memory_id != start.memory_id
    assert len(summaries(svc, {**R1, "run_id": "*"})) == 2 and len(summaries(svc, R1)) == 1


def test_english_run_summary_and_its_length_cap(svc):
    first = svc.add_memories(
        messages=user(
            "Hi there! I'm planning a trip to Japan in April.", "Can you recommend some hotels in Kyoto?", "Thanks!"
        ),
        store=STORE,
        scope=R1,
    ).events
    start = summary_event(first)
    assert start.event == "ADD"
    assert start.text == (
        "In this conversation, the user: is planning a trip to Japan in April; "
        "asked the assistant to recommend some hotels in Kyoto."
    )
    moved = summary_event(
        svc.add_memories(messages=user("I moved to Berlin last month."), store=STORE, scope=R1).events
    )
    assert (moved.event, moved.old_text) == ("UPDATE", start.text)
    assert moved.text == start.text.rstrip(".") + "; lives in Berlin (moved there)."

    for i in range(12):
        svc.add_memories(
            messages=user(f"I have {i + 2} cats named Tom{i}. I work at Company{i} now."), store=STORE, scope=R1
        )
    (text,) = summaries(svc, R1)
    assert len(text) <= SUMMARY_MAX_CHARS
    assert (
        text.startswith("In this conversation, the user: (earlier points omitted) ")
        and "works at Company11 now." in text
    )
    assert "Japan" not in text  # the oldest points gave way to the newest
    history = svc.memory_history(start.memory_id, store=STORE, scope=R1).entries
    assert [h.event for h in history] == ["ADD"] + ["UPDATE"] * (len(history) - 1) and len(history) >= 8


def test_the_summary_takes_no_part_in_consolidating_facts(svc):
    svc.add_memories(messages=user("I am allergic to peanuts."), store=STORE, scope=R1)
    # In another run the same fact is NONE against the fact, not against (or absorbed by) run 1's summary.
    events = svc.add_memories(messages=user("I am allergic to peanuts."), store=STORE, scope=R2).events
    assert [(e.event, e.type) for e in events] == [("NONE", "fact"), ("ADD", "summary")]


def test_summary_plans_one_per_strategy_and_run():
    cands = [
        CandidateMemory(text="s1", type="summary", retracts=True),
        CandidateMemory(text="fact", type="fact"),
        CandidateMemory(text="s2", type="summary"),
        CandidateMemory(text="m", type="meeting_notes"),
    ]
    current = {"summary": {"id": "mem_1", "text": "old"}}
    out, surplus = plans(cands, current, ["summary", "meeting_notes"])
    assert surplus == {2} and set(out) == {0, 3}
    assert out[0] == Plan(
        "UPDATE", cands[0].model_copy(update={"key": "summary", "retracts": False}), "s1", current["summary"]
    )
    assert (out[3].action, out[3].candidate.key) == ("ADD", "summary:meeting_notes")
    assert slot_key("summary") == "summary"
    specs = [StrategySpec(name="fact"), StrategySpec(name="meeting_notes", type="summary")]
    assert excluded_types(specs) == ["meeting_notes", "summary"]


def test_anthropic_rewrites_the_previous_summary(tmp_path, monkeypatch):
    with FakeAnthropic() as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        settings = Settings(data_dir=tmp_path / "data", anthropic_api_key="test-key", _env_file=None)
        svc = MemoryService(settings, embedder=HashEmbedder())
        svc.create_store(STORE, extraction_strategies=["fact", "summary"])
        first_summary = "The user is planning a trip to Japan in April and asked for hotels in Kyoto."
        second_summary = "The user is planning an April trip to Japan, asked for Kyoto hotels, and prefers ryokans."
        fake.script(
            [
                tool_answer(
                    {
                        "memories": [
                            {
                                "text": "The user is planning a trip to Japan in April.",
                                "type": "fact",
                                "confidence": 0.9,
                                "source_messages": [0],
                            },
                            {"text": first_summary, "type": "summary", "confidence": 0.9, "source_messages": [0, 1]},
                        ],
                        "decisions": [{"candidate": 0, "action": "ADD"}, {"candidate": 1, "action": "ADD"}],
                    }
                ),
                tool_answer(
                    {
                        "memories": [
                            {"text": second_summary, "type": "summary", "confidence": 0.9, "source_messages": [0]}
                        ],
                        "decisions": [{"candidate": 0, "action": "ADD"}],
                    }
                ),
            ]
        )
        first = svc.add_memories(
            messages=user("I'm planning a trip to Japan in April.", "Any hotels in Kyoto?"), store=STORE, scope=R1
        ).events
        second = svc.add_memories(messages=user("I prefer ryokans to hotels."), store=STORE, scope=R1).events
        prompts = [str(r.body["messages"][0]["content"]) for r in fake.requests]
        svc.close()
    start = summary_event(first)
    assert [(e.event, e.memory_id, e.old_text) for e in second] == [("UPDATE", start.memory_id, first_summary)]
    assert "(none yet: write the first summary)" in prompts[0]
    assert f'<running_summary strategy="summary">\n{first_summary}\n</running_summary>' in prompts[1]
    assert "- name: summary (behaves like: summary)" in prompts[1]
    history = svc.memory_history(start.memory_id, store=STORE, scope=R1).entries
    assert [(h.event, h.text) for h in history] == [("ADD", first_summary), ("UPDATE", second_summary)]
