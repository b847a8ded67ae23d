"""The console in a real browser: headless Chromium (Debian's) driven by Playwright against a real
`mem-mcp ui` process over a data directory seeded with the default embedding model. Every element is
found by its accessible role and name, as a screen reader or keyboard user would find it."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Iterator

import pytest

from console_harness import Console, Seeded, seed  # noqa: E402

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed(tmp_path_factory.mktemp("console") / "data")


@pytest.fixture(scope="module")
def console(seeded: Seeded) -> Iterator[Console]:
    proc = Console(seeded.data)
    try:
        yield proc
    finally:
        proc.stop()


def rows(page: Any) -> Any:
    return page.get_by_role("table").first.locator("tbody tr")


def search(page: Any, console: Console, query: str) -> None:
    page.goto(f"{console.url}/memories")
    page.get_by_role("searchbox", name="Search memories").fill(query)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("Results for"))).to_be_visible()


def test_list_shows_memories_newest_first_with_their_conversation(page: Any, console: Console, seeded: Seeded) -> None:
    page.goto(f"{console.url}/memories")
    expect(page.get_by_role("heading", name="Memories", exact=True)).to_be_visible()
    expect(page.get_by_role("searchbox", name="Search memories")).to_be_visible()
    texts = rows(page).locator("td.text").all_inner_texts()
    order = [
        texts.index(t) for t in ("Bulk note two about gardening", "Bulk note one about gardening", "用户对花生过敏")
    ]
    assert order == sorted(order)  # the last saved first
    assert "用户对花生过敏" in texts and "Bob keeps bees on his roof" not in texts  # only the default tenant
    row = rows(page).filter(has_text="The user's home is in Hangzhou")
    expect(row.get_by_role("cell", name="default / default", exact=True)).to_be_visible()  # agent / run
    expect(row.get_by_role("link", name="Edit")).to_be_visible()
    expect(row.get_by_role("button", name="Delete")).to_be_visible()

    page.get_by_label("Type").select_option("note")
    page.get_by_role("button", name="Apply filters").click()
    assert sorted(rows(page).locator("td.text").all_inner_texts()) == [
        "Bulk note one about gardening",
        "Bulk note two about gardening",
    ]

    page.goto(f"{console.url}/memories")
    page.get_by_label("Tenant").fill("*")  # an admin (the local user) lists every tenant
    page.get_by_role("button", name="Apply filters").click()
    expect(rows(page).filter(has_text="Bob keeps bees on his roof")).to_have_count(1)


def test_search_finds_memories_across_languages(page: Any, console: Console) -> None:
    search(page, console, "Which tea does the user like?")
    assert rows(page).first.locator("td.text").inner_text() == "用户喜欢喝乌龙茶"
    search(page, console, "用户的女儿叫什么名字？")
    assert rows(page).first.locator("td.text").inner_text() == "The user's daughter is called Mia"


def test_edit_saves_a_new_version_and_the_history_shows_the_old_text(
    page: Any, console: Console, seeded: Seeded
) -> None:
    page.goto(f"{console.url}/memories")
    rows(page).filter(has_text="daughter is called Mia").get_by_role("link", name="Edit").click()
    text = page.get_by_role("textbox", name="Text")
    expect(text).to_be_focused()
    text.fill("The user's daughter is called Mia; she is seven")
    page.get_by_role("textbox", name="Tags").fill("family, kids")
    page.get_by_role("button", name="Save").click()

    expect(page.locator("p.flash[role=status]")).to_contain_text("Saved version 2")
    expect(page.locator("#memory-text")).to_have_text("The user's daughter is called Mia; she is seven")
    history = page.get_by_role("table").locator("tbody tr")
    expect(history).to_have_count(2)
    expect(history.nth(1)).to_contain_text("UPDATE")
    expect(history.nth(1).get_by_role("cell", name="The user's daughter is called Mia", exact=True)).to_be_visible()
    expect(page.get_by_text("kids", exact=True)).to_be_visible()

    # The Edit button opens and closes the form (keyboard users reach it the same way).
    edit = page.get_by_role("button", name="Edit")
    expect(edit).to_have_attribute("aria-expanded", "false")
    edit.click()
    expect(page.get_by_role("textbox", name="Text")).to_be_visible()
    expect(edit).to_have_attribute("aria-expanded", "true")


def test_delete_asks_first_then_the_memory_leaves_search_and_keeps_its_history(
    page: Any, console: Console, seeded: Seeded
) -> None:
    search(page, console, "How does the user get to work?")
    row = rows(page).filter(has_text="blue bicycle")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete this memory?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(rows(page).filter(has_text="blue bicycle")).to_have_count(1)  # cancelled: nothing changed

    rows(page).filter(has_text="blue bicycle").get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator("p.flash[role=status]")).to_contain_text("Deleted 1 memories")
    expect(rows(page).filter(has_text="blue bicycle")).to_have_count(0)  # the search ran again, without it

    page.goto(f"{console.url}/memories/{seeded.ids['bicycle']}?store=default")
    expect(page.get_by_role("heading", name=re.compile("Memory"))).to_contain_text("deleted")
    history = page.get_by_role("table").locator("tbody tr")
    expect(history).to_have_count(2)
    expect(history.nth(1)).to_contain_text("DELETE")
    expect(page.get_by_role("button", name="Edit")).to_have_count(0)  # a deleted memory is not edited


def test_bulk_select_and_delete(page: Any, console: Console) -> None:
    page.goto(f"{console.url}/memories?tag=bulk")
    expect(rows(page)).to_have_count(2)
    page.get_by_role("checkbox", name="Select all shown").check()
    page.get_by_role("button", name="Delete selected").click()
    page.get_by_role("dialog", name="Delete these memories?").get_by_role("button", name="Delete").click()
    expect(page.locator("p.flash[role=status]")).to_contain_text("Deleted 2 memories")
    expect(page.get_by_text("No memories here yet.")).to_be_visible()


def test_language_follows_the_browser_and_switches(page: Any, console: Console) -> None:
    page.set_extra_http_headers({"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    page.goto(f"{console.url}/memories")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("searchbox", name="搜索记忆")).to_be_visible()
    row = rows(page).filter(has_text="The user's home is in Hangzhou")
    expect(row.get_by_role("link", name="编辑")).to_be_visible()
    expect(row.get_by_role("button", name="删除")).to_be_visible()
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("searchbox", name="Search memories")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/memories$"))  # back where the switch was used
    page.goto(f"{console.url}/activity")
    expect(page.get_by_role("heading", name="Activity")).to_be_visible()  # the choice sticks
    page.get_by_role("link", name="中文").click()
    expect(page.get_by_role("heading", name="活动")).to_be_visible()


def test_request_log_and_retrying_a_failed_extraction(page: Any, console: Console, seeded: Seeded) -> None:
    page.goto(f"{console.url}/activity")
    job = page.locator(f'tr[data-request-id="{seeded.failed_request}"]')
    expect(job).to_contain_text("failed")
    expect(job).to_contain_text("EXTRACTION")
    page.get_by_label("Operation").select_option("AddMemories")
    page.get_by_role("button", name="Filter").click()
    log = page.locator("table.log tbody tr")
    expect(log.first).to_contain_text("AddMemories")
    assert {c.strip() for c in log.locator("td:nth-child(2)").all_inner_texts()} == {"AddMemories"}
    expect(log.filter(has_text="failed")).to_have_count(1)

    page.goto(f"{console.url}/activity")
    page.locator(f'tr[data-request-id="{seeded.failed_request}"]').get_by_role("button", name="Retry").click()
    expect(page.locator("p.flash[role=status]")).to_contain_text(f"Request {seeded.failed_request} is queued again")
    for _ in range(60):  # the console's offline extractor runs the job in the background
        page.reload()
        job = page.locator(f'tr[data-request-id="{seeded.failed_request}"]')
        if "done" in job.inner_text():
            break
        page.wait_for_timeout(500)
    expect(job).to_contain_text("done")
    expect(job.get_by_role("button", name="Retry")).to_have_count(0)
    page.get_by_label("Operation").select_option("RetryRequest")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.log tbody tr").first).to_contain_text("console")  # who did it


def test_overview_draws_counts_and_charts(page: Any, console: Console) -> None:
    page.goto(f"{console.url}/")
    expect(page.get_by_role("row", name=re.compile(r"^default"))).to_be_visible()
    saved = page.get_by_role("img", name=re.compile("Memories saved per day"))
    expect(saved).to_be_visible()
    assert saved.locator("rect.bar").count() == 14
    expect(page.get_by_role("img", name=re.compile("Searches per day"))).to_be_visible()


def test_profiles_show_values_with_their_history(page: Any, console: Console) -> None:
    page.goto(f"{console.url}/profiles")
    row = page.get_by_role("row", name=re.compile("居住地"))
    expect(row.get_by_role("cell", name="上海", exact=True)).to_be_visible()
    expect(row).to_contain_text("杭州")  # the earlier value, in the history
    expect(page.get_by_role("row", name=re.compile("职业"))).to_contain_text("unknown")


def test_a_script_in_a_memory_shows_as_text(page: Any, console: Console, seeded: Seeded) -> None:
    page.goto(f"{console.url}/memories")
    expect(rows(page).filter(has_text="<script>window.__xss = 1;")).to_have_count(1)
    page.goto(f"{console.url}/memories/{seeded.ids['script']}?store=default")
    expect(page.locator("#memory-text")).to_contain_text("<script>window.__xss = 1; alert('xss')</script>")
    assert page.evaluate("window.__xss") is None  # and the page fixture saw no alert()


def test_screenshot_for_the_readme(page: Any, console: Console) -> None:
    """The README's picture of the console, taken when MEM_MCP_UI_SCREENSHOT names where to write it."""
    target = os.environ.get("MEM_MCP_UI_SCREENSHOT")
    search(page, console, "Which tea does the user like?")
    assert rows(page).first.locator("td.text").inner_text() == "用户喜欢喝乌龙茶"
    if target:
        page.set_viewport_size({"width": 1280, "height": 760})
        page.screenshot(path=target)


