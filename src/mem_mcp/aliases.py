"""Names the user's own memories give: "用户的儿子叫乐乐", "The user's daughter is called Mia", "用户家里养了一只
橘猫，名字叫馒头". Once such a memory is saved, "乐乐的生日是十月二号" is about the son, and "What does my
son do on Sunday mornings?" is about 乐乐: neither the embedding nor the dictionary can know that, only the
store can.

:func:`definitions` reads (name, role) pairs off a memory; :func:`expansions` gives each text of a search's
candidates what it says without writing it (the role where it writes the name, the name where it writes the
role), for the ranking's term coverage (:func:`mem_mcp.retrieval.ranking_features`). The definitions come
from the candidates themselves: a question about the son or about 乐乐 finds "用户的儿子叫乐乐" among them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from . import lexicon, pinyin
from .lexicon import _HAN_RUN
from .terms import _EN_STOP, _stem, language

_HAN = r"\u4e00-\u9fff"
#: What kind of name follows: "儿子的小名叫乐乐" is the son's; "用户的微信名叫Sunny" the user's own.
_NAME_KINDS = "小名|大名|乳名|名字|微信名|网名|英文名|中文名|昵称|外号|绰号"
#: "…的儿子叫乐乐", "…一只橘猫，名字叫馒头", "…的妻子名叫林晓雯": the clause before 叫, and the name after it
#: (up to four Han characters, or capitalised Latin words, ending at punctuation, 的 or the end).
_ZH = re.compile(
    rf"([{_HAN}A-Za-z]{{1,16}}?)(?:(?:[，,]?(?:它|他|她)?的?(?:{_NAME_KINDS}))?(?:叫做|名叫|叫)"
    rf"|[，,]?(?:它|他|她)?的?(?:{_NAME_KINDS})是)"
    rf"([{_HAN}]{{1,4}}?|[A-Z][A-Za-z'\-]*(?: [A-Z][A-Za-z'\-]*){{0,2}})(?=[的，,。；;！!？?、\s(（]|$)"
)
_KIND_IS = re.compile(rf"(?:{_NAME_KINDS})是")
#: Where the role starts inside the clause: after the last 的 or classifier ("用户晚上经常叫外卖" has none).
_ZH_ROLE_START = re.compile(r".*(?:的|一只|一个|一位|一条|一头|一匹|一辆|一家|只|位|条)")
#: "… daughter is called Mia", "… a cousin named Jason", "… son's name is Lele".
_EN = re.compile(
    r"\b((?:[A-Za-z'\-]+ ){0,6}?[A-Za-z'\-]+?)('s name is|,? (?:is |was )(?:called|named|nicknamed)|,? (?:called|named))"
    r" ([A-Z][\w'\-]*(?: [A-Z][\w'\-]*){0,2})"
)
_EN_DET = re.compile(r"\b(?:a|an|the|his|her|my|their|our|user's|users')\s+", re.I)
#: Roles that name the user (their own name, nickname), or say nothing.
_NOT_ROLES = frozenset(
    "名字 外号 小名 英文名 中文名 网名 昵称 绰号 本名 用户 我 他 她 它 自己 人 "
    "name nickname english chinese user he she it who which that".split()
)
_EN_WORD = re.compile(r"[a-z]+")
CACHED_CHARS = 512
#: At most this many definitions are read off one text, and used in one search: a memory that names things
#: all along ("叫…叫…叫…") costs no more than a few.
MAX_PER_TEXT = 4
MAX_PER_SEARCH = 32


@dataclass(frozen=True)
class Alias:
    """A name and the role a memory gives it ("乐乐", "儿子"); ``lang`` is the role's language."""

    name: str
    role: str
    lang: str


def definitions(text: str) -> tuple[Alias, ...]:
    """The (name, role) pairs ``text`` states in its first ``CACHED_CHARS`` characters (where a memory
    names someone, it does so early; an 8,000-character memory costs no more than a short one)."""
    return _definitions(text[:CACHED_CHARS])


