"""storage.sql: values become SQL literals that LanceDB matches literally, and a value that cannot be a
literal is an InvalidArgumentError naming the caller's field (a filter's own values keep INVALID_FILTER)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import lancedb
import pyarrow as pa
import pytest

from mem_mcp.errors import InvalidArgumentError, InvalidFilterError
from mem_mcp.filters import sql_string as filter_sql_string
from mem_mcp.models import Scope
from mem_mcp.storage.schema import TS
from mem_mcp.storage.sql import in_list, literal_problem, scope_where, sql_string, ts_literal

T0 = datetime(2026, 1, 2, 10, 0, tzinfo=timezone.utc)
SCHEMA = pa.schema([pa.field("id", pa.string()), pa.field("at", TS)])
ROWS = [
    {"id": "plain", "at": T0},
    {"id": "it's", "at": T0 + timedelta(microseconds=1)},
    {"id": "back\\slash", "at": T0 + timedelta(hours=1)},
    {"id": "中文", "at": datetime(999, 5, 6, tzinfo=timezone.utc)},
]


@pytest.fixture
def table():
    t = lancedb.connect("memory://").create_table("t", schema=SCHEMA)
    t.add(pa.Table.from_pylist(ROWS, schema=SCHEMA))
    return t


def _ids(table, where: str) -> list[str]:
    return sorted(r["id"] for r in table.search().where(where).select(["id"]).to_arrow().to_pylist())


def test_string_literals_match_exactly(table) -> None:
    for row in ROWS:
        assert _ids(table, f"id = {sql_string(row['id'])}") == [row["id"]]
    assert sql_string("it's") == "'it''s'"


@pytest.mark.parametrize(
    ("value", "problem"), [(3, "not_a_string"), (None, "not_a_string"), ("a\x00b", "nul"), ("\ud800", "surrogate")]
)
def test_a_value_that_cannot_be_a_literal_names_the_callers_field(value, problem) -> None:
    assert literal_problem(value) == problem
    with pytest.raises(InvalidArgumentError) as exc:
        sql_string(value, "memory_id")
    assert type(exc.value) is InvalidArgumentError
    assert exc.value.code == "INVALID_ARGUMENT" and exc.value.field == "memory_id"
    assert exc.value.message.startswith("memory_id ")
    # The filter compiler's quoting reports the same problems as filter errors, as it always has.
    with pytest.raises(InvalidFilterError) as filter_exc:
        filter_sql_string(value)
    assert filter_exc.value.code == "INVALID_FILTER" and filter_exc.value.field == "filter"


def test_in_list(table) -> None:
    assert in_list(["plain", "it's"]) == "('plain', 'it''s')"
    wanted = in_list(["plain", "it's", "absent"])
    assert _ids(table, f"id IN {wanted}") == ["it's", "plain"]
    assert in_list([]) == "(NULL)"
    assert _ids(table, f"id IN {in_list([])}") == []
    with pytest.raises(InvalidArgumentError) as exc:
        in_list(["ok", "a\x00"], "keys")
    assert exc.value.field == "keys"


def test_timestamp_literals_are_utc_to_the_microsecond(table) -> None:
    assert ts_literal(T0) == "timestamp '2026-01-02T10:00:00.000000Z'"
    assert ts_literal(datetime(2026, 1, 2, 18, 0, tzinfo=timezone(timedelta(hours=8)))) == ts_literal(T0)
    assert _ids(table, f"at = {ts_literal(T0)}") == ["plain"]
    assert _ids(table, f"at > {ts_literal(T0)}") == ["back\\slash", "it's"]
    # Years before 1000 keep four digits (strftime's %Y would drop the zero on glibc).
    assert ts_literal(datetime(999, 5, 6, tzinfo=timezone.utc)) == "timestamp '0999-05-06T00:00:00.000000Z'"
    assert _ids(table, f"at < {ts_literal(datetime(1000, 1, 1, tzinfo=timezone.utc))}") == ["中文"]


def test_scope_where_skips_wildcard_segments() -> None:
    scope = Scope(app_id="a", tenant_id="it's", agent_id="*", run_id="r1")
    assert scope_where(scope) == "app_id = 'a' AND tenant_id = 'it''s' AND run_id = 'r1'"
    assert scope_where(Scope(app_id="a", tenant_id="t", agent_id="*", run_id="*")) == "app_id = 'a' AND tenant_id = 't'"
