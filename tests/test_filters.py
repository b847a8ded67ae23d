"""Tests of mem_mcp.filters against a real LanceDB table (no mocks): every compiled filter is run and
the exact ids it returns are checked."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import lancedb
import pyarrow as pa
import pytest

from mem_mcp.errors import InvalidFilterError
from mem_mcp.filters import FILTER_FIELDS, MAX_CONDITIONS, MAX_DEPTH, compile_filter, sql_string

INJECTION = "'; DROP TABLE m; --"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


ROWS: list[dict[str, Any]] = [
    dict(
        id="m1",
        type="fact",
        agent_id="agent-1",
        run_id="run-1",
        status="active",
        tags=["work", "家庭"],
        metadata={
            "project": "apollo",
            "priority": 5,
            "done": True,
            "city": "北京",
            "nested": {"level": "deep", "n": 2},
        },
        created_at=utc(2026, 1, 1),
        updated_at=utc(2026, 1, 5),
    ),
    dict(
        id="m2",
        type="preference",
        agent_id="agent-1",
        run_id="run-2",
        status="active",
        tags=["personal"],
        metadata={"project": 'it\'s "quoted"', "priority": 5.0, "done": False, "path": "C:\\temp\\x"},
        created_at=utc(2026, 1, 2, 2),
        updated_at=utc(2026, 1, 2, 2),
    ),
    dict(
        id="m3",
        type="100%_done",
        agent_id="agent-2",
        run_id="run-1",
        status="superseded",
        tags=[],
        metadata={"priority": "high", "note": "50% off_sale"},
        created_at=utc(2026, 1, 3),
        updated_at=utc(2026, 1, 3),
    ),
    dict(
        id="m4",
        type="fact",
        agent_id="x" + INJECTION,
        run_id="run-3",
        status="deleted",
        tags=[INJECTION, "a\\b"],
        metadata={INJECTION: "x'y", "priority": 1, "list": ["a", "b"]},
        created_at=utc(2026, 1, 4),
        updated_at=utc(2026, 1, 4),
    ),
    dict(
        id="m5",
        type="episodic",
        agent_id="代理",
        run_id="run-1",
        status="active",
        tags=None,
        metadata=None,
        created_at=utc(2025, 12, 31, 23, 59, 59, 500000),
        updated_at=utc(2026, 1, 1),
    ),
    dict(
        id="m6",
        type="fact%",
        agent_id="agent\\x",
        run_id="run-2",
        status="active",
        tags=["work"],
        metadata={"project": "apollo 11", "city": "上海", "priority": 10, "x": None, "nested": "flat"},
        created_at=utc(2026, 1, 6),
        updated_at=utc(2026, 1, 6),
    ),
    dict(
        id="m7",
        type="fa_t",
        agent_id="agent-3",
        run_id=None,
        status="active",
        tags=["工作", "work"],
        metadata={"中文键": "中文值", "priority": -2.5, "multi": "line1\nline2", 'quote"key': "v", "back\\slash": "\\"},
        created_at=utc(2026, 1, 7),
        updated_at=utc(2026, 1, 7),
    ),
    dict(
        id="m8",
        type="Fact",
        agent_id="agent-1",
        run_id="run-1",
        status="active",
        tags=["a_b", "a%b"],
        metadata={"ab": "ab ", "project": "apollo", "nested": {"level": "shallow"}},
        created_at=utc(2026, 1, 8),
        updated_at=utc(2026, 1, 8),
    ),
]
ALL = sorted(r["id"] for r in ROWS)

SCHEMA = pa.schema(
    [
        pa.field("id", pa.string()),
        pa.field("type", pa.string()),
        pa.field("agent_id", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("status", pa.string()),
        pa.field("tags", pa.list_(pa.string())),
        pa.field("metadata", pa.json_(pa.string())),
        pa.field("created_at", pa.timestamp("us", tz="UTC")),
        pa.field("updated_at", pa.timestamp("us", tz="UTC")),
        pa.field("vector", pa.list_(pa.float32(), 2)),
    ]
)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return lancedb.connect(tmp_path_factory.mktemp("filters"))


@pytest.fixture(scope="module")
def table(db: Any) -> Any:
    columns: dict[str, list[Any]] = {name: [r.get(name) for r in ROWS] for name in SCHEMA.names if name != "vector"}
    columns["metadata"] = [
        None if r["metadata"] is None else json.dumps(r["metadata"], ensure_ascii=False) for r in ROWS
    ]
    columns["vector"] = [[1.0, float(i)] for i in range(len(ROWS))]
    tbl = db.create_table("m", pa.table(columns, schema=SCHEMA))
    from lancedb.index import BTree

    # As the store does: scalar indexes must not change what a predicate matches.
    for col in ("agent_id", "run_id", "status", "type"):
        tbl.create_index(col, config=BTree(), replace=True)
    return tbl


def ids(table: Any, filter: dict[str, Any]) -> list[str]:
    where = compile_filter(filter)
    assert where is not None
    return sorted(r["id"] for r in table.search().where(where).select(["id"]).limit(100).to_list())


def but(*excluded: str) -> list[str]:
    return [i for i in ALL if i not in excluded]


# -- matching ------------------------------------------------------------------------------------

CASES: list[tuple[dict[str, Any], list[str]]] = [
    # string columns
    ({"type": "fact"}, ["m1", "m4"]),
    ({"type": {"$eq": "fact"}}, ["m1", "m4"]),
    ({"type": {"$ne": "fact"}}, but("m1", "m4")),
    ({"type": {"$in": ["fact", "episodic"]}}, ["m1", "m4", "m5"]),
    ({"type": {"$nin": ["fact", "episodic"]}}, but("m1", "m4", "m5")),
    ({"type": {"$contains": "%"}}, ["m3", "m6"]),
    ({"type": {"$contains": "_"}}, ["m3", "m7"]),
    ({"type": {"$contains": "fa_t"}}, ["m7"]),  # "_" is literal: "fact" must not match
    ({"type": {"$contains": "act%"}}, ["m6"]),
    ({"type": {"$contains": "Fact"}}, ["m8"]),  # case-sensitive
    ({"type": {"$gt": "fact", "$lte": "fact%"}}, ["m6"]),
    ({"type": {"$gte": "f", "$lt": "g"}}, ["m1", "m4", "m6", "m7"]),
    ({"type": {"$lt": "a"}}, ["m3", "m8"]),
    ({"agent_id": "x" + INJECTION}, ["m4"]),
    ({"agent_id": "代理"}, ["m5"]),
    ({"agent_id": "agent\\x"}, ["m6"]),
    ({"agent_id": {"$contains": "\\"}}, ["m6"]),
    ({"agent_id": {"$contains": "'; DROP"}}, ["m4"]),
    ({"agent_id": {"$contains": "代"}}, ["m5"]),
    ({"agent_id": "' OR '1'='1"}, []),
    ({"run_id": "run-1"}, ["m1", "m3", "m5", "m8"]),
    ({"run_id": {"$ne": "run-1"}}, ["m2", "m4", "m6", "m7"]),  # m7 has no run_id
    ({"run_id": {"$in": ["run-2", "run-3"]}}, ["m2", "m4", "m6"]),
    ({"run_id": {"$nin": ["run-1", "run-2"]}}, ["m4", "m7"]),
    # status
    ({"status": "superseded"}, ["m3"]),
    ({"status": {"$ne": "active"}}, ["m3", "m4"]),
    ({"status": {"$in": ["deleted", "superseded"]}}, ["m3", "m4"]),
    ({"status": {"$nin": ["active"]}}, ["m3", "m4"]),
    # tags
    ({"tags": "work"}, ["m1", "m6", "m7"]),
    ({"tags": {"$eq": "work"}}, ["m1", "m6", "m7"]),
    ({"tags": {"$contains": "work"}}, ["m1", "m6", "m7"]),
    ({"tags": "家庭"}, ["m1"]),
    ({"tags": {"$ne": "work"}}, ["m2", "m3", "m4", "m5", "m8"]),  # m5 has no tags at all
    ({"tags": {"$in": ["personal", "工作"]}}, ["m2", "m7"]),
    ({"tags": {"$nin": ["work", "personal"]}}, ["m3", "m4", "m5", "m8"]),
    ({"tags": INJECTION}, ["m4"]),
    ({"tags": "a\\b"}, ["m4"]),
    ({"tags": "a_b"}, ["m8"]),
    ({"tags": "a%b"}, ["m8"]),
    ({"tags": "a"}, []),
    # times: offsets, naive (= UTC), Z, epoch seconds
    ({"created_at": {"$gte": "2026-01-02T10:00:00+08:00"}}, ["m2", "m3", "m4", "m6", "m7", "m8"]),
    ({"created_at": "2026-01-02T02:00:00Z"}, ["m2"]),
    ({"created_at": "2026-01-02T10:00:00+08:00"}, ["m2"]),
    ({"created_at": "2026-01-02T02:00:00"}, ["m2"]),
    ({"created_at": "2026-01-01T21:00:00-05:00"}, ["m2"]),
    ({"created_at": {"$eq": int(utc(2026, 1, 2, 2).timestamp())}}, ["m2"]),
    ({"created_at": utc(2026, 1, 1).timestamp() - 0.5}, ["m5"]),
    ({"created_at": {"$lt": "2026-01-01"}}, ["m5"]),
    ({"created_at": {"$lt": int(utc(2026, 1, 1).timestamp())}}, ["m5"]),
    ({"created_at": {"$lte": "2026-01-01T00:00:00Z"}}, ["m1", "m5"]),
    ({"created_at": {"$gt": "2026-01-06", "$lte": "2026-01-07T00:00:00.000Z"}}, ["m7"]),
    ({"created_at": {"$in": ["2026-01-01", "2026-01-04T08:00:00+08:00"]}}, ["m1", "m4"]),
    ({"created_at": {"$nin": ["2026-01-01", "2026-01-02T02:00:00Z"]}}, but("m1", "m2")),
    ({"created_at": {"$ne": "2026-01-01"}}, but("m1")),
    ({"created_at": "2026-01-01T05:00:00-05:00"}, []),
    ({"updated_at": {"$gt": "2026-01-04"}}, ["m1", "m6", "m7", "m8"]),
    # metadata: strings
    ({"metadata.project": "apollo"}, ["m1", "m8"]),
    ({"metadata.project": {"$contains": "apollo"}}, ["m1", "m6", "m8"]),
    ({"metadata.project": 'it\'s "quoted"'}, ["m2"]),
    ({"metadata.project": {"$contains": '"quoted"'}}, ["m2"]),
    ({"metadata.project": {"$contains": "'s \""}}, ["m2"]),
    ({"metadata.project": {"$ne": "apollo"}}, but("m1", "m8")),  # rows without the key match too
    ({"metadata.project": {"$in": ["apollo 11", 'it\'s "quoted"']}}, ["m2", "m6"]),
    ({"metadata.project": {"$nin": ["apollo"]}}, but("m1", "m8")),
    ({"metadata.project": {"$gte": "apollo", "$lt": "apollp"}}, ["m1", "m6", "m8"]),
    ({"metadata.project": {"$contains": "%"}}, []),
    ({"metadata.ab": {"$gt": "ab"}}, ["m8"]),  # "ab " > "ab" despite the JSON closing quote
    ({"metadata.ab": {"$lte": "ab"}}, []),
    ({"metadata.city": "北京"}, ["m1"]),
    ({"metadata.city": {"$contains": "海"}}, ["m6"]),
    ({"metadata.中文键": "中文值"}, ["m7"]),
    ({"metadata." + INJECTION: "x'y"}, ["m4"]),
    ({'metadata.quote"key': "v"}, ["m7"]),
    ({"metadata.back\\slash": "\\"}, ["m7"]),
    ({"metadata.back\\slash": {"$contains": "\\"}}, ["m7"]),
    ({"metadata.path": "C:\\temp\\x"}, ["m2"]),
    ({"metadata.path": {"$contains": "\\temp\\"}}, ["m2"]),
    ({"metadata.path": {"$contains": "\\t"}}, ["m2"]),
    ({"metadata.path": {"$contains": "\t"}}, []),  # a backslash-t is not a tab
    ({"metadata.multi": {"$contains": "1\nl"}}, ["m7"]),
    ({"metadata.multi": {"$contains": "nline"}}, []),  # "\n" is escaped in JSON text; no false hit
    ({"metadata.note": {"$contains": "% off_"}}, ["m3"]),
    ({"metadata.note": {"$contains": "0%"}}, ["m3"]),
    ({"metadata.note": {"$contains": ""}}, ["m3"]),
    # metadata: numbers (5 matches 5.0, never the string "5"; "high" is skipped, not an error)
    ({"metadata.priority": 5}, ["m1", "m2"]),
    ({"metadata.priority": 5.0}, ["m1", "m2"]),
    ({"metadata.priority": "5"}, []),
    ({"metadata.priority": {"$gt": 1}}, ["m1", "m2", "m6"]),
    ({"metadata.priority": {"$gte": 1, "$lt": 10}}, ["m1", "m2", "m4"]),
    ({"metadata.priority": {"$lt": 0}}, ["m7"]),
    ({"metadata.priority": {"$lte": -2.5}}, ["m7"]),
    ({"metadata.priority": "high"}, ["m3"]),
    ({"metadata.priority": {"$gt": "a"}}, ["m3"]),
    ({"metadata.priority": {"$in": [1, "high"]}}, ["m3", "m4"]),
    ({"metadata.priority": {"$nin": [5, 10]}}, ["m3", "m4", "m5", "m7", "m8"]),
    ({"metadata.priority": {"$ne": 5}}, but("m1", "m2")),
    # metadata: booleans and null
    ({"metadata.done": True}, ["m1"]),
    ({"metadata.done": False}, ["m2"]),
    ({"metadata.done": {"$ne": True}}, but("m1")),
    ({"metadata.done": {"$in": [True, False]}}, ["m1", "m2"]),
    ({"metadata.done": 1}, []),  # true is not the number 1
    ({"metadata.x": None}, ALL),  # null or missing
    ({"metadata.city": None}, but("m1", "m6")),
    ({"metadata.city": {"$ne": None}}, ["m1", "m6"]),
    ({"metadata.city": {"$in": [None, "北京"]}}, but("m6")),
    # metadata: nested objects and arrays
    ({"metadata.nested.level": "deep"}, ["m1"]),
    ({"metadata.nested.level": {"$in": ["deep", "shallow"]}}, ["m1", "m8"]),
    ({"metadata.nested.level": {"$ne": "deep"}}, but("m1")),
    ({"metadata.nested.n": 2}, ["m1"]),
    ({"metadata.nested": "flat"}, ["m6"]),
    ({"metadata.nested": {"$contains": "fl"}}, ["m6"]),  # objects elsewhere: no match, no error
    ({"metadata.list.0": "a"}, ["m4"]),
    ({"metadata.list": "a"}, []),
    ({"metadata.missing.deeper": "x"}, []),
    # combinators
    ({"type": "fact", "status": "active"}, ["m1"]),
    ({"$or": [{"type": "episodic"}, {"tags": "personal"}]}, ["m2", "m5"]),
    ({"$and": [{"type": "fact"}, {"status": "active"}]}, ["m1"]),
    ({"$not": {"type": "fact"}}, but("m1", "m4")),
    ({"$not": {"metadata.project": "apollo"}}, but("m1", "m8")),
    ({"$not": {"tags": "work"}}, ["m2", "m3", "m4", "m5", "m8"]),
    ({"$not": {"$not": {"tags": "work"}}}, ["m1", "m6", "m7"]),
    (
        {
            "$or": [
                {"$and": [{"agent_id": "agent-1"}, {"$not": {"run_id": "run-1"}}]},
                {"metadata.city": {"$contains": "海"}},
            ]
        },
        ["m2", "m6"],
    ),
    (
        {"$and": [{"$or": [{"type": "fact"}, {"type": "fact%"}]}, {"$not": {"status": "deleted"}}]},
        ["m1", "m6"],
    ),
    ({"status": "active", "$or": [{"tags": "work"}, {"metadata.priority": {"$gt": 4}}]}, ["m1", "m2", "m6", "m7"]),
]


@pytest.mark.parametrize(("filter", "expected"), CASES, ids=[json.dumps(c[0], ensure_ascii=False)[:80] for c in CASES])
def test_filter_matches(table: Any, filter: dict[str, Any], expected: list[str]) -> None:
    assert ids(table, filter) == expected


def test_none_and_empty_compile_to_none() -> None:
    assert compile_filter(None) is None
    assert compile_filter({}) is None


def test_timestamp_literal_is_normalised_to_utc() -> None:
    where = compile_filter({"created_at": {"$gte": "2026-01-02T10:00:00+08:00"}})
    assert where == "created_at >= timestamp '2026-01-02T02:00:00.000000Z'"


def test_prefiltered_vector_search_and_count(table: Any) -> None:
    where = compile_filter({"tags": "work", "metadata.priority": {"$gte": 5}})
    assert where is not None
    hits = table.search([1.0, 0.0], vector_column_name="vector").where(where, prefilter=True).limit(10).to_list()
    assert sorted(h["id"] for h in hits) == ["m1", "m6"]
    assert table.count_rows(where) == 2


def test_injection_is_matched_literally_and_table_survives(db: Any, table: Any) -> None:
    attempts = [
        {"type": INJECTION},
        {"type": "x') OR 1=1 --"},
        {"type": {"$contains": "%' OR '1'='1"}},
        {"agent_id": {"$in": [INJECTION, "a'); DELETE FROM m; --"]}},
        {"tags": {"$nin": ["') OR TRUE --"]}},
        {"metadata.a') OR TRUE OR json_get(metadata, 'b": "x"},
        {"metadata.project": {"$contains": "') OR TRUE --"}},
        {"metadata.project": {"$gt": "') OR TRUE --"}},
        {"created_at": "2026-01-01'; DROP TABLE m; --"},
    ]
    results = []
    for attempt in attempts:
        try:
            results.append(ids(table, attempt))
        except InvalidFilterError:
            results.append(None)
    assert results == [[], [], [], [], ALL, [], [], ["m1", "m2", "m6", "m8"], None]
    assert "m" in db.table_names()
    assert db.open_table("m").count_rows() == len(ROWS)
    assert ids(table, {"type": "fact"}) == ["m1", "m4"]


def test_sql_string() -> None:
    assert sql_string("it's") == "'it''s'"
    assert sql_string("a\\b") == "'a\\b'"
    assert sql_string("中文") == "'中文'"
    with pytest.raises(InvalidFilterError):
        sql_string("a\x00b")
    with pytest.raises(InvalidFilterError):
        sql_string("\ud800")


def test_filter_fields_listed() -> None:
    assert "created_at" in FILTER_FIELDS and "metadata.<key>" in FILTER_FIELDS and "tags" in FILTER_FIELDS


def test_depth_limit_boundary(table: Any) -> None:
    inner: dict[str, Any] = {"type": "fact"}
    for _ in range(MAX_DEPTH - 1):
        inner = {"$not": inner}
    assert ids(table, inner) in (["m1", "m4"], but("m1", "m4"))
    with pytest.raises(InvalidFilterError) as exc:
        compile_filter({"$not": inner})
    assert "nested more than" in str(exc.value) and exc.value.field is not None


def test_condition_limit() -> None:
    compile_filter({"$and": [{"type": "a"}] * MAX_CONDITIONS})
    with pytest.raises(InvalidFilterError) as exc:
        compile_filter({"$and": [{"type": "a"}] * (MAX_CONDITIONS + 1)})
    assert "conditions" in str(exc.value) and "type" in str(exc.value)


# -- errors --------------------------------------------------------------------------------------

ERRORS: list[tuple[Any, str, str]] = [
    # (filter, text the message must contain, expected error field)
    ("type = 'fact'", "JSON object", "filter"),
    ([{"type": "fact"}], "JSON object", "filter"),
    ({1: "x"}, "strings", "filter"),
    ({"colour": "red"}, "'colour'", "filter.colour"),
    ({"metadata_x": 1}, "metadata.<key>", "filter.metadata_x"),
    ({"$nor": [{"type": "a"}]}, "$nor", "filter.$nor"),
    ({"$eq": "fact"}, "$eq", "filter.$eq"),
    ({"$or": [{"type": "fact"}, {"colour": "x"}]}, "colour", "filter.$or[1].colour"),
    ({"type": {"$regex": "x"}}, "$regex", "filter.type.$regex"),
    ({"type": {"$in": []}}, "type", "filter.type.$in"),
    ({"type": {"$in": "fact"}}, "non-empty list", "filter.type.$in"),
    ({"type": {"$nin": ["a"] * 101}}, "at most 100", "filter.type.$nin"),
    ({"type": 5}, "must be a string", "filter.type"),
    ({"type": None}, "must be a string", "filter.type"),
    ({"type": ["a", "b"]}, "$in/$nin", "filter.type"),
    ({"type": {"$in": ["a", 1]}}, "type", "filter.type.$in[1]"),
    ({"type": {"a": 1}}, "operators", "filter.type"),
    ({"type": {}}, "empty object", "filter.type"),
    ({"type": "x" * 1001}, "1000", "filter.type"),
    ({"type": "a\x00b"}, "NUL", "filter.type"),
    ({"agent_id": {"$contains": ["a"]}}, "agent_id", "filter.agent_id.$contains"),
    ({"created_at": "yesterday"}, "ISO 8601", "filter.created_at"),
    ({"created_at": "2026-13-01"}, "created_at", "filter.created_at"),
    ({"created_at": True}, "created_at", "filter.created_at"),
    ({"created_at": None}, "created_at", "filter.created_at"),
    ({"created_at": {"$contains": "2026"}}, "$contains", "filter.created_at.$contains"),
    ({"created_at": 1767225600000}, "milliseconds", "filter.created_at"),
    ({"created_at": float("nan")}, "created_at", "filter.created_at"),
    ({"created_at": 10**400}, "created_at", "filter.created_at"),
    ({"updated_at": {"$in": ["2026-01-01", "soon"]}}, "updated_at", "filter.updated_at.$in[1]"),
    ({"status": "archived"}, "active, superseded, deleted", "filter.status"),
    ({"status": "Active"}, "status", "filter.status"),
    ({"status": {"$in": ["active", "gone"]}}, "status", "filter.status.$in[1]"),
    ({"status": {"$contains": "act"}}, "$contains", "filter.status.$contains"),
    ({"status": {"$gt": "active"}}, "$gt", "filter.status.$gt"),
    ({"tags": {"$gt": "a"}}, "$gt", "filter.tags.$gt"),
    ({"tags": ["a", "b"]}, "$in", "filter.tags"),
    ({"tags": None}, "tags", "filter.tags"),
    ({"tags": {"$in": [["a"]]}}, "tags", "filter.tags.$in[0]"),
    ({"metadata": "x"}, "metadata.<key>", "filter.metadata"),
    ({"metadata.": "x"}, "empty", "filter.metadata."),
    ({"metadata..a": "x"}, "empty", "filter.metadata..a"),
    ({"metadata." + ".".join("abcdefghi"): 1}, "deep", "filter.metadata.a.b.c.d.e.f.g.h.i"),
    ({"metadata.a": {"b": 1}}, "metadata.a.b", "filter.metadata.a"),
    ({"metadata.a": [1, 2]}, "$in/$nin", "filter.metadata.a"),
    ({"metadata.a": {"x": 1}}, "operators", "filter.metadata.a"),
    ({"metadata.a": {"$gt": True}}, "metadata.a", "filter.metadata.a.$gt"),
    ({"metadata.a": {"$lt": None}}, "metadata.a", "filter.metadata.a.$lt"),
    ({"metadata.a": {"$contains": 5}}, "$contains", "filter.metadata.a.$contains"),
    ({"metadata.a": float("inf")}, "metadata.a", "filter.metadata.a"),
    ({"metadata.a": 10**400}, "metadata.a", "filter.metadata.a"),
    ({"metadata.a": {"$in": [{"b": 1}]}}, "metadata.a", "filter.metadata.a.$in[0]"),
    ({"metadata.a": {"$exists": True}}, "$exists", "filter.metadata.a.$exists"),
    ({"metadata.a\x00b": 1}, "NUL", "filter.metadata.a\x00b"),
    ({"$and": []}, "$and", "filter.$and"),
    ({"$and": {"type": "fact"}}, "$and", "filter.$and"),
    ({"$and": [{}]}, "$and", "filter.$and[0]"),
    ({"$or": ["type"]}, "$or", "filter.$or[0]"),
    ({"$or": "type"}, "$or", "filter.$or"),
    ({"$not": []}, "$not", "filter.$not"),
    ({"$not": {}}, "$not", "filter.$not"),
    ({"$or": [{"type": {"$in": ["x" * 1000] * 100}}] * 2}, "too large", "filter"),
]


@pytest.mark.parametrize(("filter", "needle", "field"), ERRORS, ids=[repr(e[0])[:60] for e in ERRORS])
def test_invalid_filters(filter: Any, needle: str, field: str) -> None:
    with pytest.raises(InvalidFilterError) as exc:
        compile_filter(filter)
    err = exc.value
    assert needle in err.message
    assert err.field == field
    assert err.code == "INVALID_FILTER"
    assert isinstance(err, ValueError)
    # The message names the field at fault (its last path segment) for the model that sent it.
    last = field.rsplit(".", 1)[-1].split("[")[0]
    if field != "filter" and last and not last.startswith("$"):
        assert last in err.message
