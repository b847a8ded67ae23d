"""The core service on real LanceDB in tmp_path, with the deterministic HashEmbedder."""

from __future__ import annotations

import multiprocessing

import pytest

from mem_mcp.config import Settings
from mem_mcp.errors import (
    AlreadyExistsError,
    EmbeddingMismatchError,
    EmptyTextError,
    InvalidArgumentError,
    InvalidFilterError,
    InvalidScopeError,
    MemoryNotFoundError,
    StoreNotFoundError,
    TextTooLongError,
)
from mem_mcp.scope import ScopeDefaults
from mem_mcp.service import AsyncMemoryService, CallContext, MemoryService

from fakes import HashEmbedder, NoopExtractor

ALICE = {"app_id": "app", "tenant_id": "alice", "agent_id": "claude", "run_id": "r1"}


def _total(svc: MemoryService, **kw) -> int:
    return svc.list_memories(scope={"app_id": "app", "tenant_id": "alice"}, **kw).total


# -- stores ---------------------------------------------------------------------------------------


def test_default_store_exists_from_the_first_call(service):
    names = [s.name for s in service.list_stores().stores]
    assert names == ["default"]
    store = service.get_store("default")
    assert store.embedding_model == "test/hash-64" and store.embedding_dim == 64 and store.memory_count == 0


def test_store_lifecycle(service):
    created = service.create_store("项目-a", description="work", extraction_strategies=["fact", "tool"])
    assert created.name == "项目-a" and created.extraction_strategies == ["fact", "tool"]
    service.add_memories(text="uses pytest", store="项目-a", scope=ALICE)
    updated = service.update_store("项目-a", description="work stuff", short_term_ttl=7)
    assert updated.description == "work stuff" and updated.short_term_ttl == 7
    assert service.get_store("项目-a").memory_count == 1
    with pytest.raises(AlreadyExistsError):
        service.create_store("项目-a")
    deleted = service.delete_store("项目-a")
    assert deleted.memories_deleted == 1
    with pytest.raises(StoreNotFoundError, match="create_memory_store"):
        service.get_store("项目-a")


@pytest.mark.parametrize("name", ["", "a b", "x/y", ".hidden", "a" * 65])
def test_bad_store_names(service, name):
    with pytest.raises(InvalidArgumentError) as err:
        service.create_store(name)
    assert err.value.field == "name"


def test_default_store_cannot_be_deleted_and_bad_strategies_rejected(service):
    with pytest.raises(InvalidArgumentError, match="default"):
        service.delete_store("default")
    with pytest.raises(InvalidArgumentError, match="Unknown extraction strategies"):
        service.create_store("s", extraction_strategies=["telepathy"])
    custom = {"name": "travel", "type": "preference", "extraction_prompt": "trips", "description": "d"}
    store = service.create_store("s", extraction_strategies=["fact", "travel"], custom_strategies=[custom])
    assert store.custom_strategies[0].name == "travel"


# -- add, search, list ------------------------------------------------------------------------------


def test_add_text_then_search_list_get(service):
    added = service.add_memories(text="用户喜欢喝咖啡", scope=ALICE, metadata={"source": "chat"}, tags=["drink"])
    assert [e.event for e in added.events] == ["ADD"]
    mid = added.events[0].memory_id
    service.add_memories(text="The user has a dog named Max", scope=ALICE, type="profile")

    hits = service.search_memories(query="咖啡", scope={"app_id": "app", "tenant_id": "alice"}).results
    assert (
        hits[0].memory.id == mid and hits[0].memory.metadata == {"source": "chat"} and hits[0].memory.tags == ["drink"]
    )
    assert all(0.0 <= h.score <= 1.0 for h in hits)

    page = service.list_memories(scope={"app_id": "app", "tenant_id": "alice"}, limit=1)
    assert page.total == 2 and len(page.memories) == 1 and page.memories[0].text == "The user has a dog named Max"
    assert service.get_memory(mid, scope=ALICE).text == "用户喜欢喝咖啡"


def test_same_text_twice_is_none_not_a_duplicate(service):
    first = service.add_memories(text="The user is vegetarian", scope=ALICE)
    again = service.add_memories(text="  The user is vegetarian ", scope=ALICE)
    assert again.events[0].event == "NONE" and again.events[0].memory_id == first.events[0].memory_id
    assert _total(service) == 1


