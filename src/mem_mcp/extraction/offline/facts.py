"""Rules for facts: retractions, reminders, tool reports, changes ("I don't drink coffee anymore") and
tool messages; personal facts (name, home, work, age, family, health, languages, "my X is Y") are in
personal.py."""

from __future__ import annotations

import json
import re

from ..base import ExtractMessage
from .hits import Ctx, Hit, Meta, new_hit
from .lexicon import (
    EN_DRINK,
    EN_RETRACT,
    REQUEST_MARK,
    ZH_RETRACT,
    Lang,
    is_zh,
    pref_key,
    slot_for,
    tidy,
)
from .render import render_en, render_zh, swap_en, swap_zh
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
        masked.append(text[prev : s.start] + "\x00")
        prev = s.end
    masked.append(text[prev:])
    plain = "".join(masked)
    m = pattern.search(plain)
    if not m:
        return None
    pre, post = plain[: m.start()], plain[m.end() :]
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
        task = task[tm.end() :]
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
        return new_hit(
            ctx, "tool", f"Tool {name}: {text[0].lower()}{text[1:]}", 0.7, metadata={"tool": name, "success": False}
        )
    for pattern in (_EN_TOOL_GOOD, _EN_TOOL_FIX):
        m = pattern.match(c)
        if m:
            name = _tool_name(m.group("cmd"))
            return new_hit(
                ctx,
                "tool",
                f"Tool {name} worked well: {swap_en(c[0].lower() + c[1:])}",
                0.75,
                metadata={"tool": name, "success": True},
            )
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
_ZH_BEFORE_NOW = re.compile(
    r"^我(?:以前|之前|原来|过去)(?P<old>[^，,]+)[，,]\s*(?:但是?|不过|可是)?(?:我)?(?P<new>(?:现在|如今).+)$"
)
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
            return new_hit(
                ctx,
                "change",
                f"用户不再{m.group('verb')}{m.group('old')}",
                0.8,
                key=key,
                natural="preference",
                explicit_pref=True,
            )
        m = _ZH_QUIT.match(c)
        if m:
            key = {"烟": "smoking", "酒": "alcohol"}.get(m.group("v"), "drink")
            return new_hit(
                ctx, "change", f"用户已经戒{m.group('v')}了", 0.85, key=key, natural="preference", explicit_pref=True
            )
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
            return new_hit(
                ctx, "change", text, 0.8, key=key, natural="preference" if is_pref else "fact", explicit_pref=is_pref
            )
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
        return new_hit(
            ctx,
            "change",
            text,
            0.8,
            key="drink" if drink else None,
            natural="preference" if drink else "fact",
            explicit_pref=drink,
        )
    m = _EN_USED_TO.match(c)
    if m:
        is_pref = re.search(r"(?i)\b(?:like|love|prefer|hate|drink|eat)\b", c) is not None
        text = f"The user used to {swap_en(m.group('old'))}, but now {render_en(m.group('new'))[9:]}"
        key = "home_city" if re.search(r"(?i)\blive\b", c) else (pref_key(c) if is_pref else None)
        return new_hit(
            ctx, "change", text, 0.8, key=key, natural="preference" if is_pref else "fact", explicit_pref=is_pref
        )
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
    return Hit(
        "tool",
        re.sub(r"\s+", " ", text).strip(),
        lang,
        confidence,
        first_line or content[:200],
        metadata={"tool": name, "success": success},
    )