@lru_cache(maxsize=16384)
def _definitions(text: str) -> tuple[Alias, ...]:
    found: list[Alias] = []
    for clause, name in _ZH.findall(text) if "叫" in text or _KIND_IS.search(text) else ():
        if not _zh_name(name):
            continue
        head = _ZH_ROLE_START.match(clause.removesuffix("的"))
        if head:
            role = clause.removesuffix("的")[head.end() :]
        else:
            # "用户儿子叫乐乐", "…，女儿叫丫丫": no 的, but the whole clause is a person's role
            bare = re.sub(r"^(?:用户|我)", "", clause)
            if not (lexicon.installed() and _zh_roles().fullmatch(bare)):
                continue
            role = bare
        if 1 <= len(role) <= 4 and role not in _NOT_ROLES and name != role and not role.isascii():
            found.append(Alias(name, role, "zh"))
    lower = text.lower()
    named = "called" in lower or "named" in lower or "name is" in lower
    for phrase, verb, name in _EN.findall(text) if named else ():
        # "a cousin named Jason" names him; "The user's wife called Amazon" is a call
        if verb.lstrip(",").startswith(" called") or verb.lstrip(",").startswith(" named"):
            if not re.search(r"\b(?:a|an|another)\s", phrase, re.I):
                continue
        name = name.removesuffix("'s")
        if name.split()[0] in _NOT_NAMES:
            continue
        parts = [p.strip() for p in _EN_DET.split(phrase) if p.strip()]
        if not parts:
            continue
        role = parts[-1]
        # "the best friend of the user's wife": the chain of "of"s is one role
        for part in reversed(parts[:-1]):
            if not (part.lower().endswith(" of") or part.lower() == "of"):
                break
            role = part + " " + role
        words = [w for w in _EN_WORD.findall(role.lower()) if w not in _EN_STOP]
        if words and len(words) <= 4 and not set(words) <= _NOT_ROLES and name.lower() not in words:
            found.append(Alias(name, " ".join(words), "en"))
    if APPOSITION:
        found.extend(_appositions(text))
    return tuple(dict.fromkeys(found))[:MAX_PER_TEXT]


#: Also read a name written right after a person's role, with no 叫 / "called": "儿子乐乐每周日上游泳课",
#: "同事小陈", "her daughter Lily". Only for the roles of :data:`ROLES`, and a Chinese name only of a
#: name's shape (乐乐, 小陈 / 老王 / 阿强, a common surname and one or two characters), as a name the
#: dictionary lacks: "儿子怕黑" names no one.
APPOSITION = True
#: Who a memory can be about besides the user (English stems; a Chinese role word through the dictionary:
#: 儿子 / "son", 老婆 / "wife"): family, the people around the user, pets.
#: The family among them (also who a change is about, never what it is: retrieval._subject_words).
KIN = frozenset(
    _stem(w)
    for w in (
        "wife husband spouse son daughter child kid baby mother mom mum father dad brother sister "
        "grandmother grandma grandfather grandpa grandson granddaughter aunt uncle cousin nephew niece"
    ).split()
)
ROLES = KIN | frozenset(
    _stem(w)
    for w in (
        "boyfriend girlfriend fiance fiancee friend colleague coworker boss manager supervisor neighbor "
        "neighbour roommate flatmate teacher classmate cat dog puppy kitten"
    ).split()
)
_EN_APPOSITION = re.compile(
    r"\b(?i:user's|his|her|my|their|our)\s+(?:(?:elder|older|younger|little|big|eldest|youngest|best)\s+)?"
    r"([a-z]+),?\s+([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)\b"
)
#: Characters that end a Chinese name: function words, numbers, the commonest verbs.
_NAME_STOP = frozenset(
    "的了着过是在和跟与给被把对从向也都还就又才很最太不没有要会能想爱学做去来上下说看吃喝玩打叫让请带每今明昨一二三四五六七八九十几两"
)
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)


