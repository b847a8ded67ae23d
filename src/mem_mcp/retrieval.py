"""Pure retrieval logic: how vector and keyword evidence are fused into one score in [0, 1] (the terms
themselves are :mod:`mem_mcp.terms`'). No I/O here; ``store.py`` runs the queries, ``service.py``
composes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Literal, Sequence, get_args

import numpy as np

from . import aliases, lexicon, people, pinyin
from .calibration import (  # noqa: F401  (re-exported: retrieval is where callers look)
    BACKGROUND,
    Calibration,
    QueryCalibration,
    calibration_for,
    same_subject_for,
    span_for,
)
from .terms import _CJK_RE, _EN_STOP, PLAN_RE, _stem, fts_terms, language, query_terms, weighted_coverage


def load_across_tables() -> None:
    """Read the tables :func:`across_terms` uses (each is read once per process, on first use otherwise)."""
    pinyin.readings()
    if LEXICON and lexicon.installed():
        lexicon.lexicon()


@dataclass(frozen=True)
class AcrossQuery:
    """What :func:`across_terms` needs of the query, made once per search (a long query is not cached,
    and there is one call per candidate in the other language)."""

    lang: str
    terms: frozenset[str]
    #: en: the names the query spells in pinyin; zh: where its characters' readings occur
    names: list[tuple[str, tuple[str, ...]]]
    starts: pinyin.Starts | None
    #: zh: each dictionary word's terms and the stems of its senses; en: each term's stem
    words: list[tuple[tuple[str, ...], frozenset[str]]]
    stems: dict[str, str]


def across_query(
    query: str, terms: set[str], words: tuple[tuple[str, frozenset[str]], ...] | None = None
) -> AcrossQuery:
    """``words``: :func:`lexicon.words_of` of a Chinese query, where the caller has it already (a query
    over ``lexicon.CACHED_CHARS`` is cut anew on each call)."""
    lang = language(query)
    lex = LEXICON and lexicon.installed()
    if lang == "en":
        names, starts = pinyin.names_in(query), None
        words: list[tuple[tuple[str, ...], frozenset[str]]] = []
        stems = {t: _stem(t) for t in terms} if lex else {}
    else:
        names, starts, stems = [], pinyin.reading_starts(query), {}
        words = (
            [
                (tuple(fts_terms(w)), frozenset(_stem(e) for e in senses))
                for w, senses in (lexicon.words_of(query) if words is None else words)
                if senses
            ]
            if lex
            else []
        )
    return AcrossQuery(lang, frozenset(terms), names, starts, words, stems)


def across_terms(query: str, terms: set[str], text: str, prepared: AcrossQuery | None = None) -> set[str]:
    """The ``terms`` of ``query`` that ``text``, in the other language, covers all the same: a name the
    query writes in the other script ("Lele" in the query, "乐乐" in the memory, or the reverse:
    :mod:`mem_mcp.pinyin`), and with ``LEXICON`` a word the dictionary translates ("peanut" / "花生":
    :mod:`mem_mcp.lexicon`). ``prepared``: :func:`across_query` of the query and terms."""
    q = prepared if prepared is not None else across_query(query, terms)
    if q.lang == "en":
        covered = {w for words, _ in pinyin.shared_names(query, text, names=q.names) for w in words}
        if q.stems:
            stems = lexicon.covered(text, set(q.stems.values()))
            covered |= {t for t, st in q.stems.items() if st in stems}
    else:
        found = pinyin.shared_names(text, query, starts=q.starts)
        covered = {t for _, spans in found for span in spans for t in fts_terms(span)}
        if q.words:
            memory = {_stem(w) for w in _WORD_RE.findall(text.lower())}
            for word_terms, senses in q.words:
                if not senses.isdisjoint(memory):
                    covered.update(word_terms)
    return covered & q.terms


_WORD_RE = re.compile(r"[a-z]+")


#: The score below which a search leaves a memory out unless the caller asks otherwise (``min_score``):
#: a memory less similar to the query than the median unrelated background sentence that shares no
#: term with it either. It costs LoCoMo recall@10 little (held-out 0.731 at 0 and at 0.02, dev 0.765 /
#: 0.762; 0.720 at 0.2) and empties no never-mentioned question on a 300-fact user (their best match
#: scores above 0.3: something is always on a nearby topic). Nor does a gate on the best candidate's
#: calibrated similarity empty them without emptying the answers of small stores: at 0.6 it left 8-12%
#: of them empty, 0.3% of the answers, and the replacing fact of 8 of 46 change pairs saved
#: as text (it says "moved to", the question "where do I live"). bench/bilingual_facts.py.
DEFAULT_MIN_SCORE = 0.02
#: The ``recall_user_context`` prompt hands the model bare lines, not scored hits: only the results
#: scoring at least this share of the best. No absolute floor: a one-word topic scores low against its
#: memory ("food" 0.14 against a peanut allergy), so a floor that trims off-topic requests empties it.
#: Dev halves of sets A/B/C, top 8: answers kept 0.990/0.975/0.960 -> 0.988/0.970/0.955, lines 8 -> ~6.
#: bench/bilingual_facts.py, "recall prompt".
RECALL_SHARE = 0.5
#: Candidates a search takes from the vector search (at least; top_k x 4 if more, at most 200): 100, not
#: the 50 of the full-text search, so that an answer 60th by cosine can be found again by the fusion.
#: The yardsticks of a search are still those of the first ``REFERENCE_CANDIDATES`` nearest and the
#: full-text matches (``Candidate.reference``): the wider pool adds candidates, it does not re-weigh
#: the terms of the others. bench/bilingual_facts.py --what-if CANDIDATES=..., bench/ab_search.py.
CANDIDATES = 100
REFERENCE_CANDIDATES = 50
#: Candidates a search takes from the full-text search (at least; top_k x 4 if more, at most 200).
FTS_CANDIDATES = 50


#: Which evidence a search uses: both (fused), nearest neighbours only, or full-text matches only.
SearchMode = Literal["hybrid", "vector", "keyword"]
SEARCH_MODES: tuple[str, ...] = get_args(SearchMode)


@dataclass
class Candidate:
    """One memory row found by the vector search, the keyword search, or both. ``bm25`` is the
    full-text score where the keyword search found it."""

    row: dict
    cosine: float
    bm25: float | None = None
    #: Whether the search's own yardsticks (a term's document frequency, the mean length, the best
    #: same-language coverage, the ranks by cosine) count this candidate: False for a nearest neighbour
    #: past the first ``REFERENCE_CANDIDATES`` that the full-text search did not find too.
    reference: bool = True


# The hybrid ranking: a linear score over per-candidate features (:func:`ranking_features`), then
# context: the memory's run, its neighbours. Fit by coordinate ascent on recall@10 + nDCG@10 of
# LoCoMo's development split only (conversations 0-4; the held-out split 5-9 never saw them), with
# the semantic and keyword weights held at 0.5 so that the score keeps its meaning (a weighted mean
# of calibrated similarity and term coverage, in [0, 1]). Refit and check with
# ``bench/fit_fusion.py`` (its --help says how); BENCHMARKS.md has what each part is worth.
SEMANTIC_WEIGHT = 0.5
KEYWORD_WEIGHT = 0.5
#: 1 / (1 + rank) in the candidates' order by cosine, and by the store's BM25 score (0 for a memory
#: the full-text search did not return, or matched on stop words only): each list's top, which the
#: scores above blur.
VECTOR_RANK_WEIGHT = 0.02
KEYWORD_RANK_WEIGHT = 0.1
#: log(1 + words) of the memory, minus the candidates' mean: "Wow, cool!" rarely answers anything.
LENGTH_WEIGHT = 0.07
#: How much the mean of the best ``RUN_TOP`` scores of a memory's run (its session) counts, relative
#: to the best run's: a memory in a session that matches the query in several places is more likely
#: the one meant. Relative to the best run, so it only ever lowers scores: with one run it changes
#: nothing, with every memory in a run of its own it stretches the scores below the best one.
RUN_WEIGHT = 0.57
RUN_TOP = 3
CURRENT_RUN_BOOST = 0.05
#: How much of its best-scoring neighbour a candidate adds: neighbours are consecutive candidates (in
#: time) of the same run, i.e. the turns around it in one conversation that match the query too.
NEIGHBOUR_SHARE = 0.39

#: A memory in another language than the query can share no term with it, so its keyword evidence
#: is not zero but unknown: it gets ``CROSS_WEIGHT + CROSS_SEMANTIC_WEIGHT x semantic`` on top (what
#: a same-language memory of that similarity typically gets from its terms; Latin words such as
#: "iPhone" inside a Chinese memory still count as terms).
#: Without this, every same-language memory that shares a word with the question ("my", "喜欢")
#: outranks the answer saved in the other language. Fit with the rest (bench/fit_fusion.py).
#: Refit with the terms across languages below on (the bilingual development questions; 0.4 and 0.2
#: before): what those terms now show needs less of this credit for what they cannot.
CROSS_WEIGHT = 0.2
CROSS_SEMANTIC_WEIGHT = 0.1
#: A memory in the other language does cover a query term where it writes a name the query spells in the
#: other script (乐乐 / "Lele", 南山 / "Nanshan": :mod:`mem_mcp.pinyin`) or a Chinese word the dictionary
#: translates with the English term (花生 / "peanut": :mod:`mem_mcp.lexicon`, with ``LEXICON``): such a
#: term counts this share of its weight in the memory's keyword coverage (0 switches both off).
ACROSS_SHARE = 1.0
LEXICON = True
WORD_BIGRAMS = True
#: Names the candidates define ("用户的儿子叫乐乐"): a memory that writes the name covers the query terms of
#: the role, and one that writes the role those of the name (:mod:`mem_mcp.aliases`), at ``ACROSS_SHARE``.
ALIASES = True
#: With ``ALIASES``, the search also embeds the query with a defined person's name and role swapped
#: (``service.search.Search._with_people``): one more embedding, for such queries only; a candidate's
#: cosine is then this share of its cosine to the second query. Chosen on the development questions of
#: both bilingual sets (bench/bilingual_facts.py; the keep-the-closer max and 0.5 did no better).
ALIAS_QUERY = True
ALIAS_QUERY_SHARE = 0.3
#: A fact saved after another one on the same subject (memory-to-memory cosine at least the model's
#: ``same_subject``) most likely replaces it: "用户住在上海浦东", months later "用户搬到了深圳南山区".
#: :func:`with_recency` moves the newer just above the older where it scores less than
#: ``RECENCY_MARGIN x g`` below it, g = min(1, days between / RECENCY_DAYS): it only ever swaps the two,
#: so a boost cannot carry a newer fact above the answer of another question. Conversation turns (type
#: ``episodic``) are events, not states, and never swap.
RECENCY_MARGIN = 0.0
RECENCY_DAYS = 30.0
RECENCY_TOP = 20
#: The margin where the newer memory says it is a change ("现在", "搬到", "换了", "不再", "now",
#: "moved", "switched", "no longer"...): an assistant writing down a changed fact says so.
CHANGE_MARGIN = 0.75
_CHANGE_MARK = re.compile(
    r"现在|目前|如今|不再|改(?:喝|吃|用|成|学)|换(?:了|成|到)|搬(?:到|去|家|进)|转(?:到|行|学)|升职|离职|跳槽|戒了|放弃|变成|毕业了|已经毕业|结婚了|"
    r"新的?(?:手机|邮箱|号码|工作|地址)|"
    # "不学日语了", "不喝可乐了": no longer (only 不 is the mark: what follows is the subject)
    r"不(?=[\u4e00-\u9fff]{1,3}了)|卖(?:了|掉)|离开了|辞(?:职|去|掉)|加入了|分手|离婚|领养|"
    # "new", and "New" opening a sentence, but not inside a name ("Qianjiang New Town", "New York")
    r"(?<![A-Za-z] )\bNew\b(?! [A-Z]| [Yy]ear)|\bnew\b(?! year)|(?i:\b(?:now|no longer|any ?more|switched|moved|these days|gave up|left(?= \w+ and)|joined|"
    r"retrained|promoted|pulled out|dropped|withdrew|replaced|became|quit|relocated|divorced|resigned|took up|"
    r"transferred|gone off|as of|"
    r"cancelled|canceled|paused|sold|stopped|instead|broke up|adopted|registered|has started|changed)\b)"
)


#: A plan or a wish is no change yet: "用户在考虑明年跳槽" replaces nothing.
_PLAN = PLAN_RE


def states_a_change(text: str) -> bool:
    """Whether a memory says it is a change of something ("用户搬到了深圳", "The user now drives ..."),
    not a plan ("用户在考虑跳槽")."""
    return bool(_CHANGE_MARK.search(text)) and not _PLAN.search(text)


#: The names of :func:`ranking_features`' columns, in order.
FEATURES = ("semantic", "keyword", "vector_rank", "keyword_rank", "length", "cross_lingual", "cross_semantic")


def feature_weights() -> tuple[float, ...]:
    """The weights of :data:`FEATURES`, read from the module attributes at call time."""
    return (
        SEMANTIC_WEIGHT,
        KEYWORD_WEIGHT,
        VECTOR_RANK_WEIGHT,
        KEYWORD_RANK_WEIGHT,
        LENGTH_WEIGHT,
        CROSS_WEIGHT,
        CROSS_SEMANTIC_WEIGHT,
    )


def fuse(
    candidates: list[Candidate],
    query: str,
    calibration: QueryCalibration | None,
    *,
    rerank: bool,
    current_run: str | None,
    mode: SearchMode = "hybrid",
    slot_of: Callable[[dict], str | None] | None = None,
) -> list[tuple[dict, float]]:
    """Score candidates and rank them, best first; reported scores are clipped to [0, 1].

    ``hybrid`` with ``rerank``: the weighted sum of :func:`ranking_features` (calibrated similarity
    and idf-weighted query-term coverage, 0.5 each, plus small lifts for the top of each list and
    for longer memories) and a small lift for the caller's current run; then each memory adds
    ``NEIGHBOUR_SHARE`` of its best neighbour's score (the previous or next candidate of its run in
    time: an answer often spreads over adjacent turns), and last :func:`with_run_context` weighs in
    how well its run as a whole matches, and a newer memory that replaces an older one moves just above
    it (:func:`with_recency`; ``slot_of`` gives a memory row's single-valued slot). Without ``rerank``, and in ``vector`` mode, the score is
    the calibrated similarity alone. In ``keyword`` mode (no embedding, ``calibration`` None) it is
    the BM25 score relative to the best match. Ranking uses the unclipped values, so saturated
    scores keep their order; ties go to the newer memory.
    """
    if mode == "keyword" or calibration is None:
        top_bm25 = max((c.bm25 or 0.0 for c in candidates), default=0.0)
        raw = [(c.bm25 or 0.0) / top_bm25 if top_bm25 > 0 else 0.0 for c in candidates]
    else:
        raw = similarities(candidates, calibration)
        if rerank and mode == "hybrid":
            weights = feature_weights()
            features = ranking_features(candidates, query, raw)
            raw = [sum(w * f for w, f in zip(weights, row)) for row in features]
            if PERSON_WEIGHT:
                away = people.elsewhere(query, [c.row.get("text", "") for c in candidates])
                raw = [s - PERSON_WEIGHT * a for s, a in zip(raw, away)]
            if current_run:
                raw = [
                    s + (CURRENT_RUN_BOOST if c.row.get("run_id") == current_run else 0.0)
                    for s, c in zip(raw, candidates)
                ]
            raw = _with_neighbours(candidates, raw, NEIGHBOUR_SHARE)
            raw = with_run_context(candidates, raw, RUN_WEIGHT, RUN_TOP)
            raw = with_recency(candidates, raw, calibration.same_subject, RECENCY_MARGIN, slot_of)
    scored = [(c.row, s, round(min(1.0, max(0.0, s)), 6)) for c, s in zip(candidates, raw)]
    scored.sort(key=lambda item: (item[1], _ts(item[0].get("updated_at"))), reverse=True)
    return [(row, score) for row, _, score in scored]


def similarities(candidates: Sequence[Candidate], calibration: QueryCalibration) -> list[float]:
    """The calibrated similarity of each candidate to the query, unclipped."""
    return [calibration.raw(c.cosine, language(c.row.get("text", ""))) for c in candidates]


def ranking_features(candidates: Sequence[Candidate], query: str, semantic: Sequence[float]) -> list[tuple[float, ...]]:
    """Per candidate, the columns of :data:`FEATURES`: ``semantic`` (the calibrated similarity,
    given), idf-weighted query-term coverage, the reciprocal ranks by cosine and by BM25 (among the
    memories that contain a content term of the query), the memory's log length relative to the
    candidates' mean (:func:`content_length`), and for a memory in another language than the query the
    best coverage among the query-language candidates, alone and times its semantic similarity (0 and
    0 otherwise). A memory in the other language covers the query terms it writes in its own script
    (:func:`across_terms`, ``ACROSS_SHARE`` of their weight)."""
    docs = [c.row.get("fts_text", "") for c in candidates]
    query_lang = language(query)
    cross = [language(c.row.get("text", "")) != query_lang for c in candidates]
    terms = query_terms(query)
    words = lexicon.words_of(query) if query_lang == "zh" and LEXICON and lexicon.installed() else None
    if WORD_BIGRAMS and words is not None:
        inside = {t for word, _ in words for t in fts_terms(word)}
        terms = {t for t in terms if len(t) != 2 or not _CJK_RE.match(t) or t in inside}
    texts = [c.row.get("text", "") for c in candidates]
    extra = aliases.expansions(texts) if ALIASES else [""] * len(texts)
    prepared = across_query(query, terms, words) if any(cross) or any(extra) else None
    across = [across_terms(query, terms, t, prepared) if x else set() for t, x in zip(texts, cross)]
    # What a memory says by a name it writes is no word it writes: it counts towards no term's document
    # frequency (measured on the bilingual development questions: with it, "Mia" in every memory about the
    # daughter makes "Mia" itself weigh less, en->en 0.947 -> 0.939).
    implied = [_said_too(query, terms, more, prepared) if more else set() for more in extra]
    reference = [c.reference for c in candidates]
    keyword = weighted_coverage(terms, docs, across if ACROSS_SHARE else None, ACROSS_SHARE, implied, reference)
    by_vector = _reciprocal_ranks([c.cosine for c in candidates], reference)
    # A full-text hit on words the query shares with every memory ("the user ...") is no hit: a memory
    # in another language than the query could never have it.
    by_keyword = _reciprocal_ranks([c.bm25 if k > 0 else None for c, k in zip(candidates, keyword)])
    lengths = [math.log1p(content_length(doc)) for doc in docs]
    counted = [n for n, r in zip(lengths, reference) if r]
    mean = sum(counted) / len(counted) if counted else 0.0
    # What a memory in the query's language gets from its terms at best: the other language's
    # memories are credited in proportion (none at all where no memory shares a term with the query).
    best = max((k for k, x, r in zip(keyword, cross, reference) if r and not x), default=0.0)
    return [
        (s, k, v, b, n - mean, best if x else 0.0, s * best if x else 0.0)
        for s, k, v, b, n, x in zip(semantic, keyword, by_vector, by_keyword, lengths, cross)
    ]


def _said_too(query: str, terms: set[str], text: str, prepared: AcrossQuery | None) -> set[str]:
    """The query terms that ``text`` (what a memory says without writing it: :func:`aliases.expansions`)
    covers, in the query's language or across."""
    stems = {_stem(t) for t in fts_terms(text)}
    return {t for t in terms if _stem(t) in stems} | across_terms(query, terms, text, prepared)


def _dated(candidates: Sequence[Candidate]) -> tuple[list[int], np.ndarray, np.ndarray]:
    """The candidates that can replace or be replaced (not episodic, with a vector and a
    ``created_at``): their indexes, vectors and days since the epoch."""
    idx = [
        i
        for i, c in enumerate(candidates)
        if c.row.get("type") != "episodic"
        and c.row.get("vector") is not None
        and isinstance(c.row.get("created_at"), datetime)
    ]
    vecs = np.asarray([candidates[i].row["vector"] for i in idx], dtype=np.float32)
    days = np.asarray([_ts(candidates[i].row["created_at"]) / 86400.0 for i in idx])
    return idx, vecs, days


#: A newer memory that fills the same single-valued slot as an older one (``slot_of``: the offline
#: rules' keys, extraction/offline/keys.py: home, employer, drink, relationship...) replaces it, at any
#: cosine ("The user is single" / "The user has started dating Priya": 0.07): it moves just above the
#: older whatever the gap. So does a newer memory on the same subject (the model's ``same_subject``
#: cosine) that states a change and names what the older one says (a content term of both, other than
#: "用户" and the change words: "left Deloitte", "把朗逸卖了", "Dr ..."): it says what it replaces. Both
#: only between two candidates of the best ``RECENCY_TOP``, the newer saved after the older (the text
#: says it replaces it: seconds later is enough; the recency steps above want a day); turns never.
SLOT_SUPERSEDES = True
REFER_SUPERSEDES = True
#: The cosine such a change needs, as a share of ``same_subject``: a stated change and a shared term are
#: evidence of one subject already ("用户用的是小米手机" / "用户换了一部华为Mate手机": 0.32). BENCHMARKS.md.
REFER_SUBJECT_SHARE = 0.5
#: A change about one person replaces nothing about another (:func:`aliases.different_people`).
SAME_PERSON = True
#: Lowers a candidate first about someone the question does not ask about (people.elsewhere).
PERSON_WEIGHT = 0.1


def supersessions(
    candidates: Sequence[Candidate],
    same_subject: float | None,
    slot_of: Callable[[dict], str | None] | None = None,
    margin: float | None = None,
) -> list[tuple[int, int, float]]:
    """(newer, older, allowed) for every two candidates where the newer may replace the older: the
    largest gap in score across which the newer moves just above it. ``inf`` for a shared slot
    (``slot_of``) and for a change that names the older (see ``SLOT_SUPERSEDES``); ``CHANGE_MARGIN x
    g`` for another change on one subject, ``margin`` (default ``RECENCY_MARGIN``) x g for any memory
    on one subject (cosine at least ``same_subject``, a day apart; g = min(1, days between / RECENCY_DAYS))."""
    margin = RECENCY_MARGIN if margin is None else margin
    if same_subject is None:
        return []
    idx, vecs, days = _dated(candidates)
    if len(idx) < 2:
        return []
    cos = vecs @ vecs.T
    refer = same_subject * REFER_SUBJECT_SHARE
    slots = [slot_of(candidates[i].row) if slot_of is not None and SLOT_SUPERSEDES else None for i in idx]
    texts = [candidates[i].row.get("text", "") for i in idx]
    change = [states_a_change(t) for t in texts]
    terms: list[set[str] | None] = [None] * len(idx)
    out = []
    # What the text says needs the newer one saved after the older one; what time says, a day after.
    for a, b in zip(*np.nonzero(days[:, None] > days[None, :])):
        g = float(min(1.0, (days[a] - days[b]) / RECENCY_DAYS))
        if slots[a] is not None and slots[a] == slots[b]:
            allowed = math.inf
        elif change[a] and REFER_SUPERSEDES and cos[a, b] >= refer and _names(terms, texts, a, b):
            allowed = math.inf
        elif cos[a, b] >= same_subject and days[a] - days[b] >= 1.0:
            allowed = max(margin, CHANGE_MARGIN if change[a] else 0.0) * g
        else:
            continue
        # Last: the cheaper tests above leave few pairs to read for who they are about.
        if allowed > 0 and not (SAME_PERSON and aliases.different_people(texts[a], texts[b])):
            out.append((idx[a], idx[b], allowed))
    return out


def _names(terms: list[set[str] | None], texts: list[str], a: int, b: int) -> bool:
    """Whether texts ``a`` and ``b`` share a word that says what they are about (:func:`_subject_words`)."""
    for i in (a, b):
        if terms[i] is None:
            terms[i] = _subject_words(texts[i])
    return bool(terms[a] & terms[b])  # type: ignore[operator]


#: Words that say who or when, not what: a change that shares only these with an older memory does not
#: name it ("老公去年把烟戒了" names nothing of "丈夫去年送了用户一条手链"; "switched to iPhone three years ago"
#: nothing of "lived in Shanghai for three years"). English stems; a Chinese word whose senses are all
#: among them is one too.
_WHO_WHEN = frozenset(
    _stem(w)
    for w in (
        "he him his she her hers they them their theirs we us our ours year years month months week weeks day "
        "days ago last next every this today yesterday tomorrow morning evening night afternoon noon weekend "
        "weekends time times once twice recent recently lately one two three four five six seven eight nine ten"
    ).split()
)
#: Family (:data:`aliases.KIN`, and children, parents): who a memory is about, never what (a manager, a
#: teacher, a dentist can be what changes: "The user has a new manager called Marcus" names "The user's
#: manager is Helen"). A Chinese word with one of these senses (老公, 儿子) is one too.
_KIN = aliases.KIN | {_stem(w) for w in ("children", "parent", "parents")}
#: A Chinese word with one of these senses is a time (去年, 每天, 早上, 周末, 最近).
_WHEN = frozenset(
    _stem(w)
    for w in "year month week day weekend morning evening night afternoon noon today yesterday tomorrow everyday "
    "recently lately".split()
)
#: Characters that are no word of what a memory is about, where a Chinese run is read by its characters:
#: function words, numbers, times.
_ZH_FUNCTION = frozenset(
    "的了着过是在和跟与给被把对从向也都还就又才很最太不没有要会能想个只这那每一二三四五六七八九十两几半年月日天周号点"
)
_NUMBER = re.compile(r"\d{1,4}")


def _subject_words(text: str) -> set[str]:
    """The words of a memory that can say what it is about: English words (stems, 2+ letters) other than
    stop words, :data:`_WHO_WHEN`'s and :data:`_KIN`'s; Chinese dictionary words of two or more characters
    other than family (老公) or a time (去年, 每天), and the bigrams of what the dictionary reads only
    character by character (朗逸, 阿杰); not "用户", a change word, or a short number."""
    bare = _CHANGE_MARK.sub(" ", text).replace("用户", " ")
    found = fts_terms(bare)
    out = {
        _stem(t)
        for t in found
        if len(t) > 1 and not _CJK_RE.match(t) and t not in _EN_STOP and not _NUMBER.fullmatch(t)
    }
    out -= _WHO_WHEN | _KIN
    if not (LEXICON and lexicon.installed()):
        return out | {t for t in found if len(t) == 2 and _CJK_RE.match(t)}
    for run in lexicon._HAN_RUN.findall(bare):
        single = ""
        for word, senses in (*lexicon.words_of(run), ("", frozenset())):
            if len(word) == 1 and word not in _ZH_FUNCTION:
                single += word
                continue
            out.update(single[i : i + 2] for i in range(len(single) - 1))
            single = ""
            stems = {_stem(s) for s in senses}
            if len(word) > 1 and not stems & (_KIN | _WHEN) and not (stems and stems <= _WHO_WHEN | _EN_STOP):
                out.add(word)
    return out


def with_recency(
    candidates: Sequence[Candidate],
    scores: list[float],
    same_subject: float | None,
    margin: float,
    slot_of: Callable[[dict], str | None] | None = None,
) -> list[float]:
    """Each newer memory of :func:`supersessions` that scores less than its allowed gap below the
    older one is moved just above it (``margin`` is ``RECENCY_MARGIN``'s value for this call). Judged
    on the scores given, so moves do not chain (a newer memory lifted above an older one lifts
    nothing else); the older keeps its score."""
    out = list(scores)
    # Only the best RECENCY_TOP candidates can swap: what the page shows (and 5x cheaper than all).
    top = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)[:RECENCY_TOP]
    for new, old, allowed in supersessions([candidates[i] for i in top], same_subject, slot_of, margin):
        new, old = top[new], top[old]
        if scores[new] <= scores[old] and scores[old] - scores[new] < allowed:
            out[new] = max(out[new], scores[old] + 1e-6)
    return out


