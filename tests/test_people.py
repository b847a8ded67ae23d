"""Who a question asks about against who a memory is about (people.py, issue 11), and what the ranking
does with it on real embeddings. Small fixed zh/en sets written for these tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from mem_mcp import lexicon, people, retrieval
from ranking_cases import candidates, centered_e5

needs_dictionary = pytest.mark.skipif(not lexicon.installed(), reason="needs the dictionary")

FAMILY = [
    "用户一般晚上十一点半睡，早上六点半起",
    "Her daughter Yutong has to be in bed by 9 pm on school nights",
    "子墨挑食，不吃青椒和胡萝卜",
    "用户的丈夫叫周浩，在银行工作",
    "用户和丈夫是2007年在南京读大学时认识的",
    "The user takes the metro to work",
    "用户的儿子叫子墨，今年八岁",
]


@needs_dictionary
def test_a_question_names_a_person_in_either_script_and_the_role_a_memory_gives_them():
    # 子墨 is Zimo through pinyin and the son by the memory that names him; Yutong is "her daughter"
    assert people.asked_about("Which vegetables does Zimo refuse to eat?", FAMILY) == [
        ("name", frozenset({"子墨"})),
        ("role", frozenset({"son"})),
    ]
    assert people.asked_about("When does Yutong go to bed?", FAMILY) == [
        ("name", frozenset({"Yutong"})),
        ("role", frozenset({"daughter"})),
    ]
    assert people.asked_about("我女儿几点睡觉？", FAMILY) == [("role", frozenset({"daughter"}))]
    assert people.asked_about("What time do I go to bed?", FAMILY) == [("user", frozenset())]
    # no one at all: nothing to decide
    assert people.asked_about("What is the capital of France?", FAMILY) == []


@needs_dictionary
def test_a_memory_about_someone_else_is_elsewhere_unless_it_mentions_who_is_asked_about():
    away = people.elsewhere("我女儿上学期间几点睡？", FAMILY)
    assert away[0] is True  # the user's own bedtime answers nothing about the daughter
    assert away[1] is False  # the daughter's
    assert away[2] is False  # a name against a role: 子墨 may be the daughter
    assert away[5] is True
    # about the user, but naming the daughter: still a candidate
    assert people.elsewhere("我女儿几点睡？", ["用户每晚给女儿讲故事"]) == [False]


@needs_dictionary
def test_the_user_beside_someone_else_and_a_named_persons_role_keep_their_memories():
    # "Zhou Hao and I": the user is asked about too, and 周浩 is the husband the memory writes as 丈夫
    away = people.elsewhere("Where did Zhou Hao and I first meet?", FAMILY)
    assert away[4] is False
    assert away[5] is False
    # a named child's memory written with the role only ("生儿子时")
    texts = ["用户2018年生儿子时是剖腹产", "Her son Lele is allergic to mangoes"]
    assert people.elsewhere("Was Lele delivered by C-section?", texts) == [False, False]


@needs_dictionary
def test_a_compound_kin_word_is_no_role_to_tell_apart():
    # 外甥 reads as "sister's son": no one role, so it is never marked against "nephew"
    assert people.elsewhere("Did my nephew get into Tsinghua?", ["用户的外甥今年考上了清华"]) == [False]


@pytest.fixture(scope="module")
def centered():
    return centered_e5()


def _ranked(emb, texts, query):
    at = datetime(2026, 6, 1, tzinfo=timezone.utc) - timedelta(days=30)
    cands, cal = candidates(emb, texts, query, [at] * len(texts))
    return [row["text"] for row, _ in retrieval.fuse(cands, query, cal, rerank=True, current_run=None)]


@needs_dictionary
def test_the_memory_about_the_person_asked_about_ranks_first(centered, monkeypatch):
    coffee, juice = "用户喜欢喝美式咖啡", "Her son Lele only drinks apple juice"
    texts = [coffee, juice, "用户的女儿叫雨桐", "用户的儿子叫乐乐"]
    ranked = _ranked(centered, texts, "乐乐爱喝什么？")
    assert ranked.index(juice) < ranked.index(coffee)
    # without the person signal the user's own drink wins: the signal is what moves it
    monkeypatch.setattr(retrieval, "PERSON_WEIGHT", 0.0)
    ranked = _ranked(centered, texts, "乐乐爱喝什么？")
    assert ranked.index(coffee) < ranked.index(juice)