def _name_shape(name: str) -> str:
    """The name at the start of ``name`` (up to three characters), or "": 乐乐 of 乐乐买, 小陈 of 小陈走,
    a surname and one or two characters (张伟, 王小明)."""
    if len(name) >= 2 and (name[0] == name[1] or name[0] in "小老阿"):
        return name[:2]
    if 2 <= len(name) <= 3 and name[0] in _SURNAMES:
        return name
    return ""


def _appositions(text: str) -> list[Alias]:
    found: list[Alias] = []
    for role, name in _EN_APPOSITION.findall(text):
        if _stem(role) in ROLES and name.split()[0] not in _NOT_NAMES:
            found.append(Alias(name, role, "en"))
    if not lexicon.installed() or language(text) != "zh":
        return found
    roles = _zh_roles()
    lex = lexicon.lexicon()
    for m in roles.finditer(text):
        if len(found) >= MAX_PER_TEXT:
            break
        word = m.group()
        # the role and what follows it in its run of Han characters, cut into words from the role on
        run = _HAN_RUN.match(text, m.start())
        window = text[m.start() : min(run.end(), m.end() + 8)] if run else word
        cut = lex.segments(window)
        if not cut or cut[0][0] != word:
            continue
        name = ""
        rest = cut[1:]
        for part, _ in rest:
            if len(part) != 1 or part in _NAME_STOP or len(name) == 3:
                break
            name += part
        name = _name_shape(name)
        if name:
            found.append(Alias(name, word, "zh"))
        elif not rest and run is not None and run.end() == m.end():
            latin = re.match(r"[A-Z][a-z]+", text[m.end() :])
            if latin:
                found.append(Alias(latin.group(), word, "zh"))
    return found


@lru_cache(maxsize=1)
def _zh_roles() -> re.Pattern[str]:
    """The dictionary's words of two or more characters with a sense among :data:`ROLES` (儿子, 老公, 同事...),
    longest first, as one pattern: where a Chinese apposition can start."""
    lex = lexicon.lexicon()
    words = {lex.headword(p) for stem in ROLES for p in lex.having(stem).tolist()}
    return re.compile("|".join(sorted((w for w in words if len(w) >= 2), key=len, reverse=True)))


#: Capitalised words that are no names: "The user's brother In 2020", "The user's mom Monday said".
_NOT_NAMES = frozenset(
    "In On At The This That These Those When After Before Since Last Next Every And But Or If So Then Now "
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May June July "
    "August September October November December Mom Mum Dad Mother Father I".split()
)


def _zh_name(name: str) -> bool:
    """Whether what follows 叫 can be a name: not 叫醒了他, 叫得很凶, 叫车, 叫我去, 叫妈妈."""
    if name.isascii():
        return name.split()[0].removesuffix("'s") not in _NOT_NAMES
    if name[0] in _VERB_AFTER_CALL or any(ch in "了着过" for ch in name):
        return False
    return not (lexicon.installed() and _zh_roles().fullmatch(name))


#: First characters of what follows 叫 when it is a verb (call, wake, shout, order) or a question (叫什么名字).
_VERB_AFTER_CALL = frozenset("醒声得不车他她我你它们人了着过来去起住出好做什谁哪几怎多")


