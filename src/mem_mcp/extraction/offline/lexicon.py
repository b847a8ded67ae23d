"""Vocabulary shared by the offline rules: language primitives, numbers, key slots, drinks, jobs,
surnames, nationalities, family members, the first person, and the one "forget my X" grammar that both
memory retractions and profile clearing use."""

from __future__ import annotations

import re
from typing import Literal

Lang = Literal["zh", "en"]

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def is_zh(text: str) -> bool:
    return bool(_CJK.search(text))


def apos(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'")


def tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"\s+([,，。.!?])", r"\1", text).strip(" ,，")


# --------------------------------------------------------------------------------------------------
# Numbers.

_CN_DIGIT = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_EN_NUM = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}


def parse_number(text: str) -> int | None:
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    if text in _EN_NUM:
        return _EN_NUM[text]
    if not text or any(c not in _CN_DIGIT and c not in "十百" for c in text):
        return None
    total = current = 0
    for c in text:
        if c == "百":
            total, current = total + (current or 1) * 100, 0
        elif c == "十":
            total, current = total + (current or 1) * 10, 0
        else:
            current = _CN_DIGIT[c]
    return total + current


# --------------------------------------------------------------------------------------------------
# Keys: stable slots for single-valued facts.

_SLOTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"邮箱|邮件|\be-?mail\b", re.I), "email"),
    (re.compile(r"住址|地址|\baddress\b", re.I), "address"),
    (re.compile(r"电话|手机|号码|\bphone\b|\bmobile\b|\bnumber\b", re.I), "phone"),
    (re.compile(r"生日|\bbirthday\b", re.I), "birthday"),
    (re.compile(r"名字|姓名|\bname\b", re.I), "name"),
    (re.compile(r"年龄|\bage\b", re.I), "age"),
    (re.compile(r"公司|单位|\bemployer\b|\bcompany\b|\bworkplace\b", re.I), "employer"),
    (re.compile(r"职业|工作|\bjob\b|\boccupation\b|\bprofession\b", re.I), "job"),
    (re.compile(r"住在哪|城市|\bcity\b|where i live", re.I), "home_city"),
    (re.compile(r"学校|\bschool\b|\buniversity\b|\bcollege\b", re.I), "school"),
    (re.compile(r"车牌|\blicen[cs]e plate\b", re.I), "license_plate"),
]
_ZH_DRINK = re.compile(r"咖啡|茶|奶茶|牛奶|可乐|果汁|酒|啤酒|红酒|白酒|饮料|豆浆|汽水|拿铁|美式")
EN_DRINK = re.compile(
    r"\b(?:coffee|tea|teas|latte|lattes|espresso|cappuccino|juice|soda|cola|coke|beer|wine|milk|matcha|chai|"
    r"americano|decaf|green tea|black tea)\b",
    re.I,
)
_STYLE = re.compile(r"回答|回复|答案|解释|\banswers?\b|\bresponses?\b|\breplies\b|\bexplanations?\b", re.I)
FAVOURITES_ZH = {
    "颜色": "color",
    "食物": "food",
    "电影": "movie",
    "书": "book",
    "歌手": "singer",
    "运动": "sport",
    "水果": "fruit",
    "饮料": "drink",
    "音乐": "music",
    "城市": "city",
    "球队": "team",
    "游戏": "game",
}


def slot_for(noun: str) -> str | None:
    for pattern, key in _SLOTS:
        if pattern.search(noun):
            return key
    return None


def pref_key(obj: str) -> str | None:
    if _STYLE.search(obj):
        return "answer_style"
    if _ZH_DRINK.search(obj) or EN_DRINK.search(obj) or obj.startswith("喝"):
        return "drink"
    return None


def favourite_key(what: str) -> str:
    what = what.strip().lower()
    word = FAVOURITES_ZH.get(what, what)
    word = re.sub(r"[^a-z0-9]+", "_", word).strip("_")
    return f"favorite_{word}" if word else "favorite"


# --------------------------------------------------------------------------------------------------
# People: jobs, surnames, nationalities, family members, the first person.

JOB_ZH = (
    r"(?:工程师|程序员|设计师|医生|护士|老师|教师|律师|会计|学生|研究生|博士生?|本科生|大学生|中学生|高中生|经理|总监|"
    r"分析师|科学家|研究员|作家|记者|厨师|司机|销售|主管|老板|创业者|自由职业者|教授|警察|演员|歌手|画家|摄影师|翻译|"
    r"编辑|顾问|架构师|运维|实习生|公务员|工人|农民|店主|产品经理|数据科学家|咨询师|药剂师|建筑师|飞行员|空姐|模特)"
)
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟"
    "谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
