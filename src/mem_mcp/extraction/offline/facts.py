"""Rules for facts: retractions, reminders, tool reports, changes ("I don't drink coffee anymore"),
personal facts (name, home, work, age, family, health, languages, "my X is Y"), and tool messages."""

from __future__ import annotations

import json
import re

from ..base import ExtractMessage
from .hits import Ctx, Hit, Meta, new_hit
from .lexicon import (
    EN_DRINK,
    EN_RELATIVE,
    EN_RETRACT,
    JOB_EN,
    JOB_ZH,
    NATIONALITIES,
    REQUEST_MARK,
    SURNAMES,
    ZH_RELATIVE,
    ZH_RETRACT,
    Lang,
    is_zh,
    pref_key,
    slot_for,
    tidy,
)
from .render import render_clause, render_en, render_zh, swap_en, swap_zh
from .times import render_when, resolve_when

# Retractions --------------------------------------------------------------------------------------


def retraction_rule(ctx: Ctx) -> Hit | None:
    if ctx.question and not REQUEST_MARK.match(ctx.clause):
        return None
    if ctx.lang == "zh":
        for pattern in ZH_RETRACT:
            m = pattern.match(ctx.clause)
            if m:
                what = m.group("v")
                noun = re.fullmatch(r"我的?(.{1,8})", what)
                key = slot_for(noun.group(1)) if noun and not re.search(r"喜欢|爱|讨厌|住|在|是|有", what) else None
                natural = "preference" if re.search(r"喜欢|爱|讨厌|喝|吃|偏好", what) or key == "drink" else "fact"
                text = f"用户的{noun.group(1)}" if key and noun else render_zh(what)
                return new_hit(ctx, "retract", text, 0.85, key=key, natural=natural)
        return None
    m = EN_RETRACT.match(ctx.clause)
    if not m:
        return None
    what = re.sub(r"(?i)^that\s+", "", m.group("v"))
    noun = re.fullmatch(r"(?i)my\s+((?:[\w-]+\s*){1,3})", what)
    key = slot_for(noun.group(1)) if noun else None
    natural = "preference" if re.search(r"(?i)\b(?:like|love|prefer|hate|drink|eat)\b", what) else "fact"
    return new_hit(ctx, "retract", render_en(what), 0.85, key=key, natural=natural)


# Reminders ----------------------------------------------------------------------------------------

_ZH_REMIND = re.compile(r"提醒(?:一下)?我|设(?:置)?(?:个|一个)?提醒[:：，,]?")
_EN_REMIND = re.compile(r"(?i)\bremind me\b|\bset (?:a|an|up a) reminder\b(?:\s+for me)?")


def reminder_rule(ctx: Ctx) -> Hit | None:
    pattern = _ZH_REMIND if ctx.lang == "zh" else _EN_REMIND
    if not pattern.search(ctx.clause):
        return None
    text = ctx.clause
    # Times are cut out before the task is read, so "remind me tomorrow at 10 to X" gives the task "X".
    masked, prev = [], 0
    for s in ctx.spans:
        masked.append(text[prev:s.start] + "\x00")
        prev = s.end
    masked.append(text[prev:])
    plain = "".join(masked)
    m = pattern.search(plain)
    if not m:
        return None
    pre, post = plain[: m.start()], plain[m.end():]
    when = resolve_when(text, ctx.spans, ctx.base)
    rendered = render_when(when, ctx.lang, text) if when else ""
    meta: Meta = {"kind": "reminder"}
    if when and when.recurring:
        meta["recurrence"] = when.raw
    elif when and when.due():
        meta["due"] = when.due() or ""
    if ctx.lang == "zh":
        task = tidy(post.replace("\x00", "")).lstrip("：:，, ")
        task = re.sub(r"^(?:一下|记得)", "", task)
        task = re.sub(r"[哦吧啊呀啦]+$", "", task)
        if not task:
            return None
        cond = re.sub(r"\x00|请|麻烦|帮忙|帮我|你|记得|到时候|到时|一定|务必|能不能|可以|能|再", "", pre).strip("，, ")
        cond = cond if re.search(r"(?:前|后|之前|之后|时|的时候)$", cond) else ""
        if cond and not cond.startswith("在"):
            cond = "在" + cond
        return new_hit(ctx, "reminder", f"用户希望{rendered or cond}被提醒{swap_zh(task)}", 0.85, metadata=meta)
    task = tidy(post.replace("\x00", " "))
    task = re.sub(r"(?i)^(?:please\s+)", "", task)
    task = re.sub(r"(?i)[,\s]*(?:please|thanks|thank you)$", "", task)
    prep = "to"
    # "set a reminder for ... to X": the last preposition before the task is the one that counts.
    while tm := re.match(r"(?i)^(to|that|about|of|for)\s+", task):
        prep = {"of": "about", "for": "about"}.get(tm.group(1).lower(), tm.group(1).lower())
        task = task[tm.end():]
    task = re.sub(r"\s+(?:at|on|in)$", "", task.strip())
    if not task:
        return None
    text_out = f"The user wants to be reminded {prep} {swap_en(task)}"
    return new_hit(ctx, "reminder", f"{text_out} {rendered}" if rendered else text_out, 0.85, metadata=meta)


