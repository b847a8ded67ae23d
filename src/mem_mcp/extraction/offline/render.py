"""Third-person rendering: "我住在上海" -> "用户住在上海", "I live in Berlin" -> "The user lives in Berlin"."""

from __future__ import annotations

import re

from .lexicon import Lang, apos, tidy

_EN_KEEP = frozenset(
    "can could will would should must may might shall got had was were went made took moved used did quit "
    "became began left met bought thought felt kept lost found spent sent told said ran came saw ate drank wrote "
    "read put set cut hit let hurt".split()
)
_EN_BASE_ED = frozenset("need feed bleed speed proceed succeed exceed breed seed shed embed heed weed plead".split())
EN_ADVERBS = (
    r"(?:really|truly|absolutely|also|just|generally|usually|actually|definitely|still|totally|always|mostly|"
    r"often|sometimes|never|only|currently|now|recently|mainly|strongly|much|kind of|kinda|no longer|rarely|even|"
    r"already|personally|normally|typically|especially|simply|mostly|prefer to)"
)
_EN_NEG = {
    "don't": "doesn't",
    "do not": "does not",
    "haven't": "hasn't",
    "have not": "has not",
    "am not": "is not",
    "'m not": "is not",
}
_EN_SWAP: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bI'm\b"), "they're"),
    (re.compile(r"\bI am\b"), "they are"),
    (re.compile(r"\bI've\b"), "they've"),
    (re.compile(r"\bI'd\b"), "they'd"),
    (re.compile(r"\bI'll\b"), "they'll"),
    (re.compile(r"\bI\b"), "they"),
    (re.compile(r"\bmyself\b", re.I), "themselves"),
    (re.compile(r"\bmine\b", re.I), "theirs"),
    (re.compile(r"\bmy\b", re.I), "their"),
    (re.compile(r"\bme\b", re.I), "them"),
    (re.compile(r"\byou're\b", re.I), "the assistant is"),
    (re.compile(r"\byou are\b", re.I), "the assistant is"),
    (re.compile(r"\byourself\b", re.I), "the assistant"),
    (re.compile(r"\byours\b", re.I), "the assistant's"),
    (re.compile(r"\byour\b", re.I), "the assistant's"),
    (re.compile(r"\byou\b", re.I), "the assistant"),
]


def _conj(verb: str) -> str:
    low = verb.lower()
    if low in _EN_NEG:
        return _EN_NEG[low]
    if low in ("have",):
        return "has"
    if low in ("do", "go"):
        return low + "es"
    if low in ("am", "be"):
        return "is"
    if low in _EN_KEEP or (low.endswith("ed") and low not in _EN_BASE_ED) or low.endswith("n't"):
        return verb
    if re.search(r"(?:s|sh|ch|x|z|o)$", low):
        return verb + "es"
    if re.search(r"[^aeiou]y$", low):
        return verb[:-1] + "ies"
    return verb + "s"


def swap_en(text: str) -> str:
    for pattern, repl in _EN_SWAP:
        text = pattern.sub(repl, text)
    return text


def render_en(clause: str) -> str:
    s = apos(clause).strip().rstrip(".!?,;: ")
    m = re.match(r"(?i)^my\b\s*", s)
    if m:
        return "The user's " + swap_en(s[m.end() :])
    m = re.match(r"(?i)^(?:i'm|i am)\b\s*(not\b\s*)?", s)
    if m:
        return ("The user is not " if m.group(1) else "The user is ") + swap_en(s[m.end() :])
    for head, out in ((r"i've", "has"), (r"i'd", "would"), (r"i'll|i will", "will")):
        m = re.match(rf"(?i)^(?:{head})\b\s*", s)
        if m:
            return f"The user {out} " + swap_en(s[m.end() :])
    m = re.match(
        r"(?i)^i\s+(don't|do not|didn't|did not|can't|cannot|can not|won't|couldn't|wouldn't|shouldn't|"
        r"haven't|have not)\b\s*",
        s,
    )
    if m:
        neg = m.group(1).lower()
        return f"The user {_EN_NEG.get(neg, neg)} " + swap_en(s[m.end() :])
    m = re.match(rf"(?i)^i\s+((?:{EN_ADVERBS}\s+)*)([a-z']+)\b\s*", s)
    if m:
        return tidy(f"The user {m.group(1)}{_conj(m.group(2))} " + swap_en(s[m.end() :]))
    return "The user: " + swap_en(s)


def swap_zh(text: str) -> str:
    text = re.sub(r"我(?!们)", "用户", text)
    return re.sub(r"你(?!们|好)", "助手", text)


def render_zh(clause: str) -> str:
    s = clause.strip().rstrip("。！？!?，,；;：: ")
    if s.startswith("我的"):
        return "用户的" + swap_zh(s[2:])
    if s.startswith("我"):
        return "用户" + swap_zh(s[1:])
    return "用户" + swap_zh(s)


def render_clause(clause: str, lang: Lang) -> str:
    return render_zh(clause) if lang == "zh" else render_en(clause)