def test_scope_isolation_and_wildcards(service):
    service.add_memories(text="alice run one", scope=ALICE)
    service.add_memories(text="alice run two", scope={**ALICE, "run_id": "r2"})
    service.add_memories(text="bob secret", scope={**ALICE, "tenant_id": "bob"})
    everywhere = service.search_memories(query="run", scope={"app_id": "app", "tenant_id": "alice", "run_id": "*"})
    assert {h.memory.text for h in everywhere.results} == {"alice run one", "alice run two"}
    only_r2 = service.search_memories(query="run", scope={"app_id": "app", "tenant_id": "alice", "run_id": "r2"})
    assert [h.memory.text for h in only_r2.results] == ["alice run two"]
    with pytest.raises(InvalidScopeError):
        service.get_memory("x", scope={**ALICE, "tenant_id": "*"})


def test_by_id_operations_reach_a_memory_from_a_later_conversation(service):
    """Saved in chat A; found, read, changed and forgotten by id in chat B (another run, another client)."""
    chat_a = CallContext(defaults=ScopeDefaults(app_id="app", tenant_id="alice", agent_id="claude-ai", run_id="chat-a"))
    chat_b = CallContext(defaults=ScopeDefaults(app_id="app", tenant_id="alice", agent_id="cursor", run_id="chat-b"))
    mid = service.add_memories(text="The user likes coffee", ctx=chat_a).events[0].memory_id
    assert service.get_memory(mid, ctx=chat_b).scope.run_id == "chat-a"
    upd = service.update_memory(mid, text="The user likes tea", ctx=chat_b)
    assert upd.events[0].old_text == "The user likes coffee" and upd.memory.scope.agent_id == "claude-ai"
    assert [e.event for e in service.memory_history(mid, ctx=chat_b).entries] == ["ADD", "UPDATE"]
    assert service.delete_memory(mid, ctx=chat_b).events[0].event == "DELETE"
    # The request log shows the memory's own scope, not a wildcard.
    logged = [
        r
        for r in service.list_requests(scope={"app_id": "app", "tenant_id": "alice"}, limit=20).requests
        if r.operation in ("GetMemory", "UpdateMemory", "DeleteMemory", "MemoryHistory")
    ]
    assert len(logged) == 4 and {r.scope.run_id for r in logged} == {"chat-a"}
    # A caller that sends a scope is held to it; the tenant is the isolation boundary.
    with pytest.raises(MemoryNotFoundError):
        service.get_memory(mid, scope={"run_id": "chat-b"}, ctx=chat_b)
    bob = CallContext(defaults=ScopeDefaults(app_id="app", tenant_id="bob", agent_id="claude-ai", run_id="chat-a"))
    with pytest.raises(MemoryNotFoundError):
        service.get_memory(mid, ctx=bob)


def test_an_id_in_two_scopes_asks_for_the_scope(service):
    record = {"id": "mem_same", "text": "imported", "scope": {**ALICE, "run_id": "r1"}}
    service.import_memories([record, {**record, "scope": {**ALICE, "run_id": "r2"}}])
    with pytest.raises(InvalidScopeError, match="2 scopes") as info:
        service.get_memory("mem_same", scope={"app_id": ALICE["app_id"], "tenant_id": ALICE["tenant_id"]})
    assert info.value.field == "scope"
    assert service.get_memory("mem_same", scope={**ALICE, "run_id": "r2"}).scope.run_id == "r2"


def test_current_run_counts_for_more(service):
    service.add_memories(text="the user likes tea", scope={**ALICE, "run_id": "old"})
    service.add_memories(text="the user likes tea", scope={**ALICE, "run_id": "now"})
    ctx = CallContext(ScopeDefaults(app_id="app", tenant_id="alice", agent_id="claude", run_id="now"))
    hits = service.search_memories(query="likes tea", ctx=ctx).results
    assert hits[0].memory.scope.run_id == "now"


