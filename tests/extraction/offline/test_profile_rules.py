"""The offline profile rules: what attributes mean (name or description), near-synonyms, and values from
first-person statements in Chinese and English."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from mem_mcp.extraction import ExtractionInput, ExtractMessage, ProfileAttributeSpec, ProfileSpec, StrategySpec
from mem_mcp.extraction.offline import OfflineExtractor
from mem_mcp.extraction.offline.profile_rules import profile_updates
from mem_mcp.profile_concepts import concept_of, name_key, near_synonym

T0 = datetime(2025, 6, 2, 10, 0, tzinfo=timezone(timedelta(hours=8)))

ATTRS = {
    "年龄": "用户年龄",
    "年龄段": "用户当前所处的年龄阶段",
    "性别": "",
    "民族": "",
    "职业": "用户职业",
    "公司": "",
    "居住地": "用户目前居住的城市",
    "家乡": "",
    "爱好": "用户的兴趣爱好",
    "饮食习惯": "饮食偏好或限制",
    "宠物": "",
    "家庭成员": "",
    "婚姻状况": "",
    "姓名": "",
    "语言": "",
    "学校": "",
    "宗教限制": "",
}


def spec(attrs: dict[str, str] = ATTRS, current: dict[str, str] | None = None) -> ProfileSpec:
    current = current or {}
    return ProfileSpec(
        profile_schema_id="ps_test",
        name="test",
        attributes=[
            ProfileAttributeSpec(
                attribute_id=f"id_{name}", name=name, description=desc, current_value=current.get(name)
            )
            for name, desc in attrs.items()
        ],
    )


def fill(*texts: str, attrs: dict[str, str] = ATTRS, current: dict[str, str] | None = None, role: str = "user") -> dict:
    msgs = [ExtractMessage(id=f"m{i}", role=role, content=t, created_at=T0) for i, t in enumerate(texts)]
    return {
        u.attribute_id.removeprefix("id_"): (None if u.clear else u.value)
        for u in profile_updates(msgs, spec(attrs, current))
    }


# -- vocabulary ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "description", "concept"),
    [
        ("年龄", "", "age"),
        ("年龄段", "", "age_group"),
        ("Age", "", "age"),
        ("age group", "", "age_group"),
        ("居住地", "", "residence"),
        ("现居城市", "", "residence"),
        ("home city", "", "residence"),
        ("hometown", "", "hometown"),
        ("家乡", "", "hometown"),
        ("职业", "", "occupation"),
        ("Job title", "", "occupation"),
        ("公司", "", "employer"),
        ("爱好", "", "hobbies"),
        ("Hobbies", "", "hobbies"),
        ("饮食习惯", "", "diet"),
        ("dietary restrictions", "", "diet"),
        ("宠物", "", "pets"),
        ("家庭成员", "", "family"),
        ("family members", "", "family"),
        ("姓名", "", "name"),
        ("full_name", "", "name"),
        ("nickname", "", "nickname"),
        ("宗教限制", "", "religion"),
        # Description decides when the name says nothing; excluded words keep a near miss out.
        ("where", "用户目前居住的城市", "residence"),
        ("x", "The user's pets", "pets"),
        ("家庭关系", "用户与家人之间的关系质量", None),
        ("近期活动", "用户近期所进行的活动或行为。", None),
        ("人生事件", "用户经历的重要人生节点(如升学、毕业、就业、搬家等)。", None),
        ("username", "", None),
        ("language", "", "languages"),
        ("plan", "User subscription plan", None),
    ],
)
def test_concept_of_an_attribute(name, description, concept):
    found = concept_of(name, description)
    assert (found.key if found else None) == concept


def test_near_synonyms_and_names():
    assert near_synonym("姓名", "名字").key == "name"
    assert near_synonym("年龄", "age").key == "age"
    assert near_synonym("用户年龄", "岁数").key == "age"
    assert near_synonym("年龄", "年龄段") is None
    assert near_synonym("家庭成员", "家庭关系") is None
    assert near_synonym("年龄", "年龄") is None  # the same name is a duplicate, not a synonym
    assert name_key(" Full_Name ") == name_key("full name") == "fullname"
    assert name_key("用户的年龄") == "年龄"


# -- values -----------------------------------------------------------------------------------------


def test_the_seed_sentence_in_chinese():
    assert fill("我今年28岁，是一名软件工程师。周末喜欢踢足球。") == {
        "年龄": "28岁",
        "年龄段": "青年",
        "职业": "软件工程师",
        "爱好": "踢足球",
    }


def test_the_seed_sentence_in_english():
    assert fill("I'm 28 years old and I work as a software engineer. On weekends I like playing football.") == {
        "年龄": "28",
        "年龄段": "young adult",
        "职业": "software engineer",
        "爱好": "playing football",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我搬到上海了", {"居住地": "上海"}),
        ("上个月我搬到杭州了", {"居住地": "杭州"}),
        ("我住在北京朝阳区", {"居住地": "北京朝阳区"}),
        ("我是四川人", {"家乡": "四川"}),
        ("我在腾讯做产品经理", {"职业": "产品经理", "公司": "腾讯"}),
        ("我在字节跳动上班", {"公司": "字节跳动"}),
        ("我养了一只叫伊恩的小狗", {"宠物": "一只叫伊恩的小狗"}),
        ("我家的猫叫咪咪", {"宠物": "叫咪咪的猫"}),
        ("我有一个儿子和一个女儿", {"家庭成员": "一个儿子和一个女儿"}),
        ("我老婆叫小红", {"家庭成员": "老婆（小红）"}),
        ("我吃素", {"饮食习惯": "素食"}),
        ("我不吃辣", {"饮食习惯": "不吃辣"}),
        ("我喜欢吃火锅", {"饮食习惯": "喜欢吃火锅"}),
        ("我是男生", {"性别": "男"}),
        ("我是回族", {"民族": "回族"}),
        ("我结婚了", {"婚姻状况": "已婚"}),
        ("我叫王小明", {"姓名": "王小明"}),
        ("我会说英语和日语", {"语言": "英语和日语"}),
        ("我在清华大学读书", {"学校": "清华大学"}),
        ("我是穆斯林", {"宗教限制": "穆斯林"}),
        ("我的爱好是摄影和旅行", {"爱好": "摄影和旅行"}),
        ("我平时经常去爬山", {"爱好": "爬山"}),
        ("我是一名大学生", {"年龄段": "大学生", "职业": "大学生"}),
    ],
)
def test_chinese_statements(text, expected):
    assert fill(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I moved to Berlin last year", {"居住地": "Berlin"}),
        ("I live in San Francisco", {"居住地": "San Francisco"}),
        ("I'm originally from Lyon", {"家乡": "Lyon"}),
        ("I'm a nurse at St Mary's Hospital", {"职业": "nurse", "公司": "St Mary's Hospital"}),
        ("I work at Google", {"公司": "Google"}),
        ("I have a dog named Max", {"宠物": "a dog named Max"}),
        ("My cat is called Luna", {"宠物": "a cat named Luna"}),
        ("I have two kids", {"家庭成员": "two kids"}),
        ("My wife is Anna", {"家庭成员": "wife (Anna)"}),
        ("I'm vegetarian", {"饮食习惯": "vegetarian"}),
        ("I don't eat pork", {"饮食习惯": "no pork"}),
        ("I'm a woman", {"性别": "female"}),
        ("I'm married", {"婚姻状况": "married"}),
        ("My name is Sarah Connor", {"姓名": "Sarah Connor"}),
        ("I speak French and Spanish", {"语言": "French and Spanish"}),
        ("I study computer science at MIT", {"学校": "MIT"}),
        ("I love hiking", {"爱好": "hiking"}),
        ("My hobbies are chess and painting", {"爱好": "chess and painting"}),
        ("I play tennis every Sunday", {"爱好": "play tennis"}),
        ("I'm 67", {"年龄": "67", "年龄段": "senior"}),
    ],
)
def test_english_statements(text, expected):
    assert fill(text) == expected


def test_a_nationality_is_not_a_name():
    attrs = {"name": "", "nationality": ""}
    assert fill("I'm Chinese", attrs=attrs) == {"nationality": "Chinese"}
    assert fill("I'm Sarah", attrs=attrs) == {"name": "Sarah"}
    assert fill("我是美国人", attrs={**attrs, "家乡": ""}) == {"nationality": "美国", "家乡": "美国"}


@pytest.mark.parametrize(
    "text",
    [
        "我喜欢你",
        "我妹妹住在上海",
        "你住在哪里？",
        "我女儿今年5岁",
        "I like it",
        "Where do you live?",
        "My sister lives in Paris",
        "我喜欢这个答案",
        "好的，谢谢",
        "我老婆叫李娜，是小学老师",
        "我儿子今年5岁，住在上海",
        "My wife is called Anna, lives in Paris",
    ],
)
def test_what_is_not_about_the_user_fills_nothing(text):
    got = fill(text)
    assert "居住地" not in got and "爱好" not in got and "年龄" not in got and "职业" not in got, got


def test_only_user_turns_count():
    assert fill("我今年28岁", role="assistant") == {}


def test_multi_valued_attributes_accumulate_and_single_valued_ones_are_replaced():
    current = {"爱好": "踢足球", "居住地": "上海", "年龄段": "大学生"}
    assert fill("我也喜欢游泳", "我还喜欢踢足球", current=current) == {"爱好": "踢足球、游泳"}
    assert fill("我搬到杭州了", current=current) == {"居住地": "杭州"}
    # A stated age group is never overwritten by one worked out from an age.
    assert fill("我今年22岁", current=current) == {"年龄": "22岁"}
    assert fill("I also enjoy swimming", current={"爱好": "chess"}) == {"爱好": "chess, swimming"}


def test_a_restated_value_is_reported_unchanged():
    assert fill("我住在上海", current={"居住地": "上海"}) == {"居住地": "上海"}


def test_forgetting_clears_the_attribute_it_names():
    current = {"居住地": "上海", "爱好": "踢足球"}
    assert fill("忘掉我的地址", current=current) == {"居住地": None}
    assert fill("请忘记我的爱好", current=current) == {"爱好": None}
    assert fill("Forget my address", current=current) == {"居住地": None}
    assert fill("忘掉我的地址") == {}  # nothing to clear
    assert fill("删除这个文件", "我忘了带钥匙", "I forgot my address", "what is my address?", current=current) == {}


@pytest.mark.parametrize(
    "text",
    [
        "忘掉我的住址",
        "清除我的住址",
        "删了我的地址吧",
        "抹掉我的地址",
        "把我的地址清掉",
        "别再记我的住址了",
        "forget my address",
        "please wipe my address",
        "Could you drop my address?",
        "Please don't store my address",
        "Unlearn my address, please",
    ],
)
def test_one_forget_grammar_retracts_the_memory_and_clears_the_profile_attribute(text):
    """A request the offline rules take as a retraction also clears the attribute it names: one grammar
    for both (before, "清除我的住址" and "please wipe my address" deleted the memory but kept the residence)."""
    profile = spec({"居住地": "用户目前居住的城市"}, {"居住地": "上海"})
    data = ExtractionInput(
        messages=[ExtractMessage(id="m1", role="user", content=text, created_at=T0)],
        strategies=[StrategySpec(name="fact")],
        now=T0,
        profile=profile,
    )
    result = OfflineExtractor().extract(data)
    assert [c.retracts for c in result.candidates] == [True]
    assert [(u.attribute_id, u.clear) for u in result.profile_updates] == [("id_居住地", True)]


def test_findings_without_their_own_attribute_fall_back_to_a_related_one():
    attrs = {"饮食习惯": "饮食偏好或限制", "职业": ""}
    assert fill("我对花生过敏，我在阿里巴巴工作", attrs=attrs) == {"饮食习惯": "对花生过敏", "职业": "在阿里巴巴工作"}
    assert fill("I'm allergic to peanuts", attrs={"health": ""}) == {"health": "allergic to peanuts"}


def test_attributes_outside_the_vocabulary_are_left_alone():
    assert fill("我最近在整理会议纪要，我的梦想是环游世界", attrs={"近期活动": "", "人生理想/目标": ""}) == {}


def test_the_offline_extractor_returns_memories_and_profile_updates_together():
    msgs = [
        ExtractMessage(id="m1", role="user", content="我今年28岁，是一名软件工程师。周末喜欢踢足球。", created_at=T0)
    ]
    result = OfflineExtractor().extract(
        ExtractionInput(
            messages=msgs,
            strategies=[StrategySpec(name="fact"), StrategySpec(name="preference")],
            now=T0,
            profile=spec({"年龄": "", "职业": "", "爱好": ""}),
        )
    )
    assert any("28" in c.text for c in result.candidates)
    assert {u.attribute_id: u.value for u in result.profile_updates} == {
        "id_年龄": "28岁",
        "id_职业": "软件工程师",
        "id_爱好": "踢足球",
    }
    assert all(u.source_message_ids == ["m1"] for u in result.profile_updates)
    # Without a profile, no updates.
    plain = OfflineExtractor().extract(ExtractionInput(messages=msgs, strategies=[StrategySpec(name="fact")], now=T0))
    assert plain.profile_updates == []
