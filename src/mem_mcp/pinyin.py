"""Names across scripts: a name or place saved in Chinese ("乐乐", "南山区", "小陈") is written in pinyin
in English ("Lele", "Nanshan", "Xiao Chen"), and the embedding model barely connects the two. So the
ranking (:func:`mem_mcp.retrieval.ranking_features`) counts a query term as covered by a memory in the
other language when one side spells the other's name: a capitalised English word (or two adjacent ones,
"Xiao Chen", "Ping An", "Xi'an") equal to the toneless pinyin of a two-to-four-character span of the
Chinese text, any reading of a polyphone ("乐" is le or yue).

Capitalised words only: lower-case English words that happen to spell a Chinese span ("change" is
chang-e) would match by chance. Spans of one character are not matched for the same reason ("Chen" alone
is 陈, 晨, 沉...). Names the English side translates rather than spells (腾讯 Tencent, 字节跳动 ByteDance)
or spells another way (米娅 Mia) are not found here; the embedding has to carry those.

The readings are ``pinyin.tsv`` (package data): each CJK Unified Ideograph (U+4E00-U+9FFF) and its
toneless readings, taken from pypinyin's table (MIT; tests/test_pinyin.py checks the file against it and
says how to regenerate it). A file of our own rather than pypinyin at run time: importing pypinyin's table
costs 57 MiB of RSS for good, this one about 5 MiB, loaded on the first cross-lingual search that needs it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources

_TABLE = "pinyin.tsv"
#: Spans of this many characters are spelled (two to four: a given name, a surname and given name, a place).
MIN_SPAN = 2
MAX_SPAN = 4
#: The longest toneless syllable (zhuang, shuang).
MAX_SYLLABLE = 6

_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+")


@lru_cache(maxsize=1)
def readings() -> dict[str, tuple[str, ...]]:
    """Character -> its toneless pinyin readings, most common first."""
    table: dict[str, tuple[str, ...]] = {}
    text = resources.files(__package__).joinpath(_TABLE).read_text(encoding="utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            char, spelled = line.split("\t")
            table[char] = tuple(spelled.split())
    return table


def spans_spelled(chinese: str, name: str, starts: Starts | None = None) -> frozenset[str]:
    """The two-to-four-character spans of ``chinese``'s Han runs whose toneless pinyin, in any reading of
    each character, is ``name`` (lower case): ``("住在南山区", "nanshan")`` gives {"南山"}.

    Walks a span one character at a time, keeping only the readings that continue ``name``, from the
    characters that can begin it (``starts``: :func:`reading_starts` of ``chinese``, made once for all the
    names of a question). Nothing is kept per text: a table of every spelling of every span of a long
    memory would be hundreds of KiB, and there is one such memory per search candidate."""
    runs, first = starts if starts is not None else reading_starts(chinese)
    table = readings()
    found: set[str] = set()
    begun = {at for n in range(1, min(len(name), MAX_SYLLABLE) + 1) for at in first.get(name[:n], ())}
    for r, i in begun:
        run = runs[r]
        reach = {0}  # offsets into name that run[i:j] spells up to
        for j in range(i, min(len(run), i + MAX_SPAN)):
            options = table.get(run[j])
            if options is None:
                break
            reach = {k + len(o) for k in reach for o in options if name.startswith(o, k)}
            if not reach:
                break
            if j + 1 - i >= MIN_SPAN and len(name) in reach:
                found.add(run[i : j + 1])
    return frozenset(found)


#: A text's Han runs, and each reading -> the (run, offset) of the characters that have it.
Starts = tuple[list[str], dict[str, list[tuple[int, int]]]]


def reading_starts(chinese: str) -> Starts:
    """Where each reading occurs in ``chinese`` (one pass over the text, for :func:`spans_spelled`)."""
    table = readings()
    runs = _HAN_RUN.findall(chinese)
    first: dict[str, list[tuple[int, int]]] = {}
    for r, run in enumerate(runs):
        for i, ch in enumerate(run[:-1]):  # a span has at least two characters
            for reading in table.get(ch, ()):
                first.setdefault(reading, []).append((r, i))
    return runs, first


#: Texts up to this length are cached (queries, short memories); longer ones are read anew each time.
CACHED_CHARS = 512
#: No name of at most MAX_SPAN syllables is longer than this.
MAX_NAME = MAX_SYLLABLE * MAX_SPAN


def latin_names(text: str) -> dict[str, tuple[str, ...]]:
    """Capitalised words of ``text``, lower-cased, and each such word joined with the next where the two
    read as one name -> the words (``"Xiao Chen"`` gives ``"xiao"``, ``"chen"`` and ``"xiaochen"`` ->
    ("xiao", "chen"))."""
    return _latin_names(text) if len(text) <= CACHED_CHARS else _latin_names.__wrapped__(text)


@lru_cache(maxsize=4096)
def _latin_names(text: str) -> dict[str, tuple[str, ...]]:
    names: dict[str, tuple[str, ...]] = {}
    words = [(m.start(), m.end(), _fold(m.group())) for m in _LATIN_WORD.finditer(text)]
    for k, (start, end, word) in enumerate(words):
        if not word[:1].isupper():
            continue
        names.setdefault(word.lower(), (word.lower(),))
        if k + 1 < len(words):
            nstart, _, nxt = words[k + 1]
            # one name: a capitalised word after a space ("Xiao Chen"), any word after a hyphen or an
            # apostrophe ("Xi'an")
            gap = text[end:nstart]
            if (gap == " " and nxt[:1].isupper()) or gap in ("-", "'", "’"):
                names.setdefault((word + nxt).lower(), (word.lower(), nxt.lower()))
    return names


def _fold(word: str) -> str:
    """Diacritics off ("Lǚ" -> "Lu")."""
    return "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")


@lru_cache(maxsize=1)
def syllables() -> frozenset[str]:
    """Every toneless pinyin syllable (about 400)."""
    return frozenset(r for spelled in readings().values() for r in spelled)


def spells_pinyin(word: str) -> bool:
    """Whether ``word`` (lower case) is pinyin syllables run together ("lele", "xiaochen"; not "what",
    "the"): a cheap test before spelling a text's spans, which only such a word can match."""
    return len(word) <= MAX_NAME and _spells_pinyin(word)


