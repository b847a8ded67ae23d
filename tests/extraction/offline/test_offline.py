"""Tests of the offline, rule-based extractor (mem_mcp.extraction.offline).

A table of conversations, about half Chinese and half English: the substrings that must appear in some
extracted memory, the ones that must appear in none, and the type/key/retracts of specific candidates.
Every relative date is resolved against a fixed ``created_at`` (Saturday 2026-11-21, 09:00 +08:00).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import EllipsisType

import pytest

from mem_mcp.extraction.base import (
    CandidateMemory,
    ExtractionInput,
    ExtractionResult,
    ExtractMessage,
    Extractor,
    StrategySpec,
)
from mem_mcp.extraction.offline import OfflineExtractor

CREATED = datetime.fromisoformat("2026-11-21T09:00:00+08:00")
DEFAULT = ("fact", "preference")
ALL = ("fact", "preference", "episodic", "summary", "profile", "tool")


@dataclass(frozen=True)
class Expect:
    """A candidate whose text contains ``contains`` must exist, with these attributes."""

    contains: str
    type: str | None = None
    key: str | None | EllipsisType = ...  # ... = not checked; None = must have no key
    retracts: bool = False
    metadata: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    id: str
    messages: list[tuple[str, str]]
    must: list[str] = field(default_factory=list)
    must_not: list[str] = field(default_factory=list)
    expect: list[Expect] = field(default_factory=list)
    strategies: tuple[str, ...] = DEFAULT
    count: int | None = None
    created_at: datetime = CREATED


def _run(
    messages: list[tuple[str, str]], strategies: tuple[str, ...] = DEFAULT, created_at: datetime = CREATED
) -> ExtractionResult:
    data = ExtractionInput(
        messages=[
            ExtractMessage(id=f"m{i}", role=role, content=content, created_at=created_at)  # type: ignore[arg-type]
            for i, (role, content) in enumerate(messages)
        ],
        strategies=[StrategySpec(name=s) for s in strategies],
        now=created_at,
    )
    return OfflineExtractor().extract(data)


SEED = [
    ("user", "你好"),
    ("assistant", "你好,有什么可以帮您"),
    ("user", "每天上午11点提醒我点外卖。"),
    ("assistant", "没问题"),
    ("user", "明天10点提醒我整理会议纪要。"),
]

CHITCHAT_EN = [
    ("user", "Hi there!"),
    ("assistant", "Hello! How can I help you today?"),
    ("user", "How are you doing?"),
    ("assistant", "I'm great, thanks. I live in the cloud and I love questions."),
    ("user", "Haha nice. What's the weather like today?"),
    ("user", "ok"),
    ("user", "thanks!"),
    ("user", "I see. Sounds good to me."),
    ("user", "I love it!"),
    ("user", "I'm fine, thanks."),
    ("user", "I have a question."),
    ("user", "Let me think about it..."),
    ("user", "What time is it in Tokyo?"),
    ("user", "See you tomorrow!"),
    ("user", "Bye, thank you so much!"),
]

CHITCHAT_ZH = [
    ("user", "你好呀"),
    ("assistant", "你好！我是你的助手，我喜欢聊天。"),
    ("user", "今天天气怎么样？"),
    ("user", "哈哈哈"),
    ("user", "好的，我明白了"),
    ("user", "我觉得这个回答不错"),
    ("user", "嗯嗯"),
    ("user", "谢谢你！"),
    ("user", "我想问一下，你是谁？"),
    ("user", "我叫什么名字？"),
    ("user", "快一点好吗"),
    ("user", "明天见！"),
]

CASES: list[Case] = [
    # --- the Bailian seed and reminders ----------------------------------------------------------
    Case(
        "zh-seed-two-reminders",
        SEED,
        must=["每天上午11点", "点外卖", "2026-11-22 10:00", "整理会议纪要"],
        must_not=["你好", "没问题", "帮您", "明天"],
        expect=[
            Expect("点外卖", type="fact", key=None, metadata={"kind": "reminder", "recurrence": "每天上午11点"}),
            Expect("整理会议纪要", type="fact", metadata={"kind": "reminder", "due": "2026-11-22T10:00"}),
        ],
        count=2,
    ),
    Case(
        "zh-relative-weekday-and-day-after-tomorrow",
        [("user", "下周一提醒我交周报。后天下午3点提醒我去看牙医")],
        must=["2026-11-23被提醒交周报", "2026-11-23 15:00被提醒去看牙医"],
        must_not=["下周一", "后天"],
        count=2,
    ),
    Case(
        "zh-time-before-comma-and-month-day",
        [("user", "明天上午10点，提醒我开会。下个月5号提醒我交房租")],
        must=["2026-11-22 10:00被提醒开会", "2026-12-05被提醒交房租"],
        count=2,
    ),
    Case(
        "en-remind-tomorrow",
        [("user", "Remind me to call mom tomorrow at 10am.")],
        must=["reminded to call mom on 2026-11-22 at 10:00"],
        must_not=["tomorrow", "remind me"],
        expect=[Expect("call mom", type="fact", metadata={"kind": "reminder", "due": "2026-11-22T10:00"})],
        count=1,
    ),
    Case(
        "en-remind-recurring-and-question-form",
        [("user", "Can you remind me to call Bob on Monday? Also, remind me to water the plants every day at 8am.")],
        must=["call Bob on 2026-11-23", "water the plants every day at 8am"],
        expect=[Expect("water the plants", metadata={"kind": "reminder", "recurrence": "every day at 8am"})],
        count=2,
    ),
    # --- timezone: the message's own offset, never UTC ---------------------------------------------
    Case(
        "en-timezone-local-date",
        [("user", "Remind me tomorrow at 9am to stretch.")],
        must=["reminded to stretch on 2026-11-22 at 09:00"],
        must_not=["2026-11-23"],  # in UTC it is already 2026-11-22 04:30, whose tomorrow is the 23rd
        created_at=datetime.fromisoformat("2026-11-21T23:30:00-05:00"),
        count=1,
    ),
    Case(
        "zh-timezone-local-date",
        [("user", "明天提醒我交房租")],
        must=["2026-11-22被提醒交房租"],
        must_not=["2026-11-21"],  # in UTC it is still 2026-11-20 16:30
        created_at=datetime.fromisoformat("2026-11-21T00:30:00+08:00"),
        count=1,
    ),
    # --- plans ------------------------------------------------------------------------------------
    Case(
        "en-plan-next-friday",
        [("user", "I'm flying to Tokyo next Friday.")],
        must=["The user is flying to Tokyo on 2026-11-27"],
        must_not=["next Friday"],
        expect=[Expect("Tokyo", type="fact", metadata={"kind": "plan", "due": "2026-11-27"})],
        count=1,
    ),
    Case(
        "zh-plan-leading-time",
        [("user", "下周五我要飞东京")],
        must=["用户在2026-11-27要飞东京"],
        must_not=["下周五"],
        expect=[Expect("东京", metadata={"kind": "plan"})],
        count=1,
    ),
    Case(
        "en-plan-this-friday-said-on-saturday",
        [("user", "This Friday I have a dentist appointment at 2:30pm.")],
        must=["dentist appointment on 2026-11-27 at 14:30"],
        count=1,
    ),
    # --- personal facts ---------------------------------------------------------------------------
    Case(
        "zh-intro-name-city-job",
        [("user", "你好！我叫李雷，住在北京，是一名程序员。")],
        must=["用户叫李雷", "用户住在北京", "用户是一名程序员"],
        must_not=["你好"],
        expect=[Expect("李雷", type="fact", key="name"), Expect("北京", key="home_city"), Expect("程序员", key="job")],
        count=3,
    ),
    Case(
        "en-intro-name-city-employer",
        [("user", "Hi! My name is Alice. I live in Berlin and I work at Acme as a data engineer.")],
        must=["The user's name is Alice", "The user lives in Berlin", "The user works at Acme as a data engineer"],
        must_not=["Hi"],
        expect=[Expect("Alice", key="name"), Expect("Berlin", key="home_city"), Expect("Acme", key="employer")],
        count=3,
    ),
    Case(
        "zh-pet-allergy-age",
        [("user", "我有一只叫旺财的狗。我对花生过敏。我今年30岁")],
        must=["用户有一只叫旺财的狗", "用户对花生过敏", "用户今年30岁"],
        expect=[Expect("30岁", key="age"), Expect("花生", type="fact", key=None)],
        count=3,
    ),
    Case(
        "en-pet-allergy-question-tail",
        [("user", "I have a dog named Max. I'm allergic to peanuts, what can I cook tonight?")],
        must=["The user has a dog named Max", "The user is allergic to peanuts"],
        must_not=["cook", "tonight"],
        count=2,
    ),
    Case(
        "en-moved",
        [("user", "So, I moved to Berlin last month.")],
        must=["The user lives in Berlin"],
        expect=[Expect("Berlin", type="fact", key="home_city")],
        count=1,
    ),
    Case(
        "zh-family-language-hometown",
        [("user", "我是上海人，我老婆叫小红。我会说日语")],
        must=["用户是上海人", "用户老婆叫小红", "用户会说日语"],
        expect=[Expect("上海人", key="hometown")],
        count=3,
    ),
    # A clause without a subject after one about a family member is about that person, not the user.
    Case(
        "zh-wife-job-is-not-the-users",
        [("user", "我老婆叫李娜，是小学老师。我儿子今年5岁，在上幼儿园。")],
        must=["用户老婆叫李娜", "用户老婆是小学老师", "用户儿子今年5岁", "用户儿子在上幼儿园"],
        must_not=["用户是小学老师", "用户在上幼儿园"],
        expect=[Expect("小学老师", key=None)],
    ),
    Case(
        "en-wife-job-is-not-the-users",
        [("user", "My wife works as a nurse. My son is called Leo, loves football.")],
        must=["The user's wife works as a nurse", "The user's son"],
        must_not=["The user works as a nurse", "The user is a nurse"],
        expect=[Expect("nurse", key=None)],
    ),
    Case(
        "en-job-at-company-and-change-of-employer",
        [
            ("user", "I'm a software engineer at Google."),
            ("user", "Actually I no longer work at Google, I now work at Meta."),
        ],
        must=["The user is a software engineer at Google", "no longer works at Google and now works at Meta"],
        expect=[Expect("now works at Meta", key="employer")],
        count=2,
    ),
    Case(
        "en-remember-instruction-and-decimals",
        [("user", "Remember that my car is a red Tesla. My budget is 10.5k. My standup is at 9:30 every day.")],
        must=["The user's car is a red Tesla", "10.5k", "9:30 every day"],
        must_not=["Remember"],
        count=3,
    ),
    Case(
        "zh-remember-and-decimals",
        [("user", "记住我的车牌号是京A12345。我的身高是1.75米")],
        must=["用户的车牌号是京A12345", "用户的身高是1.75米"],
        must_not=["记住"],
        count=2,
    ),
    # --- preferences ------------------------------------------------------------------------------
    Case(
        "zh-drink-change",
        [("user", "我不喝咖啡了，现在只喝茶")],
        must=["不再喝咖啡", "只喝茶"],
        expect=[Expect("只喝茶", type="preference", key="drink")],
        count=1,
    ),
    Case(
        "en-drink-change",
        [("user", "I don't drink coffee anymore, now I only drink tea.")],
        must=["no longer drinks coffee", "only drinks tea"],
        expect=[Expect("tea", type="preference", key="drink")],
        count=1,
    ),
    Case(
        "zh-answer-style-and-drink",
        [("user", "我更喜欢简洁的回答。我只喝茶")],
        must=["用户更喜欢简洁的回答", "用户只喝茶"],
        expect=[Expect("简洁", type="preference", key="answer_style"), Expect("只喝茶", key="drink")],
        count=2,
    ),
    Case(
        "en-likes-and-dislikes",
        [
            (
                "user",
                "I prefer short answers. I love hiking and jazz. I really don't like long explanations. "
                "I hate cilantro.",
            )
        ],
        must=[
            "The user prefers short answers",
            "The user loves hiking and jazz",
            "doesn't like long explanations",
            "The user hates cilantro",
        ],
        expect=[Expect("short answers", type="preference", key="answer_style"), Expect("hiking", key=None)],
        count=4,
    ),
    Case(
        "zh-dislike-diet-favourite",
        [("user", "我讨厌香菜。我吃素。我最喜欢的颜色是蓝色")],
        must=["用户讨厌香菜", "用户吃素", "用户最喜欢的颜色是蓝色"],
        expect=[Expect("吃素", key="diet"), Expect("蓝色", key="favorite_color")],
        count=3,
    ),
    Case(
        "en-vegetarian-in-a-question",
        [("user", "I'm vegetarian, any dinner ideas?")],
        must=["The user is vegetarian"],
        must_not=["dinner"],
        expect=[Expect("vegetarian", type="preference", key="diet")],
        count=1,
    ),
    Case(
        "zh-standing-reply-language",
        [("user", "以后请用中文回答我")],
        must=["用户希望助手用中文回答"],
        expect=[Expect("中文", type="preference", key="reply_language")],
        count=1,
    ),
    # --- retractions ------------------------------------------------------------------------------
    Case(
        "zh-retract-address",
        [("user", "忘掉我的地址")],
        must=["用户的地址"],
        expect=[Expect("地址", key="address", retracts=True)],
        count=1,
    ),
    Case(
        "zh-retract-phone-and-birthday",
        [("user", "别记我的电话了。把我的生日删掉吧")],
        must=["用户的电话", "用户的生日"],
        expect=[Expect("电话", key="phone", retracts=True), Expect("生日", key="birthday", retracts=True)],
        count=2,
    ),
    Case(
        "en-retract-address",
        [("user", "Please forget my address.")],
        must=["The user's address"],
        expect=[Expect("address", key="address", retracts=True)],
        count=1,
    ),
    Case(
        "en-retract-statement",
        [("user", "Forget that I like coffee.")],
        must=["The user likes coffee"],
        expect=[Expect("coffee", type="preference", key=None, retracts=True)],
        count=1,
    ),
    Case(
        "en-forgot-is-not-a-retraction",
        [("user", "I forgot my keys."), ("user", "我忘了带钥匙")],
        count=0,
    ),
    # --- roles ------------------------------------------------------------------------------------
    Case(
        "en-assistant-turns-ignored",
        [("user", "hi"), ("assistant", "I live in Paris and I love jazz. My name is Claude."), ("user", "thanks")],
        must_not=["Paris", "jazz", "Claude"],
        strategies=ALL,
        count=0,
    ),
    Case(
        "zh-assistant-turns-ignored",
        [("assistant", "我叫小助手，我住在云端，我喜欢帮助别人"), ("user", "好的，谢谢")],
        must_not=["小助手", "云端"],
        strategies=ALL,
        count=0,
    ),
    # --- tool strategy ----------------------------------------------------------------------------
    Case(
        "zh-tool-requested",
        [("user", "用 pytest -x 跑测试更快"), ("tool", "pytest: 3 failed, 10 passed")],
        must=["pytest -x 跑测试更快", "Tool pytest failed"],
        expect=[
            Expect("跑测试更快", type="tool", metadata={"tool": "pytest", "success": True}),
            Expect("Tool pytest failed", type="tool", metadata={"tool": "pytest", "success": False}),
        ],
        strategies=("fact", "tool"),
        count=2,
    ),
    Case(
        "zh-tool-not-requested",
        [("user", "用 pytest -x 跑测试更快"), ("tool", "pytest: 3 failed, 10 passed")],
        strategies=DEFAULT,
        count=0,
    ),
    Case(
        "en-tool-report",
        [
            ("user", "The build failed because of a missing libssl."),
            ("tool", '{"tool": "deploy", "status": "error", "error": "permission denied on /srv"}'),
        ],
        must=["build failed because of a missing libssl", "Tool deploy failed: permission denied on /srv"],
        expect=[Expect("libssl", type="tool", metadata={"tool": "build", "success": False})],
        strategies=("tool",),
        count=2,
    ),
    # --- strategy filtering -----------------------------------------------------------------------
    Case(
        "zh-only-preferences",
        [("user", "我叫张三。我喜欢爵士乐。")],
        must=["用户喜欢爵士乐"],
        must_not=["张三"],
        strategies=("preference",),
        count=1,
    ),
    Case(
        "zh-only-facts",
        [("user", "我叫张三。我喜欢爵士乐。")],
        must=["用户叫张三"],
        must_not=["爵士乐"],
        strategies=("fact",),
        count=1,
    ),
    Case(
        "en-profile-instead-of-fact",
        [("user", "I live in Berlin. I love jazz.")],
        must=["The user lives in Berlin", "The user loves jazz"],
        expect=[Expect("Berlin", type="profile"), Expect("jazz", type="profile")],
        strategies=("profile",),
        count=2,
    ),
    Case(
        "en-custom-strategies-ignored",
        [("user", "I live in Berlin. I love jazz.")],
        strategies=("dietary_habits",),
        count=0,
    ),
    Case(
        "zh-episodic-summary",
        SEED,
        must=["用户在2026-11-21的对话中", "点外卖"],
        expect=[Expect("的对话中", type="episodic")],
        strategies=("episodic",),
    ),
    # --- things that are not memories -------------------------------------------------------------
    Case(
        "en-requests-and-questions",
        [
            ("user", "Can you explain how transformers work?"),
            ("user", "Write me a poem about spring."),
            ("user", "What's the weather?"),
            ("user", "I'd like a coffee please."),
        ],
        must_not=["transformers", "poem", "weather", "coffee"],
        count=0,
    ),
    Case(
        "zh-requests",
        [("user", "帮我写一首诗"), ("user", "请解释一下量子计算"), ("user", "我有个问题")],
        must_not=["诗", "量子"],
        count=0,
    ),
    Case("en-long-chitchat", CHITCHAT_EN, strategies=ALL, count=0),
    Case("zh-long-chitchat", CHITCHAT_ZH, strategies=ALL, count=0),
]


def _matches(expect: Expect, cand: CandidateMemory) -> bool:
    if expect.contains not in cand.text:
        return False
    if expect.type is not None and cand.type != expect.type:
        return False
    if expect.key is not ... and cand.key != expect.key:
        return False
    if cand.retracts != expect.retracts:
        return False
    return all(cand.metadata.get(k) == v for k, v in expect.metadata.items())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_extraction_table(case: Case) -> None:
    result = _run(case.messages, case.strategies, case.created_at)
    texts = [c.text for c in result.candidates]
    shown = "\n".join(
        f"  {c.type} key={c.key} retracts={c.retracts} {c.text!r} {c.metadata}" for c in result.candidates
    )
    for needle in case.must:
        assert any(needle in t for t in texts), f"{needle!r} missing from:\n{shown}"
    for needle in case.must_not:
        assert not any(needle in t for t in texts), f"{needle!r} should not appear in:\n{shown}"
    for expect in case.expect:
        assert any(_matches(expect, c) for c in result.candidates), f"no candidate like {expect}:\n{shown}"
    if case.count is not None:
        assert len(result.candidates) == case.count, shown
    requested = set(case.strategies)
    user_or_tool = {f"m{i}" for i, (role, _) in enumerate(case.messages) if role in ("user", "tool")}
    for cand in result.candidates:
        assert cand.type in requested
        assert 0.6 <= cand.confidence <= 0.9
        assert cand.source_message_ids and set(cand.source_message_ids) <= user_or_tool
        # Chinese in, Chinese out; English in, English out (tool outputs keep their own language).
        if cand.type != "tool":
            assert cand.text.startswith(("用户", "The user", "In a conversation")), cand.text
    assert len(texts) == len(set(texts))


def test_table_is_large_and_bilingual() -> None:
    assert len(CASES) >= 30
    zh = sum(1 for c in CASES if c.id.startswith("zh-"))
    en = sum(1 for c in CASES if c.id.startswith("en-"))
    assert zh >= 15 and en >= 15


def test_protocol_and_result_shape() -> None:
    extractor = OfflineExtractor()
    assert isinstance(extractor, Extractor)
    assert extractor.name == "offline" and extractor.model is None
    result = _run([("user", "我住在上海")])
    assert result.decisions is None
    assert result.extractor == "offline" and result.model is None


def test_preference_reasoning_is_explicit() -> None:
    result = _run([("user", "I prefer short answers")])
    (cand,) = result.candidates
    assert cand.reasoning and "explicit" in cand.reasoning and "I prefer short answers" in cand.reasoning


def test_source_ids_point_at_the_right_message() -> None:
    result = _run([("user", "hello"), ("assistant", "hi"), ("user", "I live in Berlin"), ("user", "我喜欢猫")])
    by_text = {c.text: c.source_message_ids for c in result.candidates}
    assert by_text == {"The user lives in Berlin": ["m2"], "用户喜欢猫": ["m3"]}


def test_identical_texts_are_merged() -> None:
    result = _run([("user", "我住在上海"), ("assistant", "好的"), ("user", "我住在上海。")])
    (cand,) = result.candidates
    assert cand.text == "用户住在上海" and cand.source_message_ids == ["m0", "m2"]


def test_reminders_become_episodic_when_the_store_asks() -> None:
    result = _run(SEED, ("fact", "episodic"))
    reminders = [c for c in result.candidates if c.metadata.get("kind") == "reminder"]
    assert len(reminders) == 2 and {c.type for c in reminders} == {"episodic"}
    assert sum(1 for c in result.candidates if "的对话中" in c.text) == 1


def test_tool_messages_need_a_stated_outcome() -> None:
    long_ok = "search: " + "result line, ok. " * 40
    result = _run([("tool", "file contents without any verdict"), ("tool", long_ok)], ("tool",))
    assert result.candidates == []
