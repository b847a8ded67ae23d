"""Rules for preferences, plans, habits and requests: "我喜欢喝茶", "I plan to learn Go", "我每天跑步",
"please summarise this"."""

from __future__ import annotations

import re

from .hits import Ctx, Hit, Meta, new_hit
from .lexicon import EN_DRINK, EN_FIRST_PERSON, favourite_key, pref_key
from .render import EN_ADVERBS, render_clause, render_en, render_zh, swap_en, swap_zh
from .times import Span, find_times, render_when, replace_times, resolve_when

# Preferences --------------------------------------------------------------------------------------

_ZH_ADV = r"(?:也|还|很|非常|特别|最|比较|挺|真的|超|一直|都|其实|更|平时|一般|从来|比起.{1,8})*"
_ZH_LIKE = re.compile(
    rf"^我{_ZH_ADV}(?P<verb>不太喜欢|不喜欢|不爱|喜欢|热爱|偏爱|偏好|喜爱|享受|讨厌|受不了|反感|厌恶|更倾向于?|倾向于|"
    r"习惯|爱)(?P<v>.+)$"
)
_ZH_DRINK_HABIT = re.compile(
    r"^我(?:也|还|现在|目前)?(?:只|就|都|每天都?|每天早上|平时|一般|通常|经常|总是|早上|早餐)+(?:只|都|会)?(?P<verb>喝|吃)(?P<v>.+)$"
)
_ZH_NEVER = re.compile(r"^我(?:从不|从来不|不)(?P<verb>吃|喝|碰)(?P<v>.+)$")
_ZH_DIET = re.compile(r"^我(?:吃素|是素食(?:主义)?者|只吃素|吃全素)$")
_ZH_FAVOURITE = re.compile(r"^我(?:最喜欢|最爱)的(?P<what>.+?)是(?P<v>.+)$")
_ZH_STANDING = re.compile(
    r"^(?:以后|之后|今后|从现在起|从现在开始|一直)(?:请|麻烦)?(?:你)?(?:都|一律|尽量)?(?:(?:用|使用)(?P<lang>中文|英文|英语|汉语|"
    r"日语|简体中文|繁体中文)(?:来)?(?:回答|回复|和我交流|跟我说话|跟我聊|交流)(?:我)?|(?:回答|回复)(?:得|要|都)?"
    r"(?P<style>简洁|简短|详细|简单|短|长)(?:一点|一些|些)?)(?:吧)?$"
)
_EN_LIKE = re.compile(
    rf"(?i)^i\s+(?P<adv>(?:{EN_ADVERBS}\s+)*)(?P<verb>like|love|enjoy|prefer|adore|hate|dislike|detest|can't\s+stand|"
    r"cannot\s+stand|don't\s+like|do\s+not\s+like|don't\s+enjoy|do\s+not\s+enjoy|don't\s+love)\s+(?P<v>.+)$"
)
_EN_FAN = re.compile(
    r"(?i)^(?:i'm|i am)\s+(?P<v>(?:not\s+)?(?:a\s+)?(?:big\s+|huge\s+)?fan\s+of\s+.+|"
    r"(?:really\s+)?into\s+.+|"
    r"fond\s+of\s+.+)$"
)
_EN_DRINK_HABIT = re.compile(
    r"(?i)^i\s+(?:only|usually|always|mostly|just|normally|typically|generally)\s+(?:drink|have)\s+(?P<v>.+)$"
)
_EN_DAILY_DRINK = re.compile(r"(?i)^i\s+(?:drink|have)\s+(?P<v>.+?)\s+(?:every|each)\s+(?:day|morning)$")
_EN_NEVER = re.compile(r"(?i)^i\s+(?:don't|do\s+not|never)\s+(?P<verb>eat|drink)\s+(?P<v>.+)$")
_EN_DIET = re.compile(r"(?i)^(?:i'm|i am)\s+(?:a\s+)?(?P<v>vegetarian|vegan|pescatarian)$")
_EN_FAVOURITE = re.compile(r"(?i)^my\s+favou?rite\s+(?P<what>[\w ]+?)\s+(?:is|are)\s+(?P<v>.+)$")
_EN_STANDING = re.compile(
    r"(?i)^(?:from\s+now\s+on|going\s+forward|in\s+(?:the\s+)?future|always)[,\s]+(?:please\s+)?(?:always\s+)?"
    r"(?:(?:answer|reply|respond|talk\s+to\s+me|write(?:\s+to\s+me)?)\s+in\s+(?P<lang>\w+)|"
    r"(?:keep\s+(?:your\s+)?(?:answers|replies|responses)|be)\s+(?P<style>short|brief|concise|detailed|"
    r"thorough))(?:\s+please)?$"
)
_PRONOUN_OBJECT = re.compile(
    r"(?i)^(?:it|that|this|these|those|you|them|him|her|this one|that one|it a lot|you too|your\b.*|this\s+answer.*|"
    r"你|它|他|她|这个|那个|这样|那样|你们|你的.*)$"
)
_NOT_PREF_EN = re.compile(r"(?i)^(?:to\s+(?:know|ask|say|see|think|hear)\b|when\s+you\b)")


