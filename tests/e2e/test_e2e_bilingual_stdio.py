"""End to end over stdio (issue 11): a question in one language finds the memory saved in the other one
first, and a changed fact saved as text replaces the old one (or, where the server cannot tell, the
answer names the similar older memory). One server process (the real default model, offline), driven by the SDK
client like an MCP host."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from test_e2e_stdio import call, search, server, texts

# Facts of one user in both languages, with neighbours that share words with the questions.
FACTS = [
    "用户对花生严重过敏",
    "用户的女儿叫米娅，今年六岁",
    "用户每周打两次羽毛球",
    "用户的名字叫陈浩",
    "The user's dog is called Lucky",
    "The user works as a nurse at a children's hospital",
    "The user's son is afraid of the dark",
    "The user drinks two cups of black coffee every morning",
    "乐乐的生日是十月二号",
    "The user's birthday is on the fifteenth of August",
]
SON = "用户的儿子叫乐乐，今年三岁"
HOME_OLD = "用户住在上海浦东"
HOME_NEW = "用户上个月从上海搬到了深圳南山区"
ALLERGIES = ["用户对花生严重过敏", "The user is allergic to shellfish, especially shrimp", "用户的母亲住在杭州"]
CAT = "The user has a cat named Mochi"
CAT_NEW = "Mochi died, and the user adopted a rabbit called Bun"


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data_dir: Path = tmp_path_factory.mktemp("e2e-bilingual") / "data"

    async def run() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with server(data_dir) as client:
            for text in FACTS:
                await call(client, "add_memories", {"text": text})
            out["en_to_zh"] = await search(client, "Which nut am I allergic to?")
            out["zh_to_en"] = await search(client, "我的狗叫什么名字？")
            out["en_daughter"] = await search(client, "What is my daughter's name?")
            out["zh_job"] = await search(client, "我是做什么工作的？")
            out["en_name"] = await search(client, "When is Lele's birthday?")
            # A name the store defines later: 乐乐 is the son, so "乐乐的生日…" answers a question about the son.
            await call(client, "add_memories", {"text": SON})
            out["en_son"] = await search(client, "When is my son's birthday?")
            out["zh_son"] = await search(client, "我儿子怕什么？")
            out["home_first"] = (await call(client, "add_memories", {"text": HOME_OLD}))["events"]
            out["home_change"] = (await call(client, "add_memories", {"text": HOME_NEW}))["events"]
            out["home_search"] = await search(client, "用户现在住在哪里")
            out["home_en"] = await search(client, "Where do I live now?")
            out["home_history"] = await call(
                client, "memory_history", {"memory_id": out["home_change"][0]["memory_id"]}
            )
            out["cat"] = (await call(client, "add_memories", {"text": CAT}))["events"]
            out["cat_change"] = (await call(client, "add_memories", {"text": CAT_NEW}))["events"]
            out["cat_search"] = await search(client, "What pet do I have now?")
            # Another user, with a neighbour the English question alone ranks first; the calling model
            # passes the question in Chinese too.
            other = {"scope": {"tenant_id": "translated"}}
            for text in ALLERGIES:
                await call(client, "add_memories", {"text": text, **other})
            out["nut_alone"] = await search(client, "Which nut am I allergic to?", **other)
            out["nut_translated"] = await search(
                client, "Which nut am I allergic to?", translation="我对哪种坚果过敏？", **other
            )
            out["tools"] = {t.name: t for t in (await client.list_tools()).tools}
        return out

    return asyncio.run(run())


def test_an_english_question_finds_the_chinese_memory_first(session: dict[str, Any]) -> None:
    assert texts(session["en_to_zh"])[0] == "用户对花生严重过敏"
    assert texts(session["en_daughter"])[0] == "用户的女儿叫米娅，今年六岁"
    # A name spelled in pinyin finds the memory that writes it in Han characters, not the English
    # memory about a birthday.
    assert texts(session["en_name"])[0] == "乐乐的生日是十月二号"


def test_a_name_the_store_defines_stands_for_the_person(session: dict[str, Any]) -> None:
    # "乐乐的生日是十月二号" never says "son"; the user's own birthday does say "birthday", in English.
    assert texts(session["en_son"])[0] == "乐乐的生日是十月二号"
    assert texts(session["zh_son"])[0] == "The user's son is afraid of the dark"


def test_a_chinese_question_finds_the_english_memory_first(session: dict[str, Any]) -> None:
    # Not "用户的名字叫陈浩", which shares 名字 with the question.
    assert texts(session["zh_to_en"])[0] == "The user's dog is called Lucky"
    assert texts(session["zh_job"])[0] == "The user works as a nurse at a children's hospital"


def test_a_changed_home_saved_as_text_replaces_the_old_one(session: dict[str, Any]) -> None:
    first, change = session["home_first"][0], session["home_change"][0]
    assert first["event"] == "ADD"
    assert change["event"] == "UPDATE" and change["memory_id"] == first["memory_id"]
    assert change["old_text"] == HOME_OLD and change["text"] == HOME_NEW
    found = texts(session["home_search"])
    assert found[0] == HOME_NEW and HOME_OLD not in found  # the old version left search...
    assert texts(session["home_en"])[0] == HOME_NEW
    versions = [e["text"] for e in session["home_history"]["entries"]]
    assert HOME_OLD in versions and HOME_NEW in versions  # ...and is kept in the history


def test_a_change_the_server_cannot_key_lists_the_similar_memory_and_outranks_it(session: dict[str, Any]) -> None:
    cat, change = session["cat"][0], session["cat_change"][0]
    assert change["event"] == "ADD"
    similar = {s["memory_id"]: s for s in change["similar"]}
    assert cat["memory_id"] in similar and similar[cat["memory_id"]]["text"] == CAT
    assert 0 < similar[cat["memory_id"]]["score"] <= 1
    # Saved the same minute, so no recency: both stay active; the caller is told which one to review.
    assert CAT in texts(session["cat_search"]) and CAT_NEW in texts(session["cat_search"])
    description = session["tools"]["add_memories"].description or ""
    assert "similar" in description and "update_memory" in description


def test_the_query_in_the_other_language_puts_the_answer_first(session: dict[str, Any]) -> None:
    assert texts(session["nut_alone"])[0] == "The user is allergic to shellfish, especially shrimp"
    assert texts(session["nut_translated"])[0] == "用户对花生严重过敏"
    tool = session["tools"]["search_memories"]
    assert "translation" in tool.input_schema["properties"]
    assert "translation" in (tool.description or "")