# Tool reports -------------------------------------------------------------------------------------

_ZH_TOOL_GOOD = re.compile(
    r"^用(?P<cmd>.+?)(?P<act>跑|运行|执行|构建|编译|部署|测试|安装|打包|调试|处理|做)(?P<obj>.*?)(?:会|要|就)?"
    r"(?P<better>更快|更好|更稳定|更方便|更省事|更简单|更可靠|快多了|快很多|好用多了|好用|比较快|最快|最好|很快|"
    r"很好用|有效)(?:了|一些|一点|得多)?$"
)
_ZH_TOOL_BAD = re.compile(
    r"^(?P<subj>.+?)(?:又|一直|总是|老是)?(?P<fail>失败|报错|出错|崩溃|崩了|挂了|超时|跑不起来|装不上|编译不过|跑不通|"
    r"不好用|用不了|不能用)了?(?:[，,]?\s*(?:是)?(?:因为|由于|原因是)(?P<cause>.+))?$"
)
_EN_TOOL_BAD = re.compile(
    r"(?i)^(?:the\s+|my\s+|our\s+|this\s+)?(?P<tool>[\w.\-/`' ]{2,40}?)\s+(?:failed|fails|broke|crashed|"
    r"errored(?:\s+out)?|timed\s+out|keeps\s+failing|kept\s+failing|didn't\s+work|doesn't\s+work|did\s+not\s+work|"
    r"does\s+not\s+work)(?:\s+again)?(?:\s+(?P<conn>because(?:\s+of)?|due\s+to|since|as|with|on)\s+(?P<cause>.+))?$"
)
_EN_TOOL_GOOD = re.compile(
    r"(?i)^(?:using|running|use|run)\s+(?P<cmd>.+?)\s+(?:is|was|works|worked|runs|ran|makes\s+\w+|made\s+\w+)\s+"
    r"(?:much\s+|way\s+|a\s+lot\s+)?(?:faster|quicker|better|more\s+reliable|more\s+stable|easier|cleaner)\b.*$"
)
_EN_TOOL_FIX = re.compile(
    r"(?i)^(?P<cmd>`[^`]+`|[\w.\-]+(?:\s+-{1,2}[\w\-=]+)*)\s+(?:fixed|solved|resolved)\s+(?:it|the\s+\w+)$"
)
_NOT_TOOLS = re.compile(r"(?i)^(?:i|it|that|this|everything|something|nothing|we|you|he|she|they|我|你|他|她|它)$")


def _tool_name(command: str) -> str:
    command = command.strip().strip("`'\" ")
    command = re.sub(r"^(?:我的|我们的|这次的?|刚才的?|今天的?|the\s+|my\s+|our\s+)", "", command, flags=re.I)
    first = command.split()[0] if command.split() else command
    return first if re.match(r"^[\w.\-/]+$", first, re.ASCII) else command