def content_length(document_terms: str) -> float:
    """How much a memory says, in words, from its ``fts_text``: Latin-script words other than stop
    words, plus its CJK characters other than function characters / 1.5 (a Chinese word is about 1.5
    characters; the CJK bigrams of the index are not counted), so that the same statement weighs
    about the same in Chinese and in English."""
    n = 0.0
    for term in document_terms.split():
        if term in _EN_STOP:
            continue
        # The pattern only where a CJK range can start (not for every Latin word of every candidate).
        if term[0] >= "\u3040" and _CJK_RE.match(term):
            n += 1 / 1.5 if len(term) == 1 else 0.0
        else:
            n += 1.0
    return n


#: Whether saved facts (every type but ``episodic``, each a run of its own) take the run context too:
#: for them it is no context, only a stretch of their scores below the best run's (order kept), which
#: pushed a second relevant fact under the relevance floor ("Do I eat meat?": "The user became
#: vegetarian in January" at 0 beside "The user eats meat"). Off: facts keep their fused score.
FACT_RUN_CONTEXT = False


def with_run_context(candidates: Sequence[Candidate], scores: list[float], weight: float, top: int) -> list[float]:
    """Each conversation turn's score plus ``weight`` x (the mean of the best ``top`` scores among the
    candidates of its run, itself included, minus the best run's). Never raises a score, and is a plain
    shift where all turns share one run; saved facts keep theirs (see ``FACT_RUN_CONTEXT``)."""
    if weight == 0 or not scores:
        return scores
    in_runs = [FACT_RUN_CONTEXT or c.row.get("type", "episodic") == "episodic" for c in candidates]
    by_run: dict[object, list[float]] = {}
    for cand, s, x in zip(candidates, scores, in_runs):
        if x:
            by_run.setdefault(_run_key(cand.row), []).append(s)
    if not by_run:
        return scores
    context = {
        run: sum(best) / len(best) for run, vals in by_run.items() for best in [sorted(vals, reverse=True)[:top]]
    }
    best_run = max(context.values())
    return [
        s + weight * (context[_run_key(c.row)] - best_run) if x else s for c, s, x in zip(candidates, scores, in_runs)
    ]