class _Text:
    """What the checks need of one candidate's text, made at most once a search."""

    __slots__ = ("text", "lang", "_stems", "_starts", "_names", "_cut")

    def __init__(self, text: str) -> None:
        self.text = text
        self.lang = language(text)
        self._stems: set[str] | None = None
        self._starts: pinyin.Starts | None = None
        self._names: list | None = None
        self._cut: list[tuple[str, int, int, frozenset[str]]] | None = None

    @property
    def cut(self) -> list[tuple[str, int, int, frozenset[str]]]:
        """The Chinese words of the text: (word, start, end, the stems of its senses); cut once."""
        if self._cut is None:
            out: list[tuple[str, int, int, frozenset[str]]] = []
            lex = lexicon.lexicon() if lexicon.installed() else None
            for run in _HAN_RUN.finditer(self.text):
                at = run.start()
                parts = lex.segments(run.group()) if lex is not None else [(ch, -1) for ch in run.group()]
                for word, position in parts:
                    senses = (
                        frozenset(_stem(e) for e in lex.english(position)) if lex and position >= 0 else frozenset()
                    )
                    out.append((word, at, at + len(word), senses))
                    at += len(word)
            self._cut = out
        return self._cut

    def aligned(self, chinese: str) -> tuple[int, int] | None:
        """Where ``chinese`` occurs as whole words of the cut (乐乐 is not in 快乐乐园, 狗 not in 热狗)."""
        starts = {s for _, s, _, _ in self.cut}
        ends = {e for _, _, e, _ in self.cut}
        i = self.text.find(chinese)
        while i >= 0:
            if i in starts and i + len(chinese) in ends:
                return i, i + len(chinese)
            i = self.text.find(chinese, i + 1)
        return None

    @property
    def stems(self) -> set[str]:
        if self._stems is None:
            self._stems = {_stem(w) for w in _EN_WORD.findall(self.text.lower())}
        return self._stems

    @property
    def starts(self) -> pinyin.Starts:
        if self._starts is None:
            self._starts = pinyin.reading_starts(self.text)
        return self._starts

    @property
    def names(self) -> list:
        if self._names is None:
            self._names = pinyin.names_in(self.text)
        return self._names


class _Check:
    """One alias, ready to be looked for in many texts."""

    def __init__(self, alias: Alias) -> None:
        self.alias = alias
        name = alias.name
        self.latin = name.isascii()
        # case counts: "May" the daughter is not "may", "Will" not "will"
        self.name_re = re.compile(rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])") if self.latin else None
        #: a Latin name pinyin spells ("Lele"), for Chinese texts
        self.spelled = pinyin.names_in(name) if self.latin else []
        lex = lexicon.installed()
        if alias.lang == "en":
            self.stems = {_stem(w) for w in alias.role.split()}
            self.head, self.senses = "", set()
        else:
            self.stems = set()
            self.head = _zh_head(alias.role)
            self.senses = ({_stem(e) for e in lexicon.english_of(self.head)} - _EN_STOP) if lex else set()
        self.lex = lex

    def name_in(self, t: _Text, latin_hits: set[str] | None = None) -> bool:
        """``latin_hits``: the Latin names of the search found in ``t`` (lower case), where the caller
        looked for all of them at once."""
        name = self.alias.name
        if self.latin:
            if (self.name_re.search(t.text) is not None) if latin_hits is None else name.lower() in latin_hits:
                return True
            if t.lang != "zh" or not self.spelled:
                return False
            return any(pinyin.spans_spelled(t.text, spelled, t.starts) for spelled, _ in self.spelled)
        if name in t.text:
            return True
        if t.lang != "en" or not t.names:
            return False
        return bool(pinyin.shared_names(t.text, name, names=t.names))

    def role_in(self, t: _Text) -> bool:
        if self.alias.lang == "en":
            if t.lang == "en":
                return self.stems <= t.stems
            return self.lex and lexicon.covered(t.text, self.stems) == self.stems
        if t.lang == "zh":
            return self.head in t.text
        return bool(self.senses & t.stems)


def name_in(name: str, text: str) -> bool:
    """Whether ``text`` writes ``name``, in its script or, for a Chinese name in an English text (or the
    reverse), in pinyin ("乐乐" / "Lele")."""
    return _Check(Alias(name, "", "zh")).name_in(_Text(text))


def role_in(alias: Alias, text: str) -> bool:
    """Whether ``text`` writes the alias's role: an English role's every word (in a Chinese text, a word
    the dictionary translates with it), a Chinese role's last word (in an English text, one of its
    senses)."""
    return _Check(alias).role_in(_Text(text))


@lru_cache(maxsize=1024)
def _zh_head(role: str) -> str:
    """The last dictionary word of a Chinese role with senses ("直属领导" -> "领导"), or the role."""
    if not lexicon.installed():
        return role
    words = [w for w, senses in lexicon.words_of(role) if senses]
    return words[-1] if words else role