def tool_report_rule(ctx: Ctx) -> Hit | None:
    c = ctx.clause
    if ctx.lang == "zh":
        m = _ZH_TOOL_GOOD.match(c)
        if m:
            name = _tool_name(m.group("cmd"))
            return new_hit(ctx, "tool", f"工具{name}的经验：{c}", 0.75, metadata={"tool": name, "success": True})
        m = _ZH_TOOL_BAD.match(c)
        if m:
            name = _tool_name(m.group("subj"))
            if _NOT_TOOLS.match(name) or name.startswith("我") or not (m.group("cause") or name.isascii()):
                return None
            text = f"工具{name}{m.group('fail')}" + (f"，原因是{swap_zh(m.group('cause'))}" if m.group("cause") else "")
            return new_hit(ctx, "tool", text, 0.7, metadata={"tool": name, "success": False})
        return None
    m = _EN_TOOL_BAD.match(c)
    if m:
        name = _tool_name(m.group("tool"))
        if _NOT_TOOLS.match(name):
            return None
        text = f"The {m.group('tool').strip()} failed"
        if m.group("cause"):
            text += f" {m.group('conn')} {swap_en(m.group('cause'))}"
        return new_hit(ctx, "tool", f"Tool {name}: {text[0].lower()}{text[1:]}", 0.7,
                    metadata={"tool": name, "success": False})
    for pattern in (_EN_TOOL_GOOD, _EN_TOOL_FIX):
        m = pattern.match(c)
        if m:
            name = _tool_name(m.group("cmd"))
            return new_hit(ctx, "tool", f"Tool {name} worked well: {swap_en(c[0].lower() + c[1:])}", 0.75,
                        metadata={"tool": name, "success": True})
    return None


# Changes ------------------------------------------------------------------------------------------

_ZH_VERB_KEY = {"喝": "drink", "抽": "smoking"}
_ZH_CHANGE = re.compile(
    r"^我(?:现在|已经|最近)?不(?:再)?(?P<verb>喝|吃|抽|用|玩|看)(?P<old>[^，,]+?)了?[，,]\s*(?:我)?"
    r"(?P<new>(?:现在|改|开始|改成|换成|只|都|而是|改为|就)+.+)$"
)
_ZH_STOP = re.compile(r"^我(?:现在|已经|最近)?不(?:再)?(?P<verb>喝|吃|抽)(?P<old>[^，,]+?)了$")
_ZH_QUIT = re.compile(r"^我(?:已经|最近)?戒(?:掉)?(?:了)?(?P<v>烟|酒|咖啡|糖|奶茶)了?$")
_ZH_LEFT_JOB = re.compile(r"^我(?:已经)?不在(?P<org>[^，,]+?)(?:工作|上班)了(?:[，,]\s*(?:我)?(?P<rest>.+))?$")
_ZH_BEFORE_NOW = re.compile(r"^我(?:以前|之前|原来|过去)(?P<old>[^，,]+)[，,]\s*(?:但是?|不过|可是)?(?:我)?(?P<new>(?:现在|如今).+)$")
_EN_DRINK_CHANGE = re.compile(
    r"(?i)^i\s+(?:don't|do not|no longer|stopped|quit|gave up)\s+(?:drink(?:ing)?\s+|having\s+)?(?P<old>.+?)"
    r"(?:\s+any\s?more)?[,;]?\s+(?:and\s+|but\s+)?(?:now\s+)?(?:i\s+)?(?:now\s+)?(?P<only>only\s+|just\s+|mostly\s+)?"
    r"(?:drink|have)\s+(?P<new>.+?)(?:\s+(?:now|instead|these days))?$"
)
_EN_STOP = re.compile(
    r"(?i)^i\s+(?:(?:don't|do not)\s+(?P<verb>drink|eat|smoke|use)\s+(?P<old>.+?)\s+any\s?more|"
    r"(?:no longer|stopped|quit|gave up)\s+(?P<verb2>drinking|eating|smoking|using|drink|eat|smoke|use)\b\s*"
    r"(?P<old2>[^,;]*))$"
)
_EN_LEFT_JOB = re.compile(
    r"(?i)^i\s+(?:no longer|don't|do not)\s+work\s+(?:at|for)\s+(?P<org>[^,;]+?)(?:\s+any\s?more)?"
    r"(?:[,;]?\s+(?:and\s+|but\s+)?(?:i\s+)?(?:now\s+)?(?:work|am\s+working|'m\s+working)\s+(?:now\s+)?(?:at|for)\s+"
    r"(?P<new>[^,;]+?)(?:\s+now)?)?$"
)
_EN_NOW_JOB = re.compile(
    r"(?i)^i\s+(?:now\s+work|work\s+now|started\s+working|just\s+started\s+working|have\s+started\s+working)"
    r"\s+(?:at|for)\s+(?P<org>[^,;]+)$"
)
_EN_SWITCH = re.compile(r"(?i)^i\s+(?:switched|changed|moved)\s+from\s+(?P<old>[^,;]+?)\s+to\s+(?P<new>[^,;]+)$")
_EN_USED_TO = re.compile(r"(?i)^i\s+used\s+to\s+(?P<old>.+?)[,;]?\s+(?:but\s+)?(?:now\s+)?(?P<new>i\b.+)$")
_EN_BASE = {"drinking": "drink", "eating": "eat", "smoking": "smoke", "using": "use"}
_EN_VERB_KEY = {"drink": "drink", "smoke": "smoking"}