def test_search_options(service):
    for i, (text, mtype) in enumerate(
        [("likes green tea", "preference"), ("tea plantation visit", "episodic"), ("uses git daily", "tool")]
    ):
        service.add_memories(text=text, type=mtype, scope=ALICE, metadata={"n": i})
    scope = {"app_id": "app", "tenant_id": "alice"}
    assert {h.memory.type for h in service.search_memories(query="tea", scope=scope, types=["preference"]).results} == {
        "preference"
    }
    res = service.search_memories(query="tea", scope=scope)
    assert set(res.groups) <= {"facts", "preferences", "tool_experience", "skills"}
    assert "preferences" in res.groups
    strict = service.search_memories(query="tea", scope=scope, min_score=0.5).results
    assert all(h.score >= 0.5 for h in strict)
    assert len(strict) < len(service.search_memories(query="tea", scope=scope, min_score=0).results)
    two = service.search_memories(query="tea", scope=scope, top_k=2)
    assert len(two.results) == 2
    paged = service.search_memories(query="tea", scope=scope, top_k=2, offset=2)
    assert {h.memory.id for h in paged.results}.isdisjoint({h.memory.id for h in two.results})
    newest = service.search_memories(query="tea", scope=scope, order_by="created_at_desc").results
    assert [h.memory.created_at for h in newest] == sorted((h.memory.created_at for h in newest), reverse=True)
    filtered = service.search_memories(query="tea", scope=scope, filter={"metadata.n": {"$gte": 1}})
    assert {h.memory.metadata["n"] for h in filtered.results} <= {1, 2}


def test_search_modes_vector_and_keyword(service):
    for text in ("The user drinks green tea every morning", "The user's sister lives in Lisbon", "用户爱喝咖啡"):
        service.add_memories(text=text, scope=ALICE)
    scope = {"app_id": "app", "tenant_id": "alice"}
    keyword = service.search_memories(query="Lisbon", scope=scope, mode="keyword").results
    # Keyword mode finds only full-text matches, and needs no embedding.
    assert [h.memory.text for h in keyword] == ["The user's sister lives in Lisbon"] and keyword[0].score == 1.0
    assert service.search_memories(query="咖啡", scope=scope, mode="keyword").results[0].memory.text == "用户爱喝咖啡"
    vector = service.search_memories(query="green tea", scope=scope, mode="vector", min_score=0).results
    assert len(vector) == 3 and vector[0].memory.text == "The user drinks green tea every morning"
    with pytest.raises(InvalidArgumentError) as err:
        service.search_memories(query="tea", scope=scope, mode="fuzzy")
    assert err.value.field == "mode"


def test_search_from_messages_uses_last_user_turn(service):
    service.add_memories(text="The user's sister lives in Lisbon", scope=ALICE)
    service.add_memories(text="The user's car is blue", scope=ALICE)
    res = service.search_memories(
        messages=[
            {"role": "user", "content": "what colour is my car?"},
            {"role": "assistant", "content": "Let me check."},
            {"role": "user", "content": [{"type": "text", "text": "where does my sister live"}]},
        ],
        scope={"app_id": "app", "tenant_id": "alice"},
    )
    assert res.results[0].memory.text == "The user's sister lives in Lisbon"


# -- update, delete, history -------------------------------------------------------------------


def test_update_keeps_history_and_hides_old_version(service):
    mid = service.add_memories(text="用户喜欢喝咖啡", scope=ALICE).events[0].memory_id
    result = service.update_memory(mid, text="用户不喝咖啡了，现在只喝茶", metadata={"v": 2}, scope=ALICE)
    event = result.events[0]
    assert (event.event, event.old_text) == ("UPDATE", "用户喜欢喝咖啡")
    assert result.memory.version == 2 and result.memory.metadata == {"v": 2}

    history = service.memory_history(mid, scope=ALICE).entries
    assert [(e.event, e.text, e.old_text) for e in history] == [
        ("ADD", "用户喜欢喝咖啡", None),
        ("UPDATE", "用户不喝咖啡了，现在只喝茶", "用户喜欢喝咖啡"),
    ]
    scope = {"app_id": "app", "tenant_id": "alice"}
    texts = [h.memory.text for h in service.search_memories(query="咖啡", scope=scope).results]
    assert texts == ["用户不喝咖啡了，现在只喝茶"]
    with_old = service.search_memories(query="咖啡", scope=scope, include_superseded=True).results
    assert {h.memory.status for h in with_old} == {"active", "superseded"}
    assert service.get_memory(mid, scope=ALICE).version == 2
    assert _total(service) == 1