def test_export_the_shown_memories_and_import_a_file_with_progress(page: Any, console: Console, tmp_path: Path) -> None:
    page.goto(f"{console.url}/memories?tag=health")
    with page.expect_download() as info:
        page.get_by_role("link", name="Export shown (JSON Lines)").click()
    exported = [json.loads(line) for line in Path(info.value.path()).read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in exported] == ["用户对花生过敏"]  # only what the filter showed

    records = [
        {**exported[0], "id": f"mem_imported{i:03d}", "text": f"Imported memory number {i}", "tags": ["imported"]}
        for i in range(150)
    ]
    upload = tmp_path / "memories.jsonl"
    upload.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    page.goto(f"{console.url}/memories")
    page.get_by_label("JSON Lines file from an export").set_input_files(str(upload))
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-status")).to_have_text("Imported 150 memories.", timeout=60_000)
    progress = page.get_by_role("progressbar", name="Import progress")
    assert progress.get_attribute("value") == progress.get_attribute("max") == "150"
    page.goto(f"{console.url}/memories?tag=imported")
    expect(page.get_by_role("heading", name="1–25 of 150")).to_be_visible()

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(records[0]) + "\n\n" + json.dumps({**records[1], "text": ""}) + "\n", encoding="utf-8")
    page.goto(f"{console.url}/memories")
    page.get_by_label("JSON Lines file from an export").set_input_files(str(bad))
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-status")).to_contain_text(
        "line 3", timeout=30_000
    )  # the file's line, not the record's