def change_rule(ctx: Ctx) -> Hit | None:
    c = ctx.clause
    if ctx.lang == "zh":
        m = _ZH_CHANGE.match(c)
        if m:
            key = _ZH_VERB_KEY.get(m.group("verb")) or (pref_key(m.group("old")) if m.group("verb") == "喝" else None)
            text = f"用户不再{m.group('verb')}{m.group('old')}，{swap_zh(m.group('new'))}"
            return new_hit(ctx, "change", text, 0.85, key=key, natural="preference", explicit_pref=True)
        m = _ZH_STOP.match(c)
        if m:
            key = _ZH_VERB_KEY.get(m.group("verb"))
            return new_hit(ctx, "change", f"用户不再{m.group('verb')}{m.group('old')}", 0.8, key=key, natural="preference",
                        explicit_pref=True)
        m = _ZH_QUIT.match(c)
        if m:
            key = {"烟": "smoking", "酒": "alcohol"}.get(m.group("v"), "drink")
            return new_hit(ctx, "change", f"用户已经戒{m.group('v')}了", 0.85, key=key, natural="preference",
                        explicit_pref=True)
        m = _ZH_LEFT_JOB.match(c)
        if m:
            text = f"用户不再在{m.group('org')}工作" + (f"，{swap_zh(m.group('rest'))}" if m.group("rest") else "")
            return new_hit(ctx, "change", text, 0.85, key="employer")
        m = _ZH_BEFORE_NOW.match(c)
        if m:
            both = m.group("old") + m.group("new")
            is_pref = re.search(r"喜欢|爱|喝|吃|讨厌", both) is not None
            key = "home_city" if "住" in both else (pref_key(both) if is_pref else None)
            text = f"用户以前{swap_zh(m.group('old'))}，{swap_zh(m.group('new'))}"
            return new_hit(ctx, "change", text, 0.8, key=key, natural="preference" if is_pref else "fact",
                        explicit_pref=is_pref)
        return None
    m = _EN_DRINK_CHANGE.match(c)
    if m and (EN_DRINK.search(m.group("old")) or EN_DRINK.search(m.group("new"))):
        only = (m.group("only") or "").strip()
        new = f"{only} drinks {m.group('new')}" if only else f"drinks {m.group('new')}"
        text = f"The user no longer drinks {swap_en(m.group('old'))} and now {swap_en(new)}"
        return new_hit(ctx, "change", text, 0.85, key="drink", natural="preference", explicit_pref=True)
    m = _EN_STOP.match(c)
    if m:
        said = (m.group("verb") or m.group("verb2")).lower()
        verb = _EN_BASE.get(said, said)
        old = m.group("old") or m.group("old2") or ""
        key = _EN_VERB_KEY.get(verb)
        if verb == "drink" or (verb != "smoke" and EN_DRINK.search(old)):
            key = "drink"
        return new_hit(ctx, "change", render_en(c), 0.8, key=key, natural="preference", explicit_pref=True)
    m = _EN_LEFT_JOB.match(c)
    if m:
        text = f"The user no longer works at {m.group('org')}"
        if m.group("new"):
            text += f" and now works at {m.group('new')}"
        return new_hit(ctx, "change", text, 0.85, key="employer")
    m = _EN_NOW_JOB.match(c)
    if m:
        return new_hit(ctx, "change", f"The user now works at {m.group('org')}", 0.85, key="employer")
    m = _EN_SWITCH.match(c)
    if m:
        drink = bool(EN_DRINK.search(m.group("old")) or EN_DRINK.search(m.group("new")))
        text = f"The user switched from {swap_en(m.group('old'))} to {swap_en(m.group('new'))}"
        return new_hit(ctx, "change", text, 0.8, key="drink" if drink else None,
                    natural="preference" if drink else "fact", explicit_pref=drink)
    m = _EN_USED_TO.match(c)
    if m:
        is_pref = re.search(r"(?i)\b(?:like|love|prefer|hate|drink|eat)\b", c) is not None
        text = f"The user used to {swap_en(m.group('old'))}, but now {render_en(m.group('new'))[9:]}"
        key = "home_city" if re.search(r"(?i)\blive\b", c) else (pref_key(c) if is_pref else None)
        return new_hit(ctx, "change", text, 0.8, key=key,
                    natural="preference" if is_pref else "fact", explicit_pref=is_pref)
    return None


