"""Consolidation rules and the extraction job lifecycle, through the service on real LanceDB.

``ScriptedExtractor`` implements our ``Extractor`` protocol with answers a test scripts: it stands in
for an LLM so that consolidation and job handling are tested on their own (the offline and Anthropic
extractors have their own test modules)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

import pytest

from mem_mcp.config import Settings
from mem_mcp.consolidation import DUPLICATE_COSINE, IDENTICAL_COSINE, Neighbour, decide, normalise
from mem_mcp.errors import InvalidArgumentError, RequestNotFoundError
from mem_mcp.extraction import (
    CandidateMemory,
    ExtractionError,
    ExtractionInput,
    ExtractionResult,
    Extractor,
    ReconcileDecision,
)
from mem_mcp.service import MemoryService

from fakes import HashEmbedder

ALICE = {"app_id": "app", "tenant_id": "alice", "agent_id": "claude", "run_id": "r1"}
READ = {"app_id": "app", "tenant_id": "alice"}

Answer = Callable[[ExtractionInput], ExtractionResult]


class ScriptedExtractor:
    name = "scripted"
    model = "script-1"

    def __init__(self) -> None:
        self.answers: list[Answer | Exception] = []
        self.inputs: list[ExtractionInput] = []
        self.gate: threading.Event | None = None

    def extract(self, data: ExtractionInput) -> ExtractionResult:
        self.inputs.append(data)
        if self.gate is not None:
            self.gate.wait(10)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer(data)


def cands(*items: CandidateMemory, decisions: list[ReconcileDecision] | None = None) -> Answer:
    return lambda data: ExtractionResult(
        candidates=list(items), decisions=decisions, extractor="scripted", model="script-1"
    )


@pytest.fixture
def scripted() -> ScriptedExtractor:
    return ScriptedExtractor()


@pytest.fixture
def svc(memory_settings, scripted) -> MemoryService:
    service = MemoryService(memory_settings, embedder=HashEmbedder(), extractor=scripted)
    yield service
    service.close()


def say(svc: MemoryService, text: str, **kw):
    return svc.add_memories(messages=[{"role": "user", "content": text}], scope=ALICE, **kw)


def active_texts(svc: MemoryService) -> list[str]:
    return sorted(m.text for m in svc.list_memories(scope=READ, limit=100).memories)


# -- rules ----------------------------------------------------------------------------------------


def test_rules():
    row = {"id": "m", "text": "The user lives in Paris.", "key": "home_city", "type": "fact"}
    new = CandidateMemory(text="The user lives in Berlin", type="fact", key="home_city")
    assert decide(new, [Neighbour(row, 0.5)]).action == "UPDATE"
    same = CandidateMemory(text="the user lives in paris", type="fact")
    assert decide(same, [Neighbour(row, 0.2)]).action == "NONE"
    near = CandidateMemory(text="User resides in Paris", type="fact")
    assert decide(near, [Neighbour(row, 0.99, IDENTICAL_COSINE)]).action == "NONE"
    assert decide(near, [Neighbour(row, 0.99, IDENTICAL_COSINE - 0.01)]).action == "ADD"  # words differ too much
    close = CandidateMemory(text="The user lives in Paris now", type="fact")
    assert decide(close, [Neighbour(row, 0.9, DUPLICATE_COSINE)]).action == "NONE"  # close and same words
    peanuts = {"id": "p", "text": "用户对花生过敏", "key": None, "type": "fact"}
    seafood = CandidateMemory(text="用户对海鲜过敏", type="fact")
    assert decide(seafood, [Neighbour(peanuts, 0.95, 0.964)]).action == "ADD"  # the e5 cosine of this pair
    forget = CandidateMemory(text="The user's home city", type="fact", key="home_city", retracts=True)
    assert decide(forget, [Neighbour(row, 0.1)]).action == "DELETE"
    assert decide(forget, []).action == "NONE"
    assert normalise("用户喜欢茶。") == normalise("用户喜欢茶")


def test_extractor_protocol(scripted):
    assert isinstance(scripted, Extractor)


# -- through the service --------------------------------------------------------------------------


def test_seed_conversation_two_adds_provenance_and_existing_shown_with_short_ids(svc, scripted):
    scripted.answers.append(
        lambda data: ExtractionResult(
            candidates=[
                CandidateMemory(
                    text="用户希望每天上午11点被提醒点外卖",
                    type="fact",
                    confidence=0.9,
                    source_message_ids=[data.messages[1].id],
                ),
                CandidateMemory(
                    text="用户希望在2026-11-22 10:00被提醒整理会议纪要",
                    type="fact",
                    source_message_ids=[data.messages[3].id],
                ),
            ],
            extractor="scripted",
            model="script-1",
        )
    )
    out = svc.add_memories(
        messages=[
            {"role": "user", "content": "你好"},
            {"role": "user", "content": "每天上午11点提醒我点外卖。"},
            {"role": "assistant", "content": "好的"},
            {"role": "user", "content": "明天10点提醒我整理会议纪要。"},
        ],
        scope=ALICE,
    )
    assert out.status == "done" and [e.event for e in out.events] == ["ADD", "ADD"]
    mem = svc.get_memory(out.events[0].memory_id, scope=ALICE)
    assert (mem.extractor, mem.model, mem.confidence) == ("scripted", "script-1", 0.9)
    assert mem.source == [out.message_ids[1]]
    assert mem.text == "用户希望每天上午11点被提醒点外卖"

    scripted.answers.append(cands())
    say(svc, "明天的提醒改到11点")
    shown = scripted.inputs[-1].existing
    assert [e.short_id for e in shown][:2] == ["m1", "m2"]
    assert {e.text for e in shown} == set(active_texts(svc))
    assert all("mem_" not in e.short_id for e in shown)


def test_update_by_key_keeps_history_and_search_hides_the_old(svc, scripted):
    scripted.answers.append(cands(CandidateMemory(text="用户喜欢喝咖啡", type="preference", key="drink")))
    first = say(svc, "我喜欢喝咖啡").events[0]
    scripted.answers.append(cands(CandidateMemory(text="用户不喝咖啡了，现在只喝茶", type="preference", key="drink")))
    upd = say(svc, "我不喝咖啡了，现在只喝茶").events[0]
    assert (upd.event, upd.memory_id, upd.old_text) == ("UPDATE", first.memory_id, "用户喜欢喝咖啡")
    history = svc.memory_history(first.memory_id, scope=ALICE).entries
    assert [(e.event, e.text) for e in history] == [("ADD", "用户喜欢喝咖啡"), ("UPDATE", "用户不喝咖啡了，现在只喝茶")]
    hits = svc.search_memories(query="咖啡", scope=READ).results
    assert [h.memory.text for h in hits] == ["用户不喝咖啡了，现在只喝茶"]
    assert len(svc.search_memories(query="咖啡", scope=READ, include_superseded=True).results) == 2


def test_duplicate_is_none(svc, scripted):
    scripted.answers.append(cands(CandidateMemory(text="The user is vegetarian.", type="fact")))
    say(svc, "I'm vegetarian")
    scripted.answers.append(cands(CandidateMemory(text="the user is vegetarian", type="fact")))
    again = say(svc, "as I said, I'm vegetarian")
    assert [e.event for e in again.events] == ["NONE"]
    assert active_texts(svc) == ["The user is vegetarian."]


def test_retraction_deletes_with_history(svc, scripted):
    scripted.answers.append(cands(CandidateMemory(text="用户的地址是上海市长宁路1号", type="fact", key="address")))
    added = say(svc, "我的地址是上海市长宁路1号").events[0]
    scripted.answers.append(cands(CandidateMemory(text="用户的地址", type="fact", key="address", retracts=True)))
    gone = say(svc, "忘掉我的地址").events[0]
    assert (gone.event, gone.memory_id, gone.old_text) == ("DELETE", added.memory_id, "用户的地址是上海市长宁路1号")
    assert active_texts(svc) == []
    assert [e.event for e in svc.memory_history(added.memory_id, scope=ALICE).entries] == ["ADD", "DELETE"]


def test_contradiction_decided_by_the_llm_with_short_ids(svc, scripted):
    scripted.answers.append(cands(CandidateMemory(text="The user works at Acme", type="fact")))
    acme = say(svc, "I work at Acme").events[0]
    scripted.answers.append(
        cands(
            CandidateMemory(text="The user works at Globex since November", type="fact"),
            CandidateMemory(text="The user has a cat", type="fact"),
            decisions=[
                ReconcileDecision(
                    candidate=0, action="UPDATE", target="m1", text="The user works at Globex (left Acme)"
                )
            ],
        )
    )
    out = say(svc, "I left Acme, I'm at Globex now. Also I got a cat")
    assert [(e.event, e.memory_id) for e in out.events][0] == ("UPDATE", acme.memory_id)
    assert out.events[0].old_text == "The user works at Acme"
    assert out.events[1].event == "ADD"  # no decision for it: the rules decide
    assert active_texts(svc) == ["The user has a cat", "The user works at Globex (left Acme)"]


def test_invalid_llm_reference_fails_the_job_and_keeps_messages(svc, scripted):
    scripted.answers.append(
        cands(
            CandidateMemory(text="x", type="fact"),
            decisions=[ReconcileDecision(candidate=0, action="DELETE", target="m9")],
        )
    )
    out = say(svc, "something")
    assert out.status == "failed" and "retry_request" in out.note
    status = svc.get_request(out.request_id)
    assert status.status == "failed" and status.error_code == "EXTRACTION_FAILED" and "m9" in status.error
    assert [m.content for m in svc.list_messages(scope=ALICE).messages] == ["something"]


# -- jobs -----------------------------------------------------------------------------------------


def test_llm_outage_then_retry_loses_nothing(svc, scripted):
    scripted.answers.append(ExtractionError("Claude API unreachable after 4 retries (529 overloaded)."))
    out = say(svc, "I'm allergic to shellfish")
    assert out.status == "failed" and out.events == []
    assert svc.get_request(out.request_id).attempts == 1

    scripted.answers.append(cands(CandidateMemory(text="The user is allergic to shellfish", type="fact")))
    retried = svc.retry_request(out.request_id)
    assert retried.status == "done" and retried.attempts == 2
    assert [e.event for e in retried.events] == ["ADD"]
    assert scripted.inputs[-1].messages[0].content == "I'm allergic to shellfish"
    with pytest.raises(InvalidArgumentError, match="already succeeded"):
        svc.retry_request(out.request_id)


def test_async_job_lifecycle(svc, scripted):
    scripted.gate = threading.Event()
    scripted.answers.append(cands(CandidateMemory(text="The user runs every morning", type="fact")))
    out = say(svc, "I run every morning", sync=False)
    assert out.status == "pending" and out.events == [] and "get_request" in out.note
    assert svc.get_request(out.request_id).status in ("pending", "running")
    scripted.gate.set()
    svc.wait_for_jobs()
    done = svc.get_request(out.request_id)
    assert done.status == "done" and [e.event for e in done.events] == ["ADD"]
    assert active_texts(svc) == ["The user runs every morning"]


def test_get_request_errors(svc):
    with pytest.raises(RequestNotFoundError):
        svc.get_request("req_nope")


class HangingExtractor:
    """Blocks forever inside the extraction call, like a process stuck on an LLM request."""

    name = "hanging"
    model = None

    def extract(self, data: ExtractionInput) -> ExtractionResult:
        threading.Event().wait()
        raise AssertionError("unreachable")


def _doomed_process(data_dir: str, ready_file: str) -> None:
    svc = MemoryService(
        Settings(data_dir=data_dir, _env_file=None), embedder=HashEmbedder(), extractor=HangingExtractor()
    )
    out = svc.add_memories(messages=[{"role": "user", "content": "I live in Oslo"}], scope=ALICE, sync=False)
    while svc.get_request(out.request_id).status != "running":
        threading.Event().wait(0.05)
    Path(ready_file).write_text(out.request_id)
    threading.Event().wait()  # killed here, mid-job


@pytest.mark.slow  # multi-process
def test_a_job_killed_mid_extraction_resumes_after_restart(settings, tmp_path):
    import multiprocessing
    import time

    ready = tmp_path / "ready"
    proc = multiprocessing.get_context("spawn").Process(
        target=_doomed_process, args=(str(settings.data_dir), str(ready))
    )
    proc.start()
    deadline = time.monotonic() + 120
    while not ready.exists() and time.monotonic() < deadline and proc.is_alive():
        time.sleep(0.1)
    request_id = ready.read_text()
    proc.kill()
    proc.join()

    extractor = ScriptedExtractor()
    extractor.answers.append(cands(CandidateMemory(text="The user lives in Oslo", type="fact")))
    restarted = MemoryService(settings, embedder=HashEmbedder(), extractor=extractor)
    assert restarted.get_request(request_id).status == "running"  # what the killed process left
    assert restarted.resume_jobs() == 1
    restarted.wait_for_jobs()
    status = restarted.get_request(request_id)
    assert status.status == "done" and status.attempts == 2
    assert [m.text for m in restarted.list_memories(scope=READ).memories] == ["The user lives in Oslo"]
    restarted.close()
