"""What a profile attribute means: the vocabulary shared by profile schemas and the offline profile rules.

``CONCEPTS`` names the common kinds of profile attribute (name, age, occupation,
residence, hobbies, diet, pets, family, ...). ``concept_of`` maps a schema attribute onto one of them by
its name (or, failing that, its description: "用户目前居住的城市" means residence whatever the attribute
is called). ``near_synonym`` tells whether two attribute names mean the same thing (姓名/名字,
年龄/岁数, name/full name, 年龄/age); a schema with both is refused, because extraction could put a value
under either (seed 001: ["姓名","名称","名字"] and ["年龄","年纪","岁数"] must not appear together).
年龄 and 年龄段 (age and age group), or 家庭成员 and 家庭关系, are different concepts and may coexist.

Schema validation (``profiles.py``) needs only this module, so creating a schema does not load the
offline rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CONCEPTS", "Concept", "concept_of", "name_key", "near_synonym"]


@dataclass(frozen=True)
class Concept:
    """A kind of profile attribute."""

    key: str
    label: str  # for messages: "年龄 / age"
    names: frozenset[str]  # exact names (after ``name_key``) that all mean this concept: near-synonyms
    pattern: re.Pattern[str]  # words in an attribute's name or description that point to it
    exclude: re.Pattern[str] | None = None  # words that rule it out ("家庭关系" is not family members)
    multi: bool = False  # several values accumulate (hobbies) instead of replacing each other (age)


def _concept(
    key: str, label: str, names: str, pattern: str, exclude: str | None = None, multi: bool = False
) -> Concept:
    return Concept(
        key,
        label,
        frozenset(names.split()),
        re.compile(pattern, re.I),
        re.compile(exclude, re.I) if exclude else None,
        multi,
    )


#: Most specific first: "年龄段" is an age group before it is an age, "hometown" is not a residence.
CONCEPTS: tuple[Concept, ...] = (
    _concept(
        "nickname",
        "昵称 / nickname",
        "昵称 称呼 外号 小名 nickname preferredname",
        r"昵称|称呼|外号|小名|nick ?name|preferred name",
    ),
    _concept(
        "name",
        "姓名 / name",
        "姓名 名字 名称 全名 真名 真实姓名 name fullname realname",
        r"姓名|名字|全名|真名|\bname\b|\bfull ?name\b",
        exclude=r"昵称|用户名|宠物|公司|学校|产品|nick|user ?name|\bpet|company|school|product",
    ),
    _concept(
        "age_group",
        "年龄段 / age group",
        "年龄段 年龄阶段 年龄层 agegroup agerange agebracket",
        r"年龄段|年龄阶段|年龄层|年龄组|age ?group|age ?range|age ?bracket",
    ),
    _concept("age", "年龄 / age", "年龄 年纪 岁数 周岁 age yearsold", r"年龄|年纪|岁数|\bage\b|years? old"),
    _concept("gender", "性别 / gender", "性别 gender sex", r"性别|\bgender\b|\bsex\b"),
    _concept(
        "birthday",
        "生日 / birthday",
        "生日 出生日期 出生年月 birthday dateofbirth dob birthdate",
        r"生日|出生日期|出生年月|birthday|date of birth|\bdob\b|birth ?date",
    ),
    _concept(
        "employer",
        "公司 / employer",
        "公司 工作单位 雇主 employer company workplace",
        r"公司|工作单位|雇主|任职单位|employer|company|workplace",
    ),
    _concept(
        "occupation",
        "职业 / occupation",
        "职业 工作 职位 岗位 occupation job profession jobtitle",
        r"职业|职位|岗位|工作(?!单位|地点|经历|经验)|occupation|\bjob\b|profession|\bwork\b",
        exclude=r"公司|单位|company|employer",
    ),
    _concept(
        "hometown",
        "家乡 / hometown",
        "家乡 老家 籍贯 出生地 故乡 hometown birthplace placeofbirth",
        r"家乡|老家|籍贯|出生地|故乡|hometown|birth ?place|place of birth",
    ),
    _concept(
        "residence",
        "居住地 / residence",
        "居住地 住址 地址 所在地 现居地 居住城市 所在城市 常住地 住处 城市 "
        "location residence homecity city address currentcity",
        r"居住|住址|住处|所在地|所在城市|现居|常住|城市|地址|\blocation\b|residence|\bcity\b|\baddress\b|lives? in",
    ),
    _concept("ethnicity", "民族 / ethnicity", "民族 种族 ethnicity", r"民族|种族|ethnicity"),
    _concept("nationality", "国籍 / nationality", "国籍 nationality citizenship", r"国籍|nationality|citizenship"),
    _concept(
        "hobbies",
        "爱好 / hobbies",
        "爱好 兴趣 兴趣爱好 业余爱好 喜好 hobby hobbies interest interests pastimes",
        r"爱好|兴趣|喜好|hobb|\binterests?\b|pastime",
        multi=True,
    ),
    _concept(
        "diet",
        "饮食习惯 / diet",
        "饮食 饮食习惯 饮食偏好 口味 忌口 diet dietarypreference dietarypreferences dietaryrestrictions "
        "foodpreferences eatinghabits",
        r"饮食|口味|忌口|\bdiet|\bfood|eating habit|cuisine",
        multi=True,
    ),
    _concept("pets", "宠物 / pets", "宠物 pet pets", r"宠物|\bpets?\b", multi=True),
    _concept(
        "family",
        "家庭成员 / family members",
        "家庭成员 家人 亲人 family familymembers",
        r"家庭成员|家人|亲人|家属|family|子女",
        exclude=r"关系|relationship",
        multi=True,
    ),
    _concept(
        "marital_status",
        "婚姻状况 / marital status",
        "婚姻状况 婚姻状态 婚否 maritalstatus relationshipstatus",
        r"婚姻|婚否|marital|relationship status",
    ),
    _concept(
        "education_level",
        "学历 / education",
        "学历 教育程度 教育背景 education educationlevel degree",
        r"学历|教育程度|教育背景|education|degree",
    ),
    _concept(
        "school",
        "学校 / school",
        "学校 毕业院校 就读学校 school university college",
        r"学校|院校|school|university|college",
    ),
    _concept(
        "native_language",
        "母语 / native language",
        "母语 nativelanguage mothertongue firstlanguage",
        r"母语|native language|mother tongue|first language",
    ),
    _concept(
        "languages",
        "语言 / languages",
        "语言 会说的语言 languages language spokenlanguages",
        r"语言|外语|\blanguages?\b",
        multi=True,
    ),
    _concept("allergies", "过敏 / allergies", "过敏 过敏史 过敏原 allergies allergy", r"过敏|allerg", multi=True),
    _concept(
        "health",
        "健康状况 / health",
        "健康状况 健康 病史 health healthconditions medicalconditions",
        r"健康|疾病|病史|health|medical",
        multi=True,
    ),
    _concept("religion", "宗教 / religion", "宗教 宗教信仰 信仰 religion faith", r"宗教|信仰|religio|\bfaith\b"),
)
_NAME_PREFIX = re.compile(r"^(?:用户的?|(?:the[\s_-]*)?users?(?:'s|’s|s')?[\s_-]+|my[\s_-]+)(?=.)")


def name_key(name: str) -> str:
    """An attribute name as compared for duplicates and synonyms: case, spaces, separators and a leading
    "用户"/"user's" do not count ("用户年龄" and "年龄", "Full_Name" and "full name" are the same)."""
    key = _NAME_PREFIX.sub("", name.casefold().strip())
    return re.sub(r"[\s_\-·.:：'’]+", "", key)


def near_synonym(a: str, b: str) -> Concept | None:
    """The concept two different attribute names share when they are near-synonyms, else None."""
    ka, kb = name_key(a), name_key(b)
    if ka == kb:
        return None
    for concept in CONCEPTS:
        if ka in concept.names and kb in concept.names:
            return concept
    return None


def _words(text: str) -> str:
    return re.sub(r"[\s_\-./()（）]+", " ", text.casefold()).strip()


def _match(text: str, context: str) -> list[Concept]:
    return [c for c in CONCEPTS if c.pattern.search(text) and not (c.exclude and c.exclude.search(context))]


def concept_of(name: str, description: str = "") -> Concept | None:
    """What an attribute means, from its name, else from its description when that points to exactly one
    concept. None for attributes outside the vocabulary."""
    key = name_key(name)
    for concept in CONCEPTS:
        if key in concept.names:
            return concept
    context = _words(f"{name} {description}")
    by_name = _match(_words(name), context)
    if by_name:
        return by_name[0]
    by_description = _match(_words(description), context) if description.strip() else []
    return by_description[0] if len(by_description) == 1 else None