def test_metadata_only_update_keeps_text(service):
    mid = service.add_memories(text="lives in Paris", scope=ALICE, tags=["home"]).events[0].memory_id
    mem = service.update_memory(mid, metadata={"confirmed": True}, scope=ALICE).memory
    assert mem.text == "lives in Paris" and mem.metadata == {"confirmed": True} and mem.tags == ["home"]


def test_delete_is_soft_and_history_stays(service):
    mid = service.add_memories(text="address is 1 Main St", scope=ALICE).events[0].memory_id
    assert service.delete_memory(mid, scope=ALICE).events[0].event == "DELETE"
    assert _total(service) == 0
    assert service.search_memories(query="address", scope={"app_id": "app", "tenant_id": "alice"}).results == []
    assert [e.event for e in service.memory_history(mid, scope=ALICE).entries] == ["ADD", "DELETE"]
    assert _total(service, filter={"status": "deleted"}) == 1
    assert service.delete_memory(mid, scope=ALICE).events[0].event == "NONE"
    with pytest.raises(MemoryNotFoundError, match="deleted"):
        service.update_memory(mid, text="x", scope=ALICE)


def test_single_memory_ops_need_the_right_scope(service):
    mid = service.add_memories(text="secret", scope=ALICE).events[0].memory_id
    with pytest.raises(MemoryNotFoundError):
        service.get_memory(mid, scope={**ALICE, "tenant_id": "bob"})
    with pytest.raises(MemoryNotFoundError):
        service.delete_memory("mem_nope", scope=ALICE)


# -- bad input writes nothing --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"text": ""}, EmptyTextError, "text"),
        ({"text": " \n\t "}, EmptyTextError, "text"),
        ({"text": "x" * 8001}, TextTooLongError, "text"),
        ({"text": 5}, InvalidArgumentError, "text"),
        ({}, InvalidArgumentError, "text"),
        ({"text": "ok", "scope": {**ALICE, "run_id": "*"}}, InvalidScopeError, "scope.run_id"),
        ({"text": "ok", "store": "nope"}, StoreNotFoundError, "store"),
        ({"text": "ok", "metadata": ["not", "a", "dict"]}, InvalidArgumentError, "metadata"),
        ({"text": "ok", "tags": "single"}, InvalidArgumentError, "tags"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, InvalidArgumentError, "messages[0]"),
        ({"messages": [{"role": "user", "content": "  "}]}, EmptyTextError, "messages[0].content"),
        ({"messages": "hello"}, InvalidArgumentError, "messages"),
    ],
)
def test_bad_adds_are_typed_and_write_nothing(service, kwargs, error, field):
    kwargs.setdefault("scope", ALICE)
    with pytest.raises(error) as err:
        service.add_memories(**kwargs)
    assert err.value.field == field
    assert _total(service) == 0
    assert service.list_messages(scope=ALICE).messages == []


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"top_k": 0}, InvalidArgumentError, "top_k"),
        ({"top_k": 1000}, InvalidArgumentError, "top_k"),
        ({"min_score": 1.5}, InvalidArgumentError, "min_score"),
        ({"order_by": "random"}, InvalidArgumentError, "order_by"),
        ({"filter": {"colour": "red"}}, InvalidFilterError, None),
        ({"filter": {"type": {"$regex": "x"}}}, InvalidFilterError, None),
        ({"filter": ["type"]}, InvalidFilterError, None),
        ({"query": ""}, EmptyTextError, "query"),
        ({"query": None}, InvalidArgumentError, "query"),
    ],
)
def test_bad_searches_are_typed(service, kwargs, error, field):
    kwargs.setdefault("query", "tea")
    with pytest.raises(error) as err:
        service.search_memories(**kwargs)
    if field:
        assert err.value.field == field
    else:
        assert err.value.field and err.value.field.startswith("filter")


def test_filter_values_are_matched_literally(service):
    nasty = 'it\'s "quoted"; DROP TABLE memories; --'
    service.add_memories(text="one", scope=ALICE, metadata={"note": nasty, "城市": "北京"})
    service.add_memories(text="two", scope=ALICE, metadata={"note": "plain"})
    assert _total(service, filter={"metadata.note": nasty}) == 1
    assert _total(service, filter={"metadata.城市": "北京"}) == 1
    assert _total(service, filter={"metadata.note": {"$contains": "DROP TABLE"}}) == 1
    assert _total(service) == 2  # the table is intact