@lru_cache(maxsize=65536)
def _spells_pinyin(word: str) -> bool:
    known = syllables()
    reach = [True] + [False] * len(word)  # reach[i]: word[:i] is syllables
    for i in range(len(word)):
        if reach[i]:
            for j in range(i + 1, min(len(word), i + MAX_SYLLABLE) + 1):
                reach[j] = reach[j] or word[i:j] in known
    return len(word) > 0 and reach[-1]


def names_in(english: str) -> list[tuple[str, tuple[str, ...]]]:
    """The names of ``english`` that pinyin can spell: (the name, lower case and run together; its words)."""
    return [(name, words) for name, words in latin_names(english).items() if spells_pinyin(name)]


def shared_names(
    english: str,
    chinese: str,
    *,
    names: list[tuple[str, tuple[str, ...]]] | None = None,
    starts: Starts | None = None,
) -> list[tuple[tuple[str, ...], frozenset[str]]]:
    """The names ``english`` spells that ``chinese`` writes in Han characters: (the English words, the
    Chinese spans) of each. ``names`` (:func:`names_in` of ``english``) and ``starts``
    (:func:`reading_starts` of ``chinese``): the side that is the query, made once per search."""
    names = names_in(english) if names is None else names
    if not names:
        return []
    starts = reading_starts(chinese) if starts is None else starts
    found = []
    for name, words in names:
        spans = spans_spelled(chinese, name, starts)
        if spans:
            found.append((words, spans))
    return found