def _pref(ctx: Ctx, text: str, obj: str, confidence: float, key: str | None = None) -> Hit:
    return new_hit(
        ctx, "preference", text, confidence, key=key if key is not None else pref_key(obj), explicit_pref=True
    )


def preference_rule(ctx: Ctx) -> Hit | None:
    c = ctx.clause
    if ctx.lang == "zh":
        m = _ZH_STANDING.match(c)
        if m:
            if m.group("lang"):
                return _pref(ctx, f"用户希望助手用{m.group('lang')}回答", "", 0.85, key="reply_language")
            return _pref(ctx, f"用户希望助手的回答{m.group('style')}一些", "", 0.85, key="answer_style")
        if _ZH_DIET.match(c):
            return _pref(ctx, render_zh(c), "", 0.85, key="diet")
        m = _ZH_FAVOURITE.match(c)
        if m:
            return _pref(ctx, render_zh(c), "", 0.85, key=favourite_key(m.group("what")))
        for pattern, confidence in ((_ZH_DRINK_HABIT, 0.85), (_ZH_NEVER, 0.8)):
            m = pattern.match(c)
            if m:
                key = "drink" if m.group("verb") == "喝" else None
                return _pref(ctx, render_zh(c), m.group("v"), confidence, key=key or "")
        m = _ZH_LIKE.match(c)
        if m and not _PRONOUN_OBJECT.match(m.group("v")):
            return _pref(ctx, render_zh(c), m.group("v"), 0.85)
        return None
    m = _EN_STANDING.match(c)
    if m:
        if m.group("lang"):
            return _pref(
                ctx, f"The user wants the assistant to reply in {m.group('lang')}", "", 0.85, key="reply_language"
            )
        return _pref(
            ctx, f"The user wants the assistant's answers to be {m.group('style')}", "", 0.85, key="answer_style"
        )
    m = _EN_DIET.match(c)
    if m:
        return _pref(ctx, f"The user is {m.group('v').lower()}", "", 0.85, key="diet")
    m = _EN_FAVOURITE.match(c)
    if m:
        return _pref(ctx, render_en(c), "", 0.85, key=favourite_key(m.group("what")))
    for pattern, confidence in ((_EN_DRINK_HABIT, 0.85), (_EN_DAILY_DRINK, 0.8)):
        m = pattern.match(c)
        if m and EN_DRINK.search(m.group("v")):
            return _pref(ctx, render_en(c), m.group("v"), confidence, key="drink")
    m = _EN_NEVER.match(c)
    if m:
        key = "drink" if m.group("verb").lower() == "drink" else ""
        return _pref(ctx, render_en(c), m.group("v"), 0.8, key=key)
    m = _EN_LIKE.match(c)
    if m and not _PRONOUN_OBJECT.match(m.group("v")) and not _NOT_PREF_EN.match(m.group("v")):
        return _pref(ctx, render_en(c), m.group("v"), 0.85)
    m = _EN_FAN.match(c)
    if m:
        return _pref(ctx, render_en(c), m.group("v"), 0.8)
    return None


# Plans and habits ---------------------------------------------------------------------------------