def _within(name: str, other: str) -> bool:
    return name != other and name in other


def expansions(texts: list[str]) -> list[str]:
    """Per text, what the others' definitions let it say too: the role of a name it writes, the name of a
    role it writes where the definitions give that role one name ("" for most). A definition does not
    expand its own text."""
    defined = [(i, a) for i, text in enumerate(texts) for a in definitions(text)][:MAX_PER_SEARCH]
    if not defined:
        return [""] * len(texts)
    checks = [(j, _Check(a)) for j, a in defined]
    single = _single_names([a for _, a in defined])
    latin = sorted({re.escape(c.alias.name) for _, c in checks if c.latin}, key=len, reverse=True)
    # one pass over each text for every Latin name of the search
    names = re.compile(rf"(?<![A-Za-z])(?:{'|'.join(latin)})(?![A-Za-z])") if latin else None
    lowered = {c.alias.name.lower() for _, c in checks if c.latin}
    inner = [c for _, c in checks if c.latin and any(_within(c.alias.name.lower(), o) for o in lowered)]
    # which checks each kind of text needs (a text is looked at only by those that can match it)
    by_latin: dict[str, list[int]] = {}
    for k, (_, c) in enumerate(checks):
        if c.latin:
            by_latin.setdefault(c.alias.name.lower(), []).append(k)
    spelled = [k for k, (_, c) in enumerate(checks) if c.latin and c.spelled]
    han = [k for k, (_, c) in enumerate(checks) if not c.latin]
    roles = [k for k, (_, c) in enumerate(checks) if _role_key(c.alias) in single]
    out: list[list[str]] = [[] for _ in texts]
    for i, text in enumerate(texts):
        t = _Text(text)
        hits = {m.lower() for m in names.findall(text)} if names is not None else set()
        # a name inside a longer one found at the same place ("Zhou" in "Zhou Hao") is looked for alone
        hits |= {c.alias.name.lower() for c in inner if any(c.alias.name.lower() in h for h in hits) and c.name_in(t)}
        named = {k for h in hits for k in by_latin.get(h, ())}
        if t.lang == "zh":
            named.update(k for k in spelled if k not in named and checks[k][1].name_in(t, hits))
        named.update(k for k in han if checks[k][1].name_in(t))
        roled = {k for k in roles if k not in named and checks[k][1].role_in(t)}
        for k in sorted(named | roled):
            j, check = checks[k]
            if j != i:
                out[i].append(check.alias.role if k in named else check.alias.name)
    return [" ".join(dict.fromkeys(parts)) for parts in out]


#: Roles a person usually has several of (English stems; a Chinese role through its senses).
_MANY = frozenset(
    _stem(w)
    for w in "friend bestie colleague coworker co worker classmate neighbor neighbour cousin teacher roommate "
    "flatmate teammate".split()
)


def _single_names(defined: list[Alias]) -> set[str]:
    """The roles (lower case) that the definitions give one name only: "friend" with Victor, Alice and
    Nina stands for none of them, though each of them is a friend."""
    names: dict[str, set[str]] = {}
    for alias in defined:
        names.setdefault(_role_key(alias), set()).add(alias.name.lower())
    return {role for role, found in names.items() if len(found) == 1}


def _role_key(alias: Alias) -> str:
    """What a role is matched by: an English role's words, a Chinese role's last word (大儿子 and 小儿子
    are both 儿子 to a question)."""
    return alias.role.lower() if alias.lang == "en" else _zh_head(alias.role)