# -- messages, requests ------------------------------------------------------------------------


def test_messages_are_stored_in_order_per_run(service):
    out = service.add_memories(
        messages=[{"role": "user", "content": "每天上午11点提醒我点外卖。"}, {"role": "assistant", "content": "好的"}],
        scope=ALICE,
    )
    assert len(out.message_ids) == 2 and out.events == [] and out.status == "done"
    service.add_memories(
        messages=[{"role": "user", "content": [{"type": "text", "text": "明天10点提醒我整理会议纪要。"}]}], scope=ALICE
    )
    msgs = service.list_messages(scope=ALICE).messages
    assert [(m.seq, m.role) for m in msgs] == [(0, "user"), (1, "assistant"), (2, "user")]
    assert msgs[2].content == "明天10点提醒我整理会议纪要。"
    assert service.list_messages(scope={**ALICE, "run_id": "other"}).messages == []
    with pytest.raises(InvalidScopeError):
        service.list_messages(scope={**ALICE, "run_id": "*"})


def test_every_operation_is_logged_with_outcome(service):
    ctx = CallContext(ScopeDefaults(app_id="app", tenant_id="alice", agent_id="claude", run_id="r1"), actor="claude")
    service.add_memories(text="x1", ctx=ctx)
    with pytest.raises(EmptyTextError):
        service.add_memories(text=" ", ctx=ctx)
    service.search_memories(query="x", ctx=ctx)
    log = service.list_requests(scope={"app_id": "app", "tenant_id": "alice"}, ctx=ctx).requests
    ops = [(r.operation, r.outcome, r.error_code) for r in log]
    assert ops[:3] == [
        ("SearchMemories", "ok", None),
        ("AddMemories", "error", "EMPTY_TEXT"),
        ("AddMemories", "ok", None),
    ]
    assert log[2].actor == "claude" and log[2].scope.run_id == "r1" and log[2].duration_ms > 0
    only_adds = service.list_requests(scope={"app_id": "app", "tenant_id": "alice"}, operation="AddMemories", ctx=ctx)
    assert {r.operation for r in only_adds.requests} == {"AddMemories"}


# -- export/import, reindex, stats ---------------------------------------------------------------


def test_export_import_round_trip_exactly(service, tmp_path, make_service):
    mid = (
        service.add_memories(text="用户住在上海", scope=ALICE, metadata={"k": [1, "二"]}, tags=["home"])
        .events[0]
        .memory_id
    )
    service.update_memory(mid, text="用户搬到了北京", scope=ALICE)
    service.add_memories(text="The user plays chess", scope={**ALICE, "run_id": "r2"}, type="preference")
    exported = service.export_memories(include_history=True)
    assert len(exported) == 3

    other = make_service(Settings(data_dir=tmp_path / "other", _env_file=None), embedder=HashEmbedder())
    assert other.import_memories(exported) == 3
    assert other.export_memories(include_history=True) == exported
    assert other.import_memories(exported) == 3  # idempotent
    assert other.export_memories(include_history=True) == exported
    assert [e.event for e in other.memory_history(mid, scope=ALICE).entries] == ["ADD", "UPDATE"]


def test_import_validates_everything_first(service):
    good = {"scope": ALICE, "text": "fine"}
    with pytest.raises(InvalidArgumentError, match="record 2"):
        service.import_memories([good, {"scope": ALICE, "text": ""}])
    with pytest.raises(InvalidArgumentError, match="record 1.*scope"):
        service.import_memories([{"scope": {**ALICE, "run_id": "*"}, "text": "x"}])
    assert _total(service) == 0


class OtherDimEmbedder(HashEmbedder):
    name = "test/hash-32"

    def __init__(self) -> None:
        super().__init__(dim=32)