_ZH_PLAN_VERB = re.compile(r"打算|计划|准备")
_ZH_AFTER_TIME = re.compile(r"^(?:我)?(?:要|得|需要|打算|计划|准备|会|有|去|飞|出差|开会|考试|面试|约了)")
_EN_PLAN_VERB = re.compile(
    r"(?i)^i\s+(?:plan|am\s+planning|'m\s+planning|intend|am\s+going\s+to\s+start)\b|"
    r"^(?:i'm|i am)\s+planning\b"
)


def _move_leading_times(ctx: Ctx) -> tuple[str, list[Span]]:
    """Put a leading time after the subject ("下周五我要飞东京" -> "我下周五要飞东京"; "Next Friday I'm
    flying to Tokyo" -> "I'm flying to Tokyo next Friday"), so the clause renders from its subject."""
    c, spans = ctx.clause, ctx.spans
    if not spans or spans[0].start != 0:
        return c, spans
    end = 0
    for s in spans:
        if c[end : s.start].strip(" ,，") == "":
            end = s.end
        else:
            break
    lead, rest = c[:end].strip(" ,，"), c[end:].strip(" ,，")
    if ctx.lang == "zh":
        if not rest.startswith("我"):
            if not _ZH_AFTER_TIME.match(rest):
                return c, spans
            rest = "我" + rest
        moved = "我" + lead + rest[1:]
    else:
        if not EN_FIRST_PERSON.match(rest):
            return c, spans
        moved = f"{rest} {lead}"
    return moved, find_times(moved, ctx.today)


def plan_rule(ctx: Ctx) -> Hit | None:
    clause, spans = _move_leading_times(ctx)
    when = resolve_when(clause, spans, ctx.base)
    first_person = clause.startswith("我") if ctx.lang == "zh" else bool(EN_FIRST_PERSON.match(clause))
    if not first_person:
        return None
    plan_verb = (_ZH_PLAN_VERB.search(clause) if ctx.lang == "zh" else _EN_PLAN_VERB.search(clause)) is not None
    if when is not None and when.future:
        if when.day is not None and when.day < ctx.today:
            return None  # a past event is not a plan
        text = render_clause(replace_times(clause, spans, render_when(when, ctx.lang, clause)), ctx.lang)
        meta: Meta = {"kind": "plan"}
        if when.due():
            meta["due"] = when.due() or ""
        return new_hit(ctx, "plan", text, 0.75, metadata=meta)
    if plan_verb and (when is None or not when.recurring):
        return new_hit(ctx, "plan", render_clause(clause, ctx.lang), 0.7, metadata={"kind": "plan"})
    return None


def habit_rule(ctx: Ctx) -> Hit | None:
    clause, spans = _move_leading_times(ctx)
    if not any(s.recurring for s in spans):
        return None
    if not (clause.startswith("我") if ctx.lang == "zh" else EN_FIRST_PERSON.match(clause)):
        return None
    return new_hit(ctx, "habit", render_clause(clause, ctx.lang), 0.7, metadata={"kind": "habit"})


# Requests (only for the episodic summary) ---------------------------------------------------------

_ZH_REQUEST = re.compile(
    r"^(?:请|麻烦|帮我|帮忙|给我|你能|你可以|能不能|可以|能否|你帮我)+(?:你)?(?:帮我)?(?P<v>.{2,})$"
)
_EN_REQUEST = re.compile(
    r"(?i)^(?:(?:please|can\s+you|could\s+you|would\s+you|will\s+you|help\s+me)\s+)+(?P<v>.{2,})$|"
    r"^(?P<v2>(?:write|explain|summari[sz]e|translate|tell\s+me|show\s+me|give\s+me|find|generate|create|make|draft|"
    r"list|compare|recommend|suggest|fix|review|check|describe|calculate)\b.+)$"
)


def request_rule(ctx: Ctx) -> Hit | None:
    if ctx.lang == "zh":
        m = _ZH_REQUEST.match(ctx.clause)
        if m and not m.group("v").startswith("你好"):
            return new_hit(ctx, "request", f"请助手{swap_zh(m.group('v'))}", 0.6)
        return None
    m = _EN_REQUEST.match(ctx.clause)
    if m:
        what = (m.group("v") or m.group("v2")).rstrip("?.! ")
        if not what:
            return None
        return new_hit(ctx, "request", f"asked the assistant to {swap_en(what[0].lower() + what[1:])}", 0.6)
    return None