def rewrite(query: str, texts: list[str]) -> str:
    """``query`` with each person it names by a name the candidates define written as the role instead,
    and each role as the name ("When is Lele's birthday?" -> "When is 儿子's birthday?", "我老公做什么工作"
    -> "我周浩做什么工作"): a second query for the embedding, which knows neither. Only for a role the
    definitions give one name (not "friend" with Victor, Alice and Nina); ``query`` itself where no
    definition applies."""
    defined = [a for text in texts for a in definitions(text)][:MAX_PER_SEARCH]
    t = _Text(query)
    # places in the query itself, each replaced once (two definitions of one person, 周浩 and "Zhou Hao",
    # would otherwise undo each other)
    swaps: dict[tuple[int, int], str] = {}
    single = _single_names(defined)
    for alias in dict.fromkeys(defined):
        # "Where did Omar move to?" as "Where did friend move to?" would lose who is meant: most people
        # have several friends, of whom the candidates may show one
        if _role_key(alias) not in single:
            continue
        check = _Check(alias)
        if (check.stems or check.senses) & _MANY:
            continue
        span = _name_span(check, t)
        if span:
            swaps.setdefault(span, alias.role)
            continue
        span = _role_span(check, t)
        if span:
            swaps.setdefault(span, alias.name)
    out, at = [], 0
    for (start, end), text in sorted(swaps.items()):
        if start >= at:
            out += [query[at:start], text]
            at = end
    return "".join(out) + query[at:]


def _name_span(check: _Check, t: _Text) -> tuple[int, int] | None:
    """Where ``t`` writes the alias's name (in its script or in pinyin)."""
    name = check.alias.name
    if check.latin:
        m = check.name_re.search(t.text)
        if m:
            return m.span()
        if t.lang == "zh":
            for spelled, _ in check.spelled:
                for span in sorted(pinyin.spans_spelled(t.text, spelled, t.starts), key=len, reverse=True):
                    found = t.aligned(span)
                    if found:
                        return found
        return None
    if t.lang == "zh":
        return t.aligned(name)
    for words, _ in pinyin.shared_names(t.text, name, names=t.names):
        m = re.search(r"\b" + r"\s+".join(map(re.escape, words)) + r"\b", t.text, re.I)
        if m:
            return m.span()
    return None


def _role_span(check: _Check, t: _Text) -> tuple[int, int] | None:
    """Where ``t`` writes the alias's role (a one-word English role, a Chinese role's last word; across
    languages, a word the dictionary pairs with it)."""
    alias = check.alias
    if alias.lang == "en":
        if len(check.stems) != 1:
            return None
        (stem,) = check.stems
        if t.lang == "en":
            m = next((m for m in re.finditer(r"[A-Za-z]+", t.text) if _stem(m.group().lower()) == stem), None)
            return m.span() if m else None
        return next(((s, e) for _, s, e, senses in t.cut if stem in senses), None)
    if t.lang == "zh":
        return t.aligned(check.head)
    m = next((m for m in re.finditer(r"[A-Za-z]+", t.text) if _stem(m.group().lower()) in check.senses), None)
    return m.span() if m else None


#: Who a memory is first about: the user ("用户…", "The user …", "She …"), a role ("用户的妻子…", "Her
#: husband …", "Son Zimo …") or a name ("Yutong is …"). A change about one person replaces nothing
#: about another (retrieval.supersessions).
_EN_USER = re.compile(r"^(?:the user|she|he|i)\b(?!')", re.I)
_EN_OWNED = re.compile(
    r"^(?:(?:the user|she|he|they|i)'s|the user’s|her|his|my|their|the|our)\s+"
    r"(?:(?:older|younger|elder|little|big|eldest|youngest|oldest|middle|baby|late)\s+)?([a-z-]+)",
    re.I,
)
#: A capitalised first word, and a second one after it: "Zhou Hao ...", "Mia's ...".
EN_LEADING_NAME = re.compile(r"^([A-Z][a-z]+)(?:\s([A-Z][a-z]+))?\b")
_EN_NOT_NAMES = frozenset(
    "the she he her his my their our they it this that there every each in on at for since after before "
    "when while once if as because although though until during last next".split()
)
_ZH_OWNER = re.compile(r"^(?:用户|她|他|我)的")
_ZH_USER = re.compile(r"^(?:用户|我)(?!的)")
_ZH_ORDER = "大小二三老"