# Personal facts -----------------------------------------------------------------------------------
# (pattern, key, confidence, template or None to render the whole clause in the third person)
_Rule = tuple[re.Pattern[str], str | None, float, str | None]

_ZH_PERSONAL: list[_Rule] = [
    (re.compile(r"^我(?:的名字|的姓名|的全名)(?:是|叫)(?P<v>.{1,20})$"), "name", 0.9, "用户的名字是{v}"),
    (re.compile(r"^我(?:的)?(?:全名|名字)?叫(?!了|过|着)(?P<v>[^，,。\s]{1,12})$"), "name", 0.9, "用户叫{v}"),
    (re.compile(r"^(?:你)?(?:可以|以后)?(?:就)?(?:叫|称呼)我(?P<v>[^，,]{1,10}?)(?:就行|就好|就可以|吧)?了?$"), "nickname", 0.85,
     "用户希望被称为{v}"),
    (re.compile(r"^我姓(?P<v>.{1,2})$"), "surname", 0.85, "用户姓{v}"),
    (re.compile(rf"^我是(?P<v>[{SURNAMES}][\u4e00-\u9fff]{{1,2}})(?<![人的])$"), "name", 0.65, "用户叫{v}"),
    (re.compile(r"^我(?:现在|目前|一直)?(?:住在|居住在|生活在|定居在?)(?P<v>.+)$"), "home_city", 0.9, None),
    (re.compile(r"^我家(?:住)?在(?P<v>.+)$"), "home_city", 0.85, None),
    (re.compile(r"^我(?:已经|最近|刚刚?|上个月|去年)?(?:搬到|搬去|搬家到)了?(?P<v>[^了，,]+)了?$"), "home_city", 0.85,
     "用户搬到了{v}，现在住在{v}"),
    (re.compile(r"^我(?:是|来自)(?P<v>(?![个一])[\u4e00-\u9fff]{2,10}?)人$"), "hometown", 0.8, "用户是{v}人"),
    (re.compile(r"^我(?:的)?(?:老家|家乡)(?:是|在)(?P<v>.+)$"), "hometown", 0.85, "用户的老家在{v}"),
    (re.compile(r"^我来自(?P<v>.+)$"), "hometown", 0.85, None),
    (re.compile(r"^我(?:现在|目前)?在(?P<v>(?!家|家里|外面|路上|这里|那里).+?)(?:工作|上班|任职|实习)了?$"), "employer",
     0.9, None),
    (re.compile(rf"^我(?:现在|目前)?在(?P<v>(?!家|家里|外面|路上|这里|那里).+?)(?:做|当|担任)(?:一名|一个)?.*{JOB_ZH}$"),
     "employer", 0.85, None),
    (re.compile(rf"^我(?:现在|目前)?(?:是|当)(?:一名|一个|一位|个|名)?(?P<v>.{{0,10}}?{JOB_ZH})$"), "job", 0.9, None),
    (re.compile(r"^我(?:的工作|的职业|的职位)是(?P<v>.+)$"), "job", 0.85, None),
    (re.compile(r"^我(?:从事|做)(?P<v>.+?)(?:工作|行业|方面的工作)$"), "job", 0.8, None),
    (re.compile(r"^我(?:现在|目前)?在(?P<v>.+?)(?:上学|读书|念书|上大学|读大学|读研|读博|留学)$"), "school", 0.85, None),
    (re.compile(r"^我(?:是|在)(?P<v>.+?)的学生$"), "school", 0.85, None),
    (re.compile(r"^我(?:今年|现在|已经)?(?P<v>\d{1,3}|[一二两三四五六七八九十百]{1,4})岁了?$"), "age", 0.9,
     "用户今年{v}岁（{year}年）"),
    (re.compile(r"^我(?:是)?(?P<v>\d{4})年(?:出生|生)的?$"), "birth_year", 0.9, "用户{v}年出生"),
    (re.compile(r"^我的生日是(?P<v>.+)$"), "birthday", 0.9, None),
    (re.compile(r"^我(?:已经)?(?:结婚|已婚)了?$"), "marital_status", 0.85, "用户已婚"),
    (re.compile(r"^我(?:还是|现在是)?单身(?:狗)?$"), "marital_status", 0.85, "用户单身"),
    (re.compile(rf"^我的?{ZH_RELATIVE}(?:叫|是|的名字是|今年|在|住在|做|当|从事)(?P<v>.+)$"), None, 0.85, None),
    (re.compile(r"^我(?:家)?有(?P<v>.*(?:儿子|女儿|孩子|个娃|哥哥|姐姐|弟弟|妹妹|兄弟|姐妹))$"), None, 0.8, None),
    (re.compile(r"^我(?:家)?(?:有|养了|养着|养)(?P<v>.*(?:狗|猫|鸟|鹦鹉|鱼|兔子?|仓鼠|乌龟|宠物|狗狗|猫咪))了?$"), None, 0.85,
     None),
    (re.compile(r"^我(?:对)(?P<v>.+?)过敏$"), None, 0.9, None),
    (re.compile(r"^我(?:有|患有|得了)(?P<v>.*(?:病|症|炎|哮喘|高血压|糖尿病|低血糖|近视|失眠|过敏))$"), None, 0.8, None),
    (re.compile(r"^我(?:不能|不可以)(?:吃|喝)(?P<v>.+)$"), None, 0.8, None),
    (re.compile(r"^我的母语是(?P<v>.+)$"), "native_language", 0.9, None),
    (re.compile(r"^我(?:会说|会讲|能说|说|讲|会)(?P<v>.*(?:语|话|文))$"), None, 0.8, None),
    (re.compile(r"^我(?:正在|最近在|在)学(?:习)?(?P<v>(?![校院]).+)$"), None, 0.75, None),
    (re.compile(r"^我的(?P<what>(?!问题|意思|想法|建议|天)[^是，,]{1,8})是(?P<v>.+)$"), "@slot", 0.8, None),
]
_EN_PERSONAL: list[_Rule] = [
    (re.compile(r"(?i)^my\s+(?:full\s+)?name\s+is\s+(?P<v>.+)$"), "name", 0.9, "The user's name is {v}"),
    (re.compile(r"(?i)^(?:i'm|i am)\s+called\s+(?P<v>.+)$"), "name", 0.9, "The user's name is {v}"),
    (re.compile(r"(?i)^(?:you\s+can\s+|please\s+)?call\s+me\s+(?P<v>.+)$"), "nickname", 0.85,
     "The user wants to be called {v}"),
    (re.compile(rf"(?i)^(?:i'm|i am)\s+(?P<v>{NATIONALITIES})$"), "nationality", 0.85, None),
    (re.compile(r"^(?:I'm|I am)\s+(?P<v>[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)$"), "name", 0.75, "The user's name is {v}"),
    (re.compile(r"(?i)^i\s+(?:currently\s+|now\s+|still\s+)?(?:live|reside)\s+in\s+(?P<v>.+)$"), "home_city", 0.9,
     None),
    (re.compile(r"(?i)^(?:i'm|i am)\s+(?:currently\s+|now\s+)?(?:living|based)\s+in\s+(?P<v>.+)$"), "home_city", 0.9,
     None),
    (re.compile(r"(?i)^(?:i|i've|i\s+have)\s+(?:just\s+|recently\s+)?(?:moved|relocated)\s+to\s+"
                r"(?P<v>.+?)(?:\s+(?:last|this)\s+(?:week|month|year))?$"),
     "home_city", 0.85, "The user lives in {v} (moved there)"),
    (re.compile(r"(?i)^my\s+home\s+is\s+in\s+(?P<v>.+)$"), "home_city", 0.85, "The user lives in {v}"),
    (re.compile(r"(?i)^(?:i'm|i am|i\s+come)\s+(?:originally\s+)?from\s+(?P<v>.+)$"), "hometown", 0.85, None),
    (re.compile(r"(?i)^i\s+(?:currently\s+|now\s+)?work\s+(?:at|for)\s+(?P<v>.+)$"), "employer", 0.9, None),
    (re.compile(rf"(?i)^(?:i'm|i am)\s+(?:a|an)\s+(?P<v>(?:[\w-]+\s+){{0,3}}{JOB_EN})\s+(?:at|for|with)\s+"
                r"(?P<org>.+)$"),
     "employer", 0.85, None),
    (re.compile(r"(?i)^i\s+work\s+as\s+(?:a|an)\s+(?P<v>.+)$"), "job", 0.9, None),
    (re.compile(rf"(?i)^(?:i'm|i am)\s+(?:a|an)\s+(?P<v>(?:[\w-]+\s+){{0,3}}{JOB_EN})$"), "job", 0.9, None),
    (re.compile(r"(?i)^my\s+(?:job|profession|occupation|role)\s+is\s+(?P<v>.+)$"), "job", 0.85, None),
    (re.compile(r"(?i)^(?:i\s+study|i\s+am\s+studying|i'm\s+studying)\s+(?:.+\s+)?at\s+(?P<v>.+)$"), "school", 0.85,
     None),
    (re.compile(r"(?i)^(?:i'm|i am)\s+(?:a\s+)?student\s+at\s+(?P<v>.+)$"), "school", 0.85, None),
    (re.compile(r"(?i)^i\s+(?:go\s+to|attend)\s+(?P<v>.+(?:school|university|college|academy))$"), "school", 0.85,
     None),
    (re.compile(r"(?i)^i\s+(?:study|major\s+in)\s+(?P<v>.+)$"), None, 0.8, None),
    (re.compile(r"(?i)^(?:i'm|i am)\s+(?P<v>\d{1,3})(?:\s+years?\s+old|\s+years\s+of\s+age|\s+yo)?$"), "age", 0.85,
     "The user is {v} years old (as of {year})"),
    (re.compile(r"(?i)^(?:i\s+was\s+born\s+in)\s+(?P<v>\d{4})$"), "birth_year", 0.9, "The user was born in {v}"),
    (re.compile(r"(?i)^my\s+birthday\s+is\s+(?:on\s+)?(?P<v>.+)$"), "birthday", 0.9, "The user's birthday is {v}"),
    (re.compile(r"(?i)^(?:i'm|i am)\s+(?P<v>married|engaged|divorced|single|widowed)$"), "marital_status", 0.85, None),
    (re.compile(rf"(?i)^my\s+{EN_RELATIVE}(?:'s\s+name\s+is|\s+(?:is|works|lives|teaches|studies))\s+(?P<v>.+)$"),
     None, 0.85, None),
    (re.compile(r"(?i)^i\s+have\s+(?P<v>(?:a|an|one|two|three|four|five|\d+)\s+(?:[\w-]+\s+)?(?:son|daughter|kid|child|"
                r"children|brother|sister|twin)s?\b.*)$"), None, 0.8, None),
    (re.compile(r"(?i)^(?:i\s+(?:have|own|have\s+got)|i've\s+got)\s+"
                r"(?P<v>.*\b(?:dog|cat|puppy|kitten|parrot|bird|fish|rabbit|"
                r"hamster|turtle|pet|tortoise|guinea pig)s?\b.*)$"), None, 0.85, None),
    (re.compile(r"(?i)^(?:i'm|i am)\s+(?:severely\s+|very\s+|mildly\s+)?allergic\s+to\s+(?P<v>.+)$"), None, 0.9, None),
    (re.compile(r"(?i)^i\s+have\s+(?:a\s+|an\s+)?(?P<v>.*(?:allergy|allergies|diabetes|asthma|celiac|hypertension|"
                r"migraines?|adhd|anxiety|depression|insomnia|high blood pressure))$"), None, 0.8, None),
    (re.compile(r"(?i)^(?:i'm|i am)\s+(?P<v>lactose\s+intolerant|diabetic|colou?r\s*blind|pregnant)$"), None, 0.85,
     None),
    (re.compile(r"(?i)^i\s+(?:speak|can\s+speak)\s+(?P<v>.+)$"), None, 0.8, None),
    (re.compile(r"(?i)^my\s+(?:native|first|mother)\s+(?:language|tongue)\s+is\s+(?P<v>.+)$"), "native_language", 0.9,
     None),
    (re.compile(r"(?i)^(?:i'm|i am)\s+(?:currently\s+)?learning\s+(?P<v>.+)$"), None, 0.75, None),
    (re.compile(r"(?i)^my\s+(?P<what>(?!question|problem|issue|point|guess|bad|pleasure|answer|turn|fault)"
                r"[\w' -]{1,30}?)\s+(?:is|are)\s+(?P<v>.+)$"), "@slot", 0.8, None),
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


# Tool messages ------------------------------------------------------------------------------------

_FAIL_WORDS = re.compile(
    r"(?i)\b(?:error|errors|failed|failure|fails|exception|traceback|timed?\s*out|timeout|denied|not\s+found|"
    r"refused|invalid|cannot|can't|unable)\b|exit\s+(?:code|status)\s*[1-9]|失败|错误|报错|异常|超时|拒绝"
)
_OK_WORDS = re.compile(r"(?i)\b(?:success|succeeded|successful|passed|ok|done|completed|finished)\b|成功|通过|完成")


def tool_message_hit(msg: ExtractMessage) -> Hit | None:
    content = msg.content.strip()
    if not content:
        return None
    name: str | None = None
    detail = content
    success: bool | None = None
    try:
        data = json.loads(content)
    except ValueError:
        data = None
    if isinstance(data, dict):
        raw_name = data.get("tool") or data.get("name") or data.get("tool_name")
        name = str(raw_name) if raw_name else None
        error = data.get("error") or data.get("stderr")
        status = str(data.get("status", "")).lower()
        code = data.get("exit_code", data.get("returncode", 0))
        if error or status in ("error", "failed", "failure") or data.get("success") is False or code not in (0, None):
            success = False
            detail = str(error or data.get("message") or data.get("output") or status)
        else:
            ok = data.get("success") is True or status in ("ok", "success", "succeeded", "done", "completed")
            success = True if ok else None
            detail = str(data.get("message") or data.get("output") or data.get("result") or status)
    else:
        m = re.match(r"^\s*(?:\$\s*)?\[?(?P<name>[A-Za-z_][\w.\-]{1,40})\]?\s*[:：]\s*(?P<rest>.*)", content, re.S)
        if m:
            name, detail = m.group("name"), m.group("rest")
        if _FAIL_WORDS.search(content):
            success = False
        elif _OK_WORDS.search(content):
            success = True
    if success is None or (success and len(content) > 300):
        # No stated outcome, or a long successful result (search hits, file contents): data, not a lesson.
        return None
    name = name or "tool"
    first_line = next((line.strip() for line in detail.splitlines() if line.strip()), "")[:200]
    lang: Lang = "zh" if is_zh(first_line) else "en"
    if lang == "zh":
        text = f"工具{name}{'执行成功' if success else '执行失败'}" + (f"：{first_line}" if first_line else "")
    else:
        text = f"Tool {name} {'succeeded' if success else 'failed'}" + (f": {first_line}" if first_line else "")
    confidence = 0.7 if success is False else 0.6
    return Hit("tool", re.sub(r"\s+", " ", text).strip(), lang, confidence, first_line or content[:200],
                metadata={"tool": name, "success": success})
