"""Rules for personal facts: name, home, work, age, family, health, languages, "my X is Y"."""

from __future__ import annotations

import re

from .hits import Ctx, Hit, new_hit
from .lexicon import (
    EN_RELATIVE,
    JOB_EN,
    JOB_ZH,
    NATIONALITIES,
    SURNAMES,
    ZH_RELATIVE,
    slot_for,
)
from .render import render_clause

# Personal facts -----------------------------------------------------------------------------------
# (pattern, key, confidence, template or None to render the whole clause in the third person)
_Rule = tuple[re.Pattern[str], str | None, float, str | None]

_ZH_PERSONAL: list[_Rule] = [
    (re.compile(r"^我(?:的名字|的姓名|的全名)(?:是|叫)(?P<v>.{1,20})$"), "name", 0.9, "用户的名字是{v}"),
    (re.compile(r"^我(?:的)?(?:全名|名字)?叫(?!了|过|着)(?P<v>[^，,。\s]{1,12})$"), "name", 0.9, "用户叫{v}"),
    (
        re.compile(r"^(?:你)?(?:可以|以后)?(?:就)?(?:叫|称呼)我(?P<v>[^，,]{1,10}?)(?:就行|就好|就可以|吧)?了?$"),
        "nickname",
        0.85,
        "用户希望被称为{v}",
    ),
    (re.compile(r"^我姓(?P<v>.{1,2})$"), "surname", 0.85, "用户姓{v}"),
    (re.compile(rf"^我是(?P<v>[{SURNAMES}][\u4e00-\u9fff]{{1,2}})(?<![人的])$"), "name", 0.65, "用户叫{v}"),
    (re.compile(r"^我(?:现在|目前|一直)?(?:住在|居住在|生活在|定居在?)(?P<v>.+)$"), "home_city", 0.9, None),
    (re.compile(r"^我家(?:住)?在(?P<v>.+)$"), "home_city", 0.85, None),
    (
        re.compile(r"^我(?:已经|最近|刚刚?|上个月|去年)?(?:搬到|搬去|搬家到)了?(?P<v>[^了，,]+)了?$"),
        "home_city",
        0.85,
        "用户搬到了{v}，现在住在{v}",
    ),
    (re.compile(r"^我(?:是|来自)(?P<v>(?![个一])[\u4e00-\u9fff]{2,10}?)人$"), "hometown", 0.8, "用户是{v}人"),
    (re.compile(r"^我(?:的)?(?:老家|家乡)(?:是|在)(?P<v>.+)$"), "hometown", 0.85, "用户的老家在{v}"),
    (re.compile(r"^我来自(?P<v>.+)$"), "hometown", 0.85, None),
    (
        re.compile(r"^我(?:现在|目前)?在(?P<v>(?!家|家里|外面|路上|这里|那里).+?)(?:工作|上班|任职|实习)了?$"),
        "employer",
        0.9,
        None,
    ),
    (
        re.compile(
            rf"^我(?:现在|目前)?在(?P<v>(?!家|家里|外面|路上|这里|那里).+?)(?:做|当|担任)(?:一名|一个)?.*{JOB_ZH}$"
        ),
        "employer",
        0.85,
        None,
    ),
    (re.compile(rf"^我(?:现在|目前)?(?:是|当)(?:一名|一个|一位|个|名)?(?P<v>.{{0,10}}?{JOB_ZH})$"), "job", 0.9, None),
    (re.compile(r"^我(?:的工作|的职业|的职位)是(?P<v>.+)$"), "job", 0.85, None),
    (re.compile(r"^我(?:从事|做)(?P<v>.+?)(?:工作|行业|方面的工作)$"), "job", 0.8, None),
    (
        re.compile(r"^我(?:现在|目前)?在(?P<v>.+?)(?:上学|读书|念书|上大学|读大学|读研|读博|留学)$"),
        "school",
        0.85,
        None,
    ),
    (re.compile(r"^我(?:是|在)(?P<v>.+?)的学生$"), "school", 0.85, None),
    (
        re.compile(r"^我(?:今年|现在|已经)?(?P<v>\d{1,3}|[一二两三四五六七八九十百]{1,4})岁了?$"),
        "age",
        0.9,
        "用户今年{v}岁（{year}年）",
    ),
    (re.compile(r"^我(?:是)?(?P<v>\d{4})年(?:出生|生)的?$"), "birth_year", 0.9, "用户{v}年出生"),
    (re.compile(r"^我的生日是(?P<v>.+)$"), "birthday", 0.9, None),
    (re.compile(r"^我(?:已经)?(?:结婚|已婚)了?$"), "marital_status", 0.85, "用户已婚"),
    (re.compile(r"^我(?:还是|现在是)?单身(?:狗)?$"), "marital_status", 0.85, "用户单身"),
    (re.compile(rf"^我的?{ZH_RELATIVE}(?:叫|是|的名字是|今年|在|住在|做|当|从事)(?P<v>.+)$"), None, 0.85, None),
    (re.compile(r"^我(?:家)?有(?P<v>.*(?:儿子|女儿|孩子|个娃|哥哥|姐姐|弟弟|妹妹|兄弟|姐妹))$"), None, 0.8, None),
    (
        re.compile(r"^我(?:家)?(?:有|养了|养着|养)(?P<v>.*(?:狗|猫|鸟|鹦鹉|鱼|兔子?|仓鼠|乌龟|宠物|狗狗|猫咪))了?$"),
        None,
        0.85,
        None,
    ),
    (re.compile(r"^我(?:对)(?P<v>.+?)过敏$"), None, 0.9, None),
    (
        re.compile(r"^我(?:有|患有|得了)(?P<v>.*(?:病|症|炎|哮喘|高血压|糖尿病|低血糖|近视|失眠|过敏))$"),
        None,
        0.8,
        None,
    ),
    (re.compile(r"^我(?:不能|不可以)(?:吃|喝)(?P<v>.+)$"), None, 0.8, None),
    (re.compile(r"^我的母语是(?P<v>.+)$"), "native_language", 0.9, None),
    (re.compile(r"^我(?:会说|会讲|能说|说|讲|会)(?P<v>.*(?:语|话|文))$"), None, 0.8, None),
    (re.compile(r"^我(?:正在|最近在|在)学(?:习)?(?P<v>(?![校院]).+)$"), None, 0.75, None),
    (re.compile(r"^我的(?P<what>(?!问题|意思|想法|建议|天)[^是，,]{1,8})是(?P<v>.+)$"), "@slot", 0.8, None),
]
_EN_PERSONAL: list[_Rule] = [
    (re.compile(r"(?i)^my\s+(?:full\s+)?name\s+is\s+(?P<v>.+)$"), "name", 0.9, "The user's name is {v}"),
    (re.compile(r"(?i)^(?:i'm|i am)\s+called\s+(?P<v>.+)$"), "name", 0.9, "The user's name is {v}"),
    (
        re.compile(r"(?i)^(?:you\s+can\s+|please\s+)?call\s+me\s+(?P<v>.+)$"),
        "nickname",
        0.85,
        "The user wants to be called {v}",
    ),
    (re.compile(rf"(?i)^(?:i'm|i am)\s+(?P<v>{NATIONALITIES})$"), "nationality", 0.85, None),
    (re.compile(r"^(?:I'm|I am)\s+(?P<v>[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)$"), "name", 0.75, "The user's name is {v}"),
    (
        re.compile(r"(?i)^i\s+(?:currently\s+|now\s+|still\s+)?(?:live|reside)\s+in\s+(?P<v>.+)$"),
        "home_city",
        0.9,
        None,
    ),
    (
        re.compile(r"(?i)^(?:i'm|i am)\s+(?:currently\s+|now\s+)?(?:living|based)\s+in\s+(?P<v>.+)$"),
        "home_city",
        0.9,
        None,
    ),
    (
        re.compile(
            r"(?i)^(?:i|i've|i\s+have)\s+(?:just\s+|recently\s+)?(?:moved|relocated)\s+to\s+"
            r"(?P<v>.+?)(?:\s+(?:last|this)\s+(?:week|month|year))?$"
        ),
        "home_city",
        0.85,
        "The user lives in {v} (moved there)",
    ),
    (re.compile(r"(?i)^my\s+home\s+is\s+in\s+(?P<v>.+)$"), "home_city", 0.85, "The user lives in {v}"),
    (re.compile(r"(?i)^(?:i'm|i am|i\s+come)\s+(?:originally\s+)?from\s+(?P<v>.+)$"), "hometown", 0.85, None),
    (re.compile(r"(?i)^i\s+(?:currently\s+|now\s+)?work\s+(?:at|for)\s+(?P<v>.+)$"), "employer", 0.9, None),
    (
        re.compile(
            rf"(?i)^(?:i'm|i am)\s+(?:a|an)\s+(?P<v>(?:[\w-]+\s+){{0,3}}{JOB_EN})\s+(?:at|for|with)\s+"
            r"(?P<org>.+)$"
        ),
        "employer",
        0.85,
        None,
    ),
    (re.compile(r"(?i)^i\s+work\s+as\s+(?:a|an)\s+(?P<v>.+)$"), "job", 0.9, None),
    (re.compile(rf"(?i)^(?:i'm|i am)\s+(?:a|an)\s+(?P<v>(?:[\w-]+\s+){{0,3}}{JOB_EN})$"), "job", 0.9, None),
    (re.compile(r"(?i)^my\s+(?:job|profession|occupation|role)\s+is\s+(?P<v>.+)$"), "job", 0.85, None),
    (
        re.compile(r"(?i)^(?:i\s+study|i\s+am\s+studying|i'm\s+studying)\s+(?:.+\s+)?at\s+(?P<v>.+)$"),
        "school",
        0.85,
        None,
    ),
    (re.compile(r"(?i)^(?:i'm|i am)\s+(?:a\s+)?student\s+at\s+(?P<v>.+)$"), "school", 0.85, None),
    (
        re.compile(r"(?i)^i\s+(?:go\s+to|attend)\s+(?P<v>.+(?:school|university|college|academy))$"),
        "school",
        0.85,
        None,
    ),
    (re.compile(r"(?i)^i\s+(?:study|major\s+in)\s+(?P<v>.+)$"), None, 0.8, None),
    (
        re.compile(r"(?i)^(?:i'm|i am)\s+(?P<v>\d{1,3})(?:\s+years?\s+old|\s+years\s+of\s+age|\s+yo)?$"),
        "age",
        0.85,
        "The user is {v} years old (as of {year})",
    ),
    (re.compile(r"(?i)^(?:i\s+was\s+born\s+in)\s+(?P<v>\d{4})$"), "birth_year", 0.9, "The user was born in {v}"),
    (re.compile(r"(?i)^my\s+birthday\s+is\s+(?:on\s+)?(?P<v>.+)$"), "birthday", 0.9, "The user's birthday is {v}"),
    (re.compile(r"(?i)^(?:i'm|i am)\s+(?P<v>married|engaged|divorced|single|widowed)$"), "marital_status", 0.85, None),
    (
        re.compile(rf"(?i)^my\s+{EN_RELATIVE}(?:'s\s+name\s+is|\s+(?:is|works|lives|teaches|studies))\s+(?P<v>.+)$"),
        None,
        0.85,
        None,
    ),
    (
        re.compile(
            r"(?i)^i\s+have\s+(?P<v>(?:a|an|one|two|three|four|five|\d+)\s+(?:[\w-]+\s+)?(?:son|daughter|kid|child|"
            r"children|brother|sister|twin)s?\b.*)$"
        ),
        None,
        0.8,
        None,
    ),
    (
        re.compile(
            r"(?i)^(?:i\s+(?:have|own|have\s+got)|i've\s+got)\s+"
            r"(?P<v>.*\b(?:dog|cat|puppy|kitten|parrot|bird|fish|rabbit|"
            r"hamster|turtle|pet|tortoise|guinea pig)s?\b.*)$"
        ),
        None,
        0.85,
        None,
    ),
    (re.compile(r"(?i)^(?:i'm|i am)\s+(?:severely\s+|very\s+|mildly\s+)?allergic\s+to\s+(?P<v>.+)$"), None, 0.9, None),
    (
        re.compile(
            r"(?i)^i\s+have\s+(?:a\s+|an\s+)?(?P<v>.*(?:allergy|allergies|diabetes|asthma|celiac|hypertension|"
            r"migraines?|adhd|anxiety|depression|insomnia|high blood pressure))$"
        ),
        None,
        0.8,
        None,
    ),
    (
        re.compile(r"(?i)^(?:i'm|i am)\s+(?P<v>lactose\s+intolerant|diabetic|colou?r\s*blind|pregnant)$"),
        None,
        0.85,
        None,
    ),
    (re.compile(r"(?i)^i\s+(?:speak|can\s+speak)\s+(?P<v>.+)$"), None, 0.8, None),
    (
        re.compile(r"(?i)^my\s+(?:native|first|mother)\s+(?:language|tongue)\s+is\s+(?P<v>.+)$"),
        "native_language",
        0.9,
        None,
    ),
    (re.compile(r"(?i)^(?:i'm|i am)\s+(?:currently\s+)?learning\s+(?P<v>.+)$"), None, 0.75, None),
    (
        re.compile(
            r"(?i)^my\s+(?P<what>(?!question|problem|issue|point|guess|bad|pleasure|answer|turn|fault)"
            r"[\w' -]{1,30}?)\s+(?:is|are)\s+(?P<v>.+)$"
        ),
        "@slot",
        0.8,
        None,
    ),
]


def personal_rule(ctx: Ctx) -> Hit | None:
    rules = _ZH_PERSONAL if ctx.lang == "zh" else _EN_PERSONAL
    for pattern, key, confidence, template in rules:
        m = pattern.match(ctx.clause)
        if not m:
            continue
        values = {k: (v or "").strip() for k, v in m.groupdict().items()}
        if any(re.fullmatch(r"(?i)it|that|this|you|你|它|这个|那个", v) for v in values.values()):
            return None
        if key == "@slot":
            if any(s.day or s.week_of or s.month for s in ctx.spans):
                continue  # "my flight is on Friday" is a plan, not a slot
            key = slot_for(values.get("what", ""))
            if ctx.lang == "en" and re.search(r"(?i)favou?rite", values.get("what", "")):
                return None
        if template is None:
            text = render_clause(ctx.clause, ctx.lang)
        else:
            text = template.format(year=ctx.today.year, **values)
        return new_hit(ctx, "personal", text, confidence, key=key)
    return None