NATIONALITIES = (
    r"(?:american|british|english|chinese|german|french|italian|spanish|japanese|korean|indian|canadian|australian|"
    r"brazilian|mexican|russian|dutch|swedish|norwegian|danish|finnish|polish|irish|scottish|swiss|austrian|"
    r"portuguese|greek|turkish|vietnamese|thai|singaporean|taiwanese|malaysian|indonesian|filipino|egyptian|"
    r"nigerian|kenyan|argentinian|chilean|colombian|peruvian|ukrainian|czech|hungarian|israeli|iranian|pakistani)"
)
JOB_EN = (
    r"(?:engineer|developer|programmer|designer|teacher|doctor|nurse|lawyer|accountant|student|manager|scientist|"
    r"researcher|writer|journalist|chef|cook|driver|consultant|analyst|architect|professor|founder|freelancer|artist|"
    r"musician|photographer|translator|editor|intern|ceo|cto|cfo|pm|dentist|pharmacist|pilot|firefighter|"
    r"police officer|officer|salesperson|marketer|entrepreneur|student|phd student|postdoc|lecturer|therapist|"
    r"librarian|mechanic|electrician|plumber|farmer|economist|administrator|sysadmin|devops engineer|tester)"
)
# Family members: a clause about one of them is about that person, and so is a following clause without
# a subject ("我老婆叫李娜，是小学老师": the wife is the teacher, not the user).
ZH_RELATIVE = r"(?:老婆|妻子|太太|老公|丈夫|先生|女朋友|男朋友|儿子|女儿|孩子|妈妈|母亲|爸爸|父亲|哥哥|姐姐|弟弟|妹妹)"
EN_RELATIVE = (
    r"(?:wife|husband|partner|girlfriend|boyfriend|son|daughter|mother|mom|mum|father|dad|brother|sister|kid|child)"
)
EN_FIRST_PERSON = re.compile(r"(?i)^(?:i\b|i'm\b|i've\b|i'll\b|i'd\b|my\b)")


# --------------------------------------------------------------------------------------------------
# Forgetting: "忘掉我的地址", "清除我的住址", "forget my address", "please wipe my address". One grammar: one
# verb list per language and one set of frames. A memory retraction needs a frame with the user as subject
# ("忘掉我的X", "forget that I ..."), because a bare "删除这个文件" is a task, not a retraction; clearing a
# profile attribute also takes the bare-noun frame ("忘掉住址"), since the noun must name an attribute.

_ZH_FORGET_VERB = r"(?:忘掉|忘记|忘了|删掉|删除|删了|清除|清掉|抹掉|(?:不要|别|不用)再?(?:记|保存|存)(?:住|着|录|下)?)"
_EN_FORGET_VERB = (
    r"(?:forget|delete|erase|remove|drop|wipe|stop remembering|don't remember|do not remember|don't keep|"
    r"do not keep|don't store|do not store|don't save|do not save|no need to remember|unlearn)"
)
#: Frames with the user as subject; ``v`` is what to forget, subject included ("我的地址", "my address").
ZH_RETRACT = [
    re.compile(
        rf"^(?:请|麻烦|你|帮我|可以|能不能)*{_ZH_FORGET_VERB}掉?(?:关于|有关)?(?P<v>我.+?)"
        r"(?:的(?:信息|事情?|记录|内容))?(?:这件事|这个|这条)?(?:吧|了|哦|啊|好吗|好不好|可以吗)*$"
    ),
    re.compile(
        rf"^(?:请|麻烦|你|帮我)*把(?:关于|有关)?(?P<v>我.+?)(?:的(?:信息|事情?|记录))?(?:这件事|这个|这条)?"
        rf"给?{_ZH_FORGET_VERB}(?:吧|了|哦|好吗)*$"
    ),
]
EN_RETRACT = re.compile(
    r"(?i)^(?:please\s+|can you\s+|could you\s+|would you\s+|you can\s+|you should\s+)*"
    rf"{_EN_FORGET_VERB}\s+"
    r"(?:about\s+|everything about\s+|anything about\s+|what i (?:said|told you) about\s+|the fact that\s+)?"
    r"(?P<v>(?:my|that i|that i'm|i|i'm)\b.+?)(?:,?\s*please)?$"
)
#: The bare-noun frame: ``what`` is the thing named, without "我的"/"my" ("住址", "address").
_ZH_FORGET_NAMED = re.compile(
    rf"^(?:请|麻烦)?(?:你)?(?:帮我)?{_ZH_FORGET_VERB}(?:住)?(?:我的)?(?P<what>.+?)(?:吧|了|好吗)?$"
)
_EN_FORGET_NAMED = re.compile(rf"(?i)^(?:please\s+)?{_EN_FORGET_VERB}\s+(?:about\s+)?my\s+(?P<what>.+?)(?:\s+please)?$")
#: A question is a forget request only when it asks ("能不能忘掉我的地址？", "could you drop my address?").
REQUEST_MARK = re.compile(r"(?i)^(?:请|麻烦|能不能|可以|你能|please|can you|could you|would you)")


def forget_target(clause: str, lang: Lang, question: bool) -> str | None:
    """What a "forget my X" request names, without the "我的"/"my" ("住址", "address", "I live in Berlin"),
    or None when the clause is not such a request."""
    if question and not REQUEST_MARK.match(clause):
        return None
    if lang == "zh":
        m = _ZH_FORGET_NAMED.match(clause)
        if m:
            return m.group("what")
        m = next((m for m in (p.match(clause) for p in ZH_RETRACT) if m), None)
        return re.sub(r"^我的?", "", m.group("v")) if m else None
    m = _EN_FORGET_NAMED.match(clause) or EN_RETRACT.match(clause)
    if m is None:
        return None
    what = m.groupdict().get("what") or m.group("v")
    return re.sub(r"(?i)^(?:that\s+)?(?:my\s+)?", "", what)