def subject_of(text: str) -> tuple[str, frozenset[str]] | None:
    """("user", {}), ("role", English stems of the role) or ("name", {name}) for who ``text`` is first
    about; None where it cannot tell. Read from the text's first words only (so the cache holds short keys)."""
    return _subject_of(text.strip()[:_SUBJECT_CHARS])


_SUBJECT_CHARS = 64


@lru_cache(maxsize=4096)
def _subject_of(t: str) -> tuple[str, frozenset[str]] | None:
    if not t:
        return None
    if language(t) == "en" or not _HAN_RUN.match(t):
        m = _EN_OWNED.match(t)
        if m and _stem(m.group(1).lower()) in ROLES:
            return ("role", frozenset({_stem(m.group(1).lower())}))
        if _EN_USER.match(t):
            return ("user", frozenset())
        m = EN_LEADING_NAME.match(t)
        if m and m.group(1).lower() not in _EN_NOT_NAMES:
            word = m.group(1).lower()
            if _stem(word) in ROLES:
                return ("role", frozenset({_stem(word)}))
            # a full name ("Han Lei"), or one word no dictionary sense has ("Yutong"; not "Before")
            if m.group(2) or not (lexicon.installed() and len(lexicon.lexicon().having(_stem(word)))):
                return ("name", frozenset({m.group(1)}))
        return None
    rest = _ZH_OWNER.sub("", t)
    if rest == t and _ZH_USER.match(t):
        return ("user", frozenset())
    if rest[:1] in _ZH_ORDER and len(rest) > 2:
        rest = rest[1:] if zh_role_stems(rest[1:3]) else rest
    for n in (3, 2):
        stems = zh_role_stems(rest[:n])
        if stems:
            return ("role", stems)
    return None


def zh_role_stems(word: str) -> frozenset[str]:
    """The English role stems (son, wife, dog...) a Chinese word is, where the dictionary reads it as
    that one word (儿子 -> son); empty otherwise, or without the dictionary."""
    if not lexicon.installed():
        return frozenset()
    found = lexicon.words_of(word)
    if len(found) != 1 or found[0][0] != word:
        return frozenset()
    return frozenset(_stem(s) for s in found[0][1]) & ROLES


def different_people(a: str, b: str) -> bool:
    """Whether texts ``a`` and ``b`` are first about two different people (the user and someone else, two
    roles, two names), neither of whom the other text mentions at all; False where either cannot be told,
    and for a name against a role (乐乐 may be the son)."""
    sa, sb = subject_of(a), subject_of(b)
    if sa is None or sb is None or {sa[0], sb[0]} == {"role", "name"}:
        return False
    if sa[0] == sb[0] == "user":
        return False
    # a name one of them defines ("用户的女朋友叫小雨") that the other writes ("用户和小雨结婚了")
    if any(name_in(d.name, y) for x, y in ((a, b), (b, a)) for d in definitions(x)):
        return False
    return not (mentions(sa, b) or mentions(sb, a))


_EN_USER_WORD = re.compile(r"\b(?:user|she|he|her|his|i|me|my)\b|用户|我", re.I)
_OWNER_PREFIX = re.compile(r"^(?:(?:用户|她|他|我)的|(?:the user|she|he|i)'s\s|(?:her|his|my|their)\s)", re.I)


def mentions(subject: tuple[str, frozenset[str]], text: str) -> bool:
    """Whether ``text`` mentions ``subject`` (a :func:`subject_of` answer) anywhere: the user beyond an
    owner prefix ("用户的"), the name in either script, or the role in either language."""
    kind, words = subject
    if kind == "user":
        return bool(_EN_USER_WORD.search(_OWNER_PREFIX.sub("", text.strip())))
    if kind == "name":
        return any(name_in(w, text) for w in words)
    stems = {_stem(w) for w in _EN_WORD.findall(text.lower())}
    if lexicon.installed():
        stems |= {_stem(w) for w in lexicon.english_of(text)}
    return not words.isdisjoint(stems)