def _reciprocal_ranks(values: Sequence[float | None], reference: Sequence[bool] | None = None) -> list[float]:
    """1 / (1 + rank) by descending value (first = 1.0; equal values share the better rank); 0.0 where
    the value is None. A rank counts the values above it (with ``reference``, only those it marks)."""
    marks = reference if reference is not None else [True] * len(values)
    counted = np.sort(np.array([v for v, r in zip(values, marks) if r and v is not None], dtype=np.float64))
    above = len(counted) - np.searchsorted(counted, [0.0 if v is None else v for v in values], side="right")
    return [0.0 if v is None else 1.0 / (1 + int(a)) for v, a in zip(values, above)]


def _run_key(row: dict) -> tuple[object, ...]:
    """The run a memory shares context with. Only conversation turns (type ``episodic``) do: a saved
    fact says all it means by itself, so each other memory is a run of its own (no neighbours, and no
    run context unless ``FACT_RUN_CONTEXT``)."""
    if row.get("type", "episodic") != "episodic":
        return row.get("agent_id"), row.get("run_id"), row.get("row_key")
    return row.get("agent_id"), row.get("run_id")


def _with_neighbours(candidates: list[Candidate], scores: list[float], share: float) -> list[float]:
    if share <= 0:
        return scores
    by_run: dict[object, list[int]] = {}
    for i, cand in enumerate(candidates):
        by_run.setdefault(_run_key(cand.row), []).append(i)
    out = list(scores)
    for members in by_run.values():
        members.sort(key=lambda i: (_ts(candidates[i].row.get("created_at")), str(candidates[i].row.get("row_key"))))
        for a, b in zip(members, members[1:]):
            out[a] = max(out[a], scores[a] + share * max(0.0, scores[b]))
            out[b] = max(out[b], scores[b] + share * max(0.0, scores[a]))
    return out


def _ts(value: datetime | None) -> float:
    return value.timestamp() if isinstance(value, datetime) else -math.inf


def recall_threshold(scores: Sequence[float]) -> float:
    """The score a result needs to go into the ``recall_user_context`` prompt, given all the results'
    scores: ``RECALL_SHARE`` of the best one (0 for no results)."""
    return RECALL_SHARE * max(scores, default=0.0)
