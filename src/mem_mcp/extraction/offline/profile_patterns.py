"""The clause patterns of the offline profile rules: a first-person clause -> findings (concept, value).

``profile_rules`` puts the findings on a schema's attributes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .lexicon import JOB_EN, JOB_ZH, NATIONALITIES, SURNAMES, Lang, parse_number

__all__ = ["Finding", "findings"]


# --------------------------------------------------------------------------------------------------
# Rules: a clause -> findings (concept, value).


@dataclass
class Finding:
    concept: str
    value: str
    confidence: float
    derived: bool = False  # inferred (an age group from an age), never overrides a stated value


def _f(concept: str, value: str, confidence: float = 0.85, derived: bool = False) -> Finding:
    return Finding(concept, value, confidence, derived)


_ZH_VALUE_TRAIL = re.compile(r"[了啦呢的哦吧呀啊]+$")
_EN_VALUE_TRAIL = re.compile(r"(?i)\s+(?:now|too|as well|these days|currently|right now|at the moment)$")


def _clean(value: str, lang: Lang) -> str:
    value = value.strip(" \t,，、:：\"'“”。.!！")
    return (_ZH_VALUE_TRAIL.sub("", value) if lang == "zh" else _EN_VALUE_TRAIL.sub("", value)).strip()


_COUNTRIES_ZH = (
    "中国|美国|英国|日本|韩国|德国|法国|意大利|西班牙|加拿大|澳大利亚|新西兰|俄罗斯|印度|巴西|墨西哥|新加坡|马来西亚|泰国|越南|"
    "菲律宾|印度尼西亚|荷兰|瑞士|瑞典|挪威|丹麦|芬兰|爱尔兰|葡萄牙|希腊|土耳其|埃及|南非|阿根廷|以色列|伊朗|巴基斯坦|乌克兰|波兰"
)
_ETHNIC_ZH = (
    "汉|回|满|藏|维吾尔|蒙古|壮|苗|彝|土家|朝鲜|侗|瑶|白|哈尼|哈萨克|傣|黎|傈僳|佤|畲|高山|拉祜|水|东乡|纳西|景颇|柯尔克孜|土|"
    "达斡尔|仫佬|羌|布朗|撒拉|毛南|仡佬|锡伯|阿昌|普米|塔吉克|怒|乌孜别克|俄罗斯|鄂温克|德昂|保安|裕固|京|塔塔尔|独龙|鄂伦春|"
    "赫哲|门巴|珞巴|基诺|布依"
)
_HOBBY_ZH = re.compile(
    r"足球|篮球|排球|羽毛球|乒乓球|网球|高尔夫|棒球|台球|保龄球|游泳|跑步|慢跑|马拉松|爬山|登山|徒步|露营|骑行|骑车|滑雪|滑板|"
    r"冲浪|潜水|钓鱼|瑜伽|健身|举重|拳击|武术|太极|跳舞|舞蹈|街舞|唱歌|K歌|吉他|钢琴|小提琴|尤克里里|架子鼓|乐器|画画|绘画|书法|"
    r"摄影|拍照|旅游|旅行|阅读|读书|看书|小说|写作|电影|看剧|追剧|动漫|漫画|游戏|电竞|象棋|围棋|桥牌|麻将|烹饪|做饭|烘焙|园艺|"
    r"种花|手工|编织|编程|音乐|听歌|逛街|购物|收藏|集邮|自驾|射箭|击剑|马术|赛车|下棋|弹琴"
)
_FOOD_VERB_ZH = re.compile(r"^(?P<verb>吃|喝)(?P<what>.+)$")
_HOBBY_EN = re.compile(
    r"(?i)\b(?:football|soccer|basketball|baseball|volleyball|tennis|badminton|table tennis|ping pong|golf|chess|"
    r"yoga|hiking|swimming|running|jogging|cycling|biking|skiing|snowboarding|surfing|climbing|bouldering|"
    r"camping|fishing|photography|painting|drawing|reading|writing|travel(?:l?ing)?|music|guitar|piano|violin|"
    r"drums|dancing|singing|cooking|baking|gardening|knitting|video games|board games|games|gaming|movies|films|"
    r"anime|manga|puzzles|crosswords|woodworking|pottery|karaoke|skating|martial arts|boxing|fitness|the gym)\b"
)
_NOT_HOBBY_GERUND = re.compile(
    r"(?i)^(?:eating|drinking|working|having|being|getting|doing|going to work|talking to you)\b"
)
_FOOD_EN = re.compile(
    r"(?i)\b(?:food|spicy|sweets?|desserts?|sushi|pizza|noodles|rice|meat|steak|seafood|fish|vegetables|fruit|"
    r"chocolate|cheese|bread|pasta|curry|burgers?|salad|coffee|tea|beer|wine|cake|ice cream)\b"
)
_PRONOUN = re.compile(r"(?i)^(?:你|它|他|她|这个|那个|这样|那样|you|it|that|this|them|him|her)\b|^(?:你|它|他|她)")


def _is_hobby(value: str, lang: Lang) -> bool:
    if _PRONOUN.match(value):
        return False
    if lang == "zh":
        return bool(_HOBBY_ZH.search(value)) or value.startswith("玩")
    if _NOT_HOBBY_GERUND.match(value):
        return False
    return bool(_HOBBY_EN.search(value)) or bool(re.match(r"(?i)^(?:[a-z]+ing|play|go|watch|read|listen)\b", value))


def _hobby_or_diet(value: str, lang: Lang, confidence: float = 0.85) -> list[Finding]:
    value = _clean(value, lang)
    if not value:
        return []
    if lang == "zh":
        food = _FOOD_VERB_ZH.match(value)
        if food:
            return [_f("diet", f"喜欢{value}", 0.75)]
    elif _FOOD_EN.search(value) and not _HOBBY_EN.search(value):
        return [_f("diet", f"likes {value}", 0.75)]
    return [_f("hobbies", value, confidence)] if _is_hobby(value, lang) else []


def _age(m: re.Match[str], lang: Lang) -> list[Finding]:
    years = parse_number(m.group("v"))
    if years is None or not 0 < years < 130:
        return []
    if lang == "zh":
        group = (
            "儿童"
            if years < 13
            else "青少年"
            if years < 18
            else "青年"
            if years < 45
            else "中年"
            if years < 60
            else "老年"
        )
        value = f"{years}岁"
    else:
        group = (
            "child"
            if years < 13
            else "teenager"
            if years < 18
            else "young adult"
            if years < 40
            else "middle-aged"
            if years < 65
            else "senior"
        )
        value = str(years)
    return [_f("age", value, 0.9), _f("age_group", group, 0.6, derived=True)]


def _origin(m: re.Match[str]) -> list[Finding]:
    place = m.group("v")
    if re.fullmatch(_COUNTRIES_ZH, place):
        return [_f("nationality", place), _f("hometown", place, 0.7)]
    return [_f("hometown", place)]


def _gender(m: re.Match[str], lang: Lang) -> list[Finding]:
    word = m.group("v").lower()
    male = word.startswith(("男", "小伙")) or word in ("man", "guy", "boy", "male", "gentleman")
    if lang == "zh":
        return [_f("gender", "男" if male else "女", 0.85)]
    return [_f("gender", "male" if male else "female", 0.85)]


def _v(concept: str, confidence: float = 0.85, template: str = "{v}") -> Callable[[re.Match[str], Lang], list[Finding]]:
    def rule(m: re.Match[str], lang: Lang) -> list[Finding]:
        values = {k: _clean(v or "", lang) for k, v in m.groupdict().items()}
        if not values.get("v") or _PRONOUN.match(values["v"]):
            return []
        return [_f(concept, template.format(**values), confidence)]

    return rule


_ZH_ADV = r"(?:也|还|很|非常|特别|最|比较|挺|真的|超|一直|都|其实|更|平时|一般|从小就?)*"
_ZH_LEISURE = r"(?:周末|平时|业余时间|业余|空闲时间?|有空的?时候|有空时|闲暇时|没事的?时候|下班后|放假的?时候)"
_ZH_REL = (
    r"老婆|妻子|太太|老公|丈夫|爱人|女朋友|男朋友|未婚妻|未婚夫|儿子|女儿|孩子|妈妈|母亲|爸爸|父亲|哥哥|姐姐|弟弟|妹妹|"
    r"爷爷|奶奶|外公|外婆|姥姥|姥爷|父母"
)
_ZH_PET = r"狗|猫|鸟|鹦鹉|鱼|兔子?|仓鼠|乌龟|宠物|狗狗|猫咪|金毛|泰迪|柯基|哈士奇|布偶|英短|龙猫|蜥蜴|蛇"

_Rule = tuple[re.Pattern[str], Callable[[re.Match[str], Lang], list[Finding]]]

_ZH_RULES: list[_Rule] = [
    # name
    (re.compile(r"^我(?:的)?(?:名字|姓名|全名)(?:是|叫)(?P<v>[^，,。\s]{1,20})$"), _v("name", 0.9)),
    (re.compile(r"^我(?:的)?(?:全名|名字)?叫(?!了|过|着)(?P<v>[^，,。\s]{1,12})$"), _v("name", 0.9)),
    (re.compile(rf"^我是(?P<v>[{SURNAMES}][\u4e00-\u9fff]{{1,2}})(?<![人的族])$"), _v("name", 0.65)),
    (
        re.compile(r"^(?:你)?(?:可以|以后)?(?:就)?(?:叫|称呼)我(?P<v>[^，,]{1,10}?)(?:就行|就好|就可以|吧)?$"),
        _v("nickname"),
    ),
    # age and birthday
    (
        re.compile(
            r"^我(?:今年|现在|已经)?(?:才|都)?(?:满)?(?P<v>\d{1,3}|[一二两三四五六七八九十百]{1,4})(?:周)?岁(?:了|啦)?$"
        ),
        _age,
    ),
    (re.compile(r"^我(?:是)?(?P<v>\d{4})年(?:出生|生)的?$"), _v("birthday", 0.9, "{v}年")),
    (re.compile(r"^我的生日是(?P<v>.+)$"), _v("birthday", 0.9)),
    (re.compile(r"^我(?:的生日)?(?:是)?(?P<v>\d{1,2}月\d{1,2}[日号])(?:出生|生日)的?$"), _v("birthday", 0.85)),
    # gender, ethnicity, religion
    (
        re.compile(
            r"^我是(?:一个|一名|一位|个)?(?P<v>男生|女生|男的|女的|男人|女人|男孩子?|女孩子?|男性|女性|小伙子|姑娘)$"
        ),
        lambda m, lang: _gender(m, lang),
    ),
    (re.compile(rf"^我是(?P<v>(?:{_ETHNIC_ZH})族)(?:人)?$"), _v("ethnicity", 0.9)),
    (
        re.compile(
            r"^我(?:是)?(?:一个|一名|一位)?(?P<v>佛教徒|基督徒|天主教徒|穆斯林|伊斯兰教徒|道教徒|犹太教徒|无神论者)$"
        ),
        _v("religion", 0.85),
    ),
    (re.compile(r"^我信(?:仰)?(?P<v>佛教|基督教|天主教|伊斯兰教|道教|犹太教|佛)$"), _v("religion", 0.85)),
    # work
    (
        re.compile(
            rf"^我(?:现在|目前)?在(?P<org>(?!家|家里|外面|路上|这里|那里)[^，,]+?)(?:做|当|担任)(?:一名|一个|一位)?"
            rf"(?P<v>.{{0,10}}?{JOB_ZH})$"
        ),
        lambda m, lang: [
            _f("occupation", _clean(m.group("v"), lang), 0.85),
            _f("employer", _clean(m.group("org"), lang)),
        ],
    ),
    (
        re.compile(rf"^我(?:现在|目前)?(?:是|当)(?:一名|一个|一位|个|名)?(?P<v>.{{0,10}}?{JOB_ZH})$"),
        _v("occupation", 0.9),
    ),
    (re.compile(r"^我(?:的)?(?:工作|职业|职位)是(?P<v>.+)$"), _v("occupation", 0.85)),
    (re.compile(r"^我(?:现在|目前)?(?:从事|做)(?P<v>.+?(?:工作|行业))$"), _v("occupation", 0.8)),
    (
        re.compile(r"^我(?:现在|目前)?在(?P<v>(?!家|家里|外面|路上|这里|那里).+?)(?:工作|上班|任职|实习)(?:了)?$"),
        _v("employer", 0.9),
    ),
    # where
    (re.compile(r"^我(?:现在|目前|一直)?(?:住在|居住在|生活在|定居在?)(?P<v>.+)$"), _v("residence", 0.9)),
    (re.compile(r"^我家(?:住)?在(?P<v>.+)$"), _v("residence", 0.85)),
    (
        re.compile(
            r"^我(?:已经|最近|刚刚?|上个月|去年|今年|前段时间)?(?:搬到|搬去|搬家到|搬来)了?(?P<v>[^了，,]+?)(?:住)?(?:了|啦)?$"
        ),
        _v("residence", 0.85),
    ),
    (re.compile(r"^我(?:是|来自)(?P<v>(?![个一])[\u4e00-\u9fff]{2,10}?)人$"), lambda m, lang: _origin(m)),
    (re.compile(r"^我来自(?P<v>[^，,]+)$"), lambda m, lang: _origin(m)),
    (re.compile(r"^我(?:的)?(?:老家|家乡)(?:是|在)(?P<v>.+)$"), _v("hometown", 0.85)),
    (re.compile(r"^我(?:是)?在(?P<v>.+?)(?:出生|长大)的?$"), _v("hometown", 0.8)),
    # school and education
    (re.compile(r"^我(?:现在|目前)?在(?P<v>.+?)(?:上学|读书|念书|上大学|读大学|读研|读博|留学)$"), _v("school", 0.85)),
    (re.compile(r"^我(?:是|在)(?P<v>.+?)的学生$"), _v("school", 0.85)),
    (re.compile(r"^我(?:毕业于|是)(?P<v>.+?(?:大学|学院))(?:毕业的?)?$"), _v("school", 0.8)),
    (
        re.compile(r"^我(?:是)?(?P<v>本科|硕士|博士|研究生|大专|专科|高中|初中)(?:学历|毕业)$"),
        _v("education_level", 0.85),
    ),
    (re.compile(r"^我(?:有|拿到了?)(?P<v>学士|硕士|博士)学位$"), _v("education_level", 0.85)),
    (
        re.compile(r"^我(?:现在)?是(?:一名|一个|个)?(?P<v>小学生|初中生|高中生|中学生|大学生|研究生|博士生)$"),
        _v("age_group", 0.8),
    ),
    # hobbies and diet
    (re.compile(r"^我(?:的)?(?:爱好|兴趣|兴趣爱好|业余爱好)(?:是|有|包括)(?P<v>.+)$"), _v("hobbies", 0.9)),
    (
        re.compile(
            rf"^(?:{_ZH_LEISURE}[，,]?\s*)?(?:我)?{_ZH_LEISURE}?{_ZH_ADV}(?:喜欢|爱|热爱|酷爱|迷上了|爱上了)"
            rf"(?P<v>[^，,]+?)(?:了)?$"
        ),
        lambda m, lang: _hobby_or_diet(m.group("v"), lang),
    ),
    (
        re.compile(
            rf"^我{_ZH_LEISURE}?(?:经常|常常|每周|每天|有空就|一有空就|周末)+(?:都|会|去|都会|会去)*(?P<v>[^，,]+)$"
        ),
        lambda m, lang: [f for f in _hobby_or_diet(m.group("v"), lang, 0.7) if f.concept == "hobbies"],
    ),
    (re.compile(r"^我(?:吃素|是素食(?:主义)?者|只吃素|吃全素|是吃素的)$"), lambda m, lang: [_f("diet", "素食", 0.9)]),
    (re.compile(r"^我(?:从不|从来不|不|不能|不可以|不敢)(?P<verb>吃|喝)(?P<v>.+)$"), _v("diet", 0.8, "不{verb}{v}")),
    (re.compile(r"^我(?:的)?口味(?:比较|偏|很)?(?P<v>.+)$"), _v("diet", 0.8, "口味{v}")),
    (re.compile(r"^我(?:正在|最近在|在)(?P<v>节食|减肥|控糖|戒糖|戒碳水|吃清真)$"), _v("diet", 0.8)),
    (re.compile(r"^我只吃(?P<v>清真|素食?|有机食品)$"), _v("diet", 0.85, "只吃{v}")),
    # pets and family
    (re.compile(rf"^我(?:家)?(?:有|养了|养着|养)(?P<v>.*?(?:{_ZH_PET}))(?:了)?$"), _v("pets", 0.85)),
    (
        re.compile(rf"^我(?:的|家的?)(?P<kind>{_ZH_PET}|小狗|小猫)叫(?P<v>[^，,]{{1,10}})$"),
        _v("pets", 0.85, "叫{v}的{kind}"),
    ),
    (
        re.compile(r"^我(?:家)?有(?P<v>.*(?:儿子|女儿|孩子|个娃|哥哥|姐姐|弟弟|妹妹|兄弟|姐妹|双胞胎))$"),
        _v("family", 0.8),
    ),
    (
        re.compile(rf"^我(?:的)?(?P<v>{_ZH_REL})(?:叫|名叫|的名字是)(?P<name>[^，,]{{1,10}})$"),
        _v("family", 0.85, "{v}（{name}）"),
    ),
    (re.compile(rf"^我(?:的)?(?P<v>{_ZH_REL})(?!.*(?:叫|名叫|的名字是))"), _v("family", 0.7)),
    (re.compile(r"^我(?:已经)?(?:结婚|已婚)(?:了)?$"), lambda m, lang: [_f("marital_status", "已婚")]),
    (re.compile(r"^我(?:还是|现在是|目前)?单身(?:狗)?$"), lambda m, lang: [_f("marital_status", "单身")]),
    (re.compile(r"^我(?:已经)?(?:离婚|离异)(?:了)?$"), lambda m, lang: [_f("marital_status", "离异")]),
    # language and health
    (re.compile(r"^我的母语是(?P<v>.+)$"), _v("native_language", 0.9)),
    (re.compile(r"^我(?:会说|会讲|能说|说|讲|会)(?P<v>.*?(?:语|话|文))$"), _v("languages", 0.8)),
    (re.compile(r"^我(?:对)(?P<v>.+?)过敏$"), lambda m, lang: [_f("allergies", _clean(m.group("v"), lang), 0.9)]),
    (re.compile(r"^我(?:有|患有|得了)(?P<v>.*(?:病|症|炎|哮喘|高血压|糖尿病|低血糖|近视|失眠))$"), _v("health", 0.8)),
]

_EN_LEISURE = (
    r"(?:(?:on|at|over)\s+(?:the\s+)?weekends?|in\s+my\s+(?:free|spare)\s+time|after\s+work|on\s+(?:sun|satur)days|"
    r"when\s+i\s+have\s+time)"
)
_EN_ADV = r"(?:(?:really|also|just|absolutely|totally|still|especially|genuinely|truly)\s+)*"
_EN_REL = (
    r"wife|husband|partner|girlfriend|boyfriend|fianc[eé]e?|son|daughter|kids?|children|child|mother|mom|mum|"
    r"father|dad|brother|sister|grandmother|grandma|grandfather|grandpa|parents"
)
_EN_PET = r"dogs?|cats?|pupp(?:y|ies)|kittens?|parrots?|birds?|fish|rabbits?|bunn(?:y|ies)|hamsters?|turtles?|pets?|tortoises?|guinea\s+pigs?|lizards?|snakes?"

# Capitalised words after "I'm" that are not names.
_NOT_NAMES = (
    r"fine|good|okay|ok|sorry|back|here|ready|done|busy|tired|happy|sad|hungry|married|single|engaged|"
    r"divorced|vegan|vegetarian|muslim|christian|catholic|buddhist|jewish|hindu|sikh|atheist|male|female"
)

_EN_RULES: list[_Rule] = [
    (re.compile(r"(?i)^my\s+(?:full\s+)?name\s+is\s+(?P<v>.+)$"), _v("name", 0.9)),
    (re.compile(r"(?i)^(?:i'm|i\s+am)\s+called\s+(?P<v>.+)$"), _v("name", 0.9)),
    (
        re.compile(rf"^(?:I'm|I am)\s+(?!(?i:{NATIONALITIES}|{_NOT_NAMES})$)(?P<v>[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)$"),
        _v("name", 0.7),
    ),
    (re.compile(r"(?i)^(?:you\s+can\s+|please\s+)?call\s+me\s+(?P<v>.+)$"), _v("nickname")),
    (re.compile(r"(?i)^(?:i'm|i\s+am)\s+(?P<v>\d{1,3})(?:\s+years?\s+old|\s+years\s+of\s+age|\s+yo)?$"), _age),
    (re.compile(r"(?i)^i\s+turned\s+(?P<v>\d{1,3})(?:\s+.*)?$"), _age),
    (re.compile(r"(?i)^my\s+birthday\s+is\s+(?:on\s+)?(?P<v>.+)$"), _v("birthday", 0.9)),
    (
        re.compile(
            r"(?i)^i\s+was\s+born\s+(?:on|in)\s+(?P<v>(?:\d{4}|[a-z]+\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+\d{4})?))$"
        ),
        _v("birthday", 0.85),
    ),
    (
        re.compile(r"(?i)^(?:i'm|i\s+am)\s+(?:a|an)\s+(?P<v>man|woman|guy|girl|boy|male|female|gentleman|lady)$"),
        lambda m, lang: _gender(m, lang),
    ),
    (
        re.compile(
            r"(?i)^(?:i'm|i\s+am)\s+(?:a\s+)?(?P<v>muslim|christian|catholic|buddhist|jewish|hindu|sikh|atheist)$"
        ),
        lambda m, lang: [_f("religion", m.group("v").capitalize(), 0.85)],
    ),
    (
        re.compile(rf"(?i)^(?:i'm|i\s+am)\s+(?P<v>{NATIONALITIES})$"),
        lambda m, lang: [_f("nationality", m.group("v").capitalize(), 0.85)],
    ),
    # work
    (
        re.compile(
            rf"(?i)^(?:i'm|i\s+am)\s+(?:a|an)\s+(?P<v>(?:[\w-]+\s+){{0,3}}{JOB_EN})\s+(?:at|for|with)\s+(?P<org>.+)$"
        ),
        lambda m, lang: [_f("occupation", _clean(m.group("v"), lang)), _f("employer", _clean(m.group("org"), lang))],
    ),
    (
        re.compile(r"(?i)^i\s+work\s+as\s+(?:a|an)\s+(?P<v>.+?)\s+(?:at|for)\s+(?P<org>.+)$"),
        lambda m, lang: [
            _f("occupation", _clean(m.group("v"), lang), 0.9),
            _f("employer", _clean(m.group("org"), lang)),
        ],
    ),
    (re.compile(r"(?i)^i\s+work\s+as\s+(?:a|an)\s+(?P<v>.+)$"), _v("occupation", 0.9)),
    (re.compile(rf"(?i)^(?:i'm|i\s+am)\s+(?:a|an)\s+(?P<v>(?:[\w-]+\s+){{0,3}}{JOB_EN})$"), _v("occupation", 0.9)),
    (re.compile(r"(?i)^my\s+(?:job|profession|occupation)\s+is\s+(?P<v>.+)$"), _v("occupation", 0.85)),
    (re.compile(r"(?i)^i\s+(?:currently\s+|now\s+)?work\s+(?:at|for)\s+(?P<v>.+)$"), _v("employer", 0.9)),
    # where
    (re.compile(r"(?i)^i\s+(?:currently\s+|now\s+|still\s+)?(?:live|reside)\s+in\s+(?P<v>.+)$"), _v("residence", 0.9)),
    (
        re.compile(r"(?i)^(?:i'm|i\s+am)\s+(?:currently\s+|now\s+)?(?:living|based)\s+in\s+(?P<v>.+)$"),
        _v("residence", 0.9),
    ),
    (
        re.compile(
            r"(?i)^(?:i|i've|i\s+have)\s+(?:just\s+|recently\s+|finally\s+)?(?:moved|relocated)\s+to\s+"
            r"(?P<v>.+?)(?:\s+(?:last|this)\s+(?:week|month|year)|\s+recently)?$"
        ),
        _v("residence", 0.85),
    ),
    (re.compile(r"(?i)^my\s+home\s+is\s+in\s+(?P<v>.+)$"), _v("residence", 0.85)),
    (re.compile(r"(?i)^(?:i'm|i\s+am|i\s+come)\s+(?:originally\s+)?from\s+(?P<v>.+)$"), _v("hometown", 0.85)),
    (re.compile(r"(?i)^i\s+(?:was\s+born|grew\s+up)\s+in\s+(?P<v>[^\d].+)$"), _v("hometown", 0.8)),
    # school and education
    (
        re.compile(r"(?i)^(?:i\s+study|i\s+am\s+studying|i'm\s+studying)\s+(?:.+\s+)?at\s+(?P<v>.+)$"),
        _v("school", 0.85),
    ),
    (re.compile(r"(?i)^(?:i'm|i\s+am)\s+(?:a\s+)?student\s+at\s+(?P<v>.+)$"), _v("school", 0.85)),
    (
        re.compile(
            r"(?i)^i\s+(?:go\s+to|attend|graduated\s+from)\s+(?P<v>.+(?:school|university|college|academy|institute))$"
        ),
        _v("school", 0.85),
    ),
    (
        re.compile(
            r"(?i)^i\s+have\s+an?\s+(?P<v>(?:bachelor's|master's|phd|doctorate|associate's)(?:\s+degree)?(?:\s+in\s+.+)?)$"
        ),
        _v("education_level", 0.85),
    ),
    # hobbies and diet
    (
        re.compile(r"(?i)^my\s+(?:hobby|hobbies|interests?|pastimes?)\s+(?:is|are|include)\s+(?P<v>.+)$"),
        _v("hobbies", 0.9),
    ),
    (
        re.compile(
            rf"(?i)^(?:{_EN_LEISURE}[,\s]+)?i\s+{_EN_ADV}(?:like|love|enjoy|adore)\s+(?:to\s+)?(?P<v>.+?)"
            rf"(?:\s+{_EN_LEISURE})?$"
        ),
        lambda m, lang: _hobby_or_diet(m.group("v"), lang),
    ),
    (
        re.compile(
            rf"(?i)^(?:{_EN_LEISURE}[,\s]+)?i\s+(?:often\s+|usually\s+|regularly\s+|sometimes\s+)?"
            r"(?P<v>play\s+.+?|go\s+(?:hiking|swimming|running|fishing|climbing|camping|skiing|cycling|surfing)\b.*?)"
            rf"(?:\s+{_EN_LEISURE}|\s+every\s+\w+)?$"
        ),
        lambda m, lang: [f for f in _hobby_or_diet(m.group("v"), lang, 0.7) if f.concept == "hobbies"],
    ),
    (
        re.compile(
            r"(?i)^(?:i'm|i\s+am)\s+(?:a\s+)?(?P<v>vegetarian|vegan|pescatarian|gluten[- ]free|keto|on\s+a\s+diet)$"
        ),
        _v("diet", 0.9),
    ),
    (
        re.compile(r"(?i)^i\s+(?:don't|do\s+not|never|can't|cannot)\s+(?:eat|drink)\s+(?P<v>.+)$"),
        _v("diet", 0.8, "no {v}"),
    ),
    (re.compile(r"(?i)^i\s+only\s+eat\s+(?P<v>halal|kosher|organic)\b.*$"), _v("diet", 0.85, "{v} only")),
    # pets and family
    (
        re.compile(
            rf"(?i)^(?:i\s+(?:have|own|have\s+got)|i've\s+got)\s+(?P<v>(?:a|an|one|two|three|four|\d+)\s+.*\b(?:{_EN_PET})\b.*)$"
        ),
        _v("pets", 0.85),
    ),
    (
        re.compile(rf"(?i)^my\s+(?P<kind>{_EN_PET})(?:'s\s+name)?\s+is\s+(?:called\s+|named\s+)?(?P<v>[A-Z][\w-]*)$"),
        _v("pets", 0.85, "a {kind} named {v}"),
    ),
    (
        re.compile(
            r"(?i)^i\s+have\s+(?P<v>(?:a|an|one|two|three|four|five|\d+)\s+(?:[\w-]+\s+)?(?:sons?|daughters?|kids?|child|"
            r"children|brothers?|sisters?|siblings?|twins?)\b.*)$"
        ),
        _v("family", 0.8),
    ),
    (
        re.compile(
            rf"(?i)^my\s+(?P<v>{_EN_REL})(?:'s\s+name\s+is|\s+is\s+called|\s+is\s+named|\s+is)\s+(?P<name>[A-Z][\w-]*)$"
        ),
        _v("family", 0.85, "{v} ({name})"),
    ),
    (re.compile(rf"(?i)^my\s+(?P<v>{_EN_REL})\b(?!'s\s+name)"), _v("family", 0.7)),
    (re.compile(r"(?i)^(?:i'm|i\s+am)\s+(?P<v>married|engaged|divorced|single|widowed)$"), _v("marital_status", 0.85)),
    (re.compile(r"(?i)^i\s+(?:just\s+)?got\s+(?P<v>married|engaged|divorced)\b.*$"), _v("marital_status", 0.85)),
    # language and health
    (
        re.compile(r"(?i)^my\s+(?:native|first|mother)\s+(?:language|tongue)\s+is\s+(?P<v>.+)$"),
        _v("native_language", 0.9),
    ),
    (re.compile(r"(?i)^i\s+(?:speak|can\s+speak)\s+(?P<v>.+)$"), _v("languages", 0.8)),
    (
        re.compile(r"(?i)^(?:i'm|i\s+am)\s+(?:severely\s+|very\s+|mildly\s+)?allergic\s+to\s+(?P<v>.+)$"),
        _v("allergies", 0.9),
    ),
    (re.compile(r"(?i)^i\s+have\s+an?\s+(?P<v>[\w ]+?)\s+allergy$"), _v("allergies", 0.85)),
    (
        re.compile(
            r"(?i)^i\s+have\s+(?P<v>diabetes|asthma|hypertension|high blood pressure|migraines?|insomnia|adhd|anxiety|"
            r"depression|celiac disease)$"
        ),
        _v("health", 0.8),
    ),
    (
        re.compile(r"(?i)^(?:i'm|i\s+am)\s+(?P<v>diabetic|lactose\s+intolerant|pregnant|colou?r\s*blind)$"),
        _v("health", 0.85),
    ),
]

_ZH_LEAD_TIME = re.compile(
    r"^(?:上个?月|去年|今年|最近|前段时间|前阵子|上周|前几天|刚刚?|这个月|年初|年底|现在|目前)[，,]?\s*(?=我)"
)
_EN_LEAD_TIME = re.compile(
    r"(?i)^(?:last\s+(?:week|month|year)|recently|this\s+(?:week|month|year)|now|these\s+days|"
    r"a\s+(?:few\s+)?(?:weeks?|months?|years?)\s+ago)[,\s]+(?=i\b|i'm\b|my\b)"
)


def findings(clause: str, lang: Lang) -> list[Finding]:
    """Every rule that matches the clause; the first finding per concept wins."""
    # "上个月我搬到杭州了" / "Last year I moved to Berlin": the time does not change the fact.
    clause = (_ZH_LEAD_TIME if lang == "zh" else _EN_LEAD_TIME).sub("", clause, count=1)
    out: dict[str, Finding] = {}
    for pattern, rule in _ZH_RULES if lang == "zh" else _EN_RULES:
        m = pattern.match(clause)
        if not m:
            continue
        for finding in rule(m, lang):
            if finding.value and finding.concept not in out:
                out[finding.concept] = finding
    return list(out.values())