def test_reindex_moves_a_store_to_another_model(settings, make_service):
    svc = make_service(settings, embedder=HashEmbedder())
    mid = svc.add_memories(text="the user likes tea", scope=ALICE).events[0].memory_id
    svc.update_memory(mid, text="the user likes green tea", scope=ALICE)

    # A server configured with another model still reads the store through the model it was built with.
    other = make_service(settings, embedder=OtherDimEmbedder())
    assert other.get_store().embedding_model == "test/hash-64"
    with pytest.raises(EmbeddingMismatchError, match="reindex"):
        other.search_memories(query="tea", scope={"app_id": "app", "tenant_id": "alice"})

    store = other.reindex("default")
    assert (store.embedding_model, store.embedding_dim) == ("test/hash-32", 32)
    hits = other.search_memories(query="green tea", scope={"app_id": "app", "tenant_id": "alice"}).results
    assert hits[0].memory.text == "the user likes green tea"
    assert len(other.memory_history(mid, scope=ALICE).entries) == 2


def test_stats(service):
    mid = service.add_memories(text="a", scope=ALICE).events[0].memory_id
    service.add_memories(text="b", scope=ALICE, type="preference")
    service.delete_memory(mid, scope=ALICE)
    service.add_memories(messages=[{"role": "user", "content": "hi"}], scope=ALICE)
    s = service.stats()
    assert (s.memories_active, s.memories_deleted, s.messages, s.by_type) == (1, 1, 1, {"preference": 1})


def test_stats_is_logged_under_the_name_of_its_tool(service):
    # The memory_stats tool is MemoryStats in the request log, as a refused (rate-limited) call to it is;
    # it was logged as "Stats", so list_requests(operation=...) found one or the other, never both.
    from mem_mcp.service import OPERATION_ROLES, operation_name

    assert operation_name("memory_stats") == "MemoryStats"
    service.stats()
    operations = [r.operation for r in service.list_requests().requests]
    assert "MemoryStats" in operations and "Stats" not in operations
    assert OPERATION_ROLES.get("MemoryStats") == "read" and "Stats" not in OPERATION_ROLES


def test_close_stops_every_thread_the_service_started(settings):
    import threading

    before = set(threading.enumerate())
    svc = MemoryService(settings, embedder=HashEmbedder(), extractor=NoopExtractor())
    svc.add_memories(text="the user likes tea", scope=ALICE)  # the request-log writer
    svc.search_memories(query="tea", scope=ALICE)  # the search pool
    svc.add_memories(messages=[{"role": "user", "content": "I like green tea"}], scope=ALICE, sync=False)  # jobs
    svc.wait_for_jobs()
    started = {t.name for t in set(threading.enumerate()) - before if t.name.startswith("mem-mcp")}
    assert {"mem-mcp-jobs", "mem-mcp-request-log"} <= started and any(n.startswith("mem-mcp-search") for n in started)
    svc.close()
    # The optimizer (storage) is not the service's yet; every other thread it started has ended.
    left = {t.name for t in set(threading.enumerate()) - before if t.name.startswith("mem-mcp") and t.is_alive()}
    assert left <= {"mem-mcp-optimize"}


# -- async and concurrency -----------------------------------------------------------------------


async def test_async_service_runs_the_same_operations(service):
    asvc = AsyncMemoryService(service)
    out = await asvc.add_memories(text="async memory", scope=ALICE)
    found = await asvc.search_memories(query="async memory", scope={"app_id": "app", "tenant_id": "alice"})
    assert found.results[0].memory.id == out.events[0].memory_id


def _writer(data_dir: str, n: int) -> None:
    svc = MemoryService(Settings(data_dir=data_dir, _env_file=None), embedder=HashEmbedder())
    for i in range(n):
        svc.add_memories(text=f"child memory {i}", scope=ALICE)
    svc.search_memories(query="parent memory", scope={"app_id": "app", "tenant_id": "alice"})


@pytest.mark.slow  # multi-process
def test_second_process_reading_and_writing(settings):
    svc = MemoryService(settings, embedder=HashEmbedder())
    svc.get_store()
    proc = multiprocessing.get_context("spawn").Process(target=_writer, args=(str(settings.data_dir), 15))
    proc.start()
    for i in range(15):
        svc.add_memories(text=f"parent memory {i}", scope=ALICE)
        svc.search_memories(query="child memory", scope={"app_id": "app", "tenant_id": "alice"})
    proc.join(120)
    assert proc.exitcode == 0
    assert _total(svc) == 30
    assert svc.search_memories(query="child memory 3", scope={"app_id": "app", "tenant_id": "alice"}).results
