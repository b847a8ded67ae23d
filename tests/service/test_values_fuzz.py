"""Written values come back as they were written, or are refused with a typed error (issue 13).

Hypothesis generates metadata, tags, types, texts, store names and scopes with a fixed example budget
(derandomised: the same examples on every run). Metadata JSON cannot carry faithfully (NaN, Infinity,
integers outside signed 64 bits, and null, which the JSON column drops) is an ``INVALID_ARGUMENT`` naming the key; a string that cannot be
encoded (a lone surrogate) is a typed error naming the field; nothing untyped escapes; and no request,
however malformed, stops the request log.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from mem_mcp.errors import MemMcpError

SCOPE = {"app_id": "app", "tenant_id": "t", "agent_id": "g", "run_id": "r"}
INT64 = (-(2**63), 2**63 - 1)
BUDGET = hsettings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
good_leaves = (
    st.booleans() | st.integers(*INT64) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
)
# null is refused too: Lance's JSON column drops null members, so it would not come back.
bad_leaves = (
    st.sampled_from([math.nan, math.inf, -math.inf, None])
    | st.integers(min_value=2**63)
    | st.integers(max_value=-(2**63) - 1)
)
good_json = st.recursive(
    good_leaves, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(keys, kids, max_size=3), max_leaves=8
)
surrogate_text = st.builds(
    lambda a, s, b: a + s + b, st.text(max_size=4), st.characters(categories=["Cs"]), st.text(max_size=4)
)


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same JSON types all the way down (1 and 1.0, True and 1 differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and a == 0.0:
        return math.copysign(1, a) == math.copysign(1, b)
    return a == b


def _count(service) -> int:
    return service.list_memories(scope=SCOPE, limit=1).total


@BUDGET
@given(meta=st.dictionaries(keys, good_json, max_size=4))
def test_metadata_json_can_carry_comes_back_exactly(service, meta):
    # a new text each example: the same text again would answer NONE with the earlier memory
    res = service.add_memories(text=f"The user has metadata {uuid.uuid4().hex}", metadata=meta, scope=SCOPE)
    mid = res.events[0].memory_id
    assert _same(service.get_memory(mid, scope=SCOPE).metadata, meta)
    updated = service.update_memory(mid, metadata=meta, scope=SCOPE).memory
    assert _same(updated.metadata, meta)
    assert _same(service.memory_history(mid, scope=SCOPE).entries[-1].metadata, meta)


@BUDGET
@given(
    key=keys,
    bad=bad_leaves,
    wrap=st.sampled_from(["leaf", "list", "dict"]),
    good=st.dictionaries(keys, good_json, max_size=2),
)
def test_metadata_json_cannot_carry_is_refused_naming_the_key(service, key, bad, wrap, good):
    value = bad if wrap == "leaf" else [1, bad] if wrap == "list" else {"inner": bad}
    meta = {**good, key: value}
    before = _count(service)
    for call in (
        lambda: service.add_memories(text="The user has bad metadata", metadata=meta, scope=SCOPE),
        lambda: service.add_memories(messages=[{"role": "user", "content": "hello"}], metadata=meta, scope=SCOPE),
    ):
        with pytest.raises(MemMcpError) as err:
            call()
        assert err.value.code == "INVALID_ARGUMENT", err.value
        assert (err.value.field or "").startswith("metadata")
        assert key in f"{err.value.field} {err.value.message}", err.value.message
    assert _count(service) == before


def test_updating_with_metadata_json_cannot_carry_changes_nothing(service):
    mid = service.add_memories(text="The user likes tea", metadata={"a": 1}, scope=SCOPE).events[0].memory_id
    for bad in (math.nan, math.inf, 2**64 + 1, -(2**63) - 1):
        with pytest.raises(MemMcpError) as err:
            service.update_memory(mid, metadata={"score": bad}, scope=SCOPE)
        assert err.value.code == "INVALID_ARGUMENT" and "score" in f"{err.value.field} {err.value.message}"
    assert [e.version for e in service.memory_history(mid, scope=SCOPE).entries] == [1]


#: Where a lone surrogate goes, and the field the error must name.
SURROGATE_CASES = {
    "text": ("text", lambda s: {"text": s}),
    "tags": ("tags", lambda s: {"text": "The user is tagged", "tags": ["ok", s]}),
    "type": ("type", lambda s: {"text": "The user is typed", "type": s}),
    "metadata value": ("metadata", lambda s: {"text": "The user has meta", "metadata": {"k": s}}),
    "metadata key": ("metadata", lambda s: {"text": "The user has meta", "metadata": {s: 1}}),
    "message": ("messages[0]", lambda s: {"messages": [{"role": "user", "content": s}]}),
    "store": ("store", lambda s: {"text": "The user has a store", "store": s}),
    "scope": ("scope.agent_id", lambda s: {"text": "The user has a scope", "scope": {**SCOPE, "agent_id": s}}),
}


@pytest.mark.parametrize("case", list(SURROGATE_CASES))
@hsettings(BUDGET, max_examples=5)
@given(bad=surrogate_text)
def test_a_lone_surrogate_is_a_typed_error_naming_the_field(service, case, bad):
    field, kwargs = SURROGATE_CASES[case]
    before = _count(service)
    with pytest.raises(MemMcpError) as err:
        service.add_memories(**{"scope": SCOPE, **kwargs(bad)})
    assert err.value.code != "INVALID_FILTER", f"{case}: {err.value.code} {err.value.message}"
    assert (err.value.field or "").startswith(field), f"{case}: field {err.value.field!r}"
    assert _count(service) == before


@pytest.mark.parametrize("where", ["store", "scope"])
def test_a_nul_in_a_store_name_or_scope_is_not_a_filter_error(service, where):
    kwargs = {"store": "bad\x00store"} if where == "store" else {"scope": {**SCOPE, "run_id": "r\x00"}}
    with pytest.raises(MemMcpError) as err:
        service.add_memories(text="The user writes NUL", **{"scope": SCOPE, **kwargs})
    assert err.value.code != "INVALID_FILTER"
    assert (err.value.field or "").startswith(where)


@BUDGET
@given(bad=surrogate_text)
def test_searching_or_updating_with_a_lone_surrogate_is_typed(service, bad):
    mid = service.add_memories(text="The user likes surrogates", scope=SCOPE).events[0].memory_id
    for call, field in (
        (lambda: service.search_memories(query=bad, scope=SCOPE), "query"),
        (lambda: service.update_memory(mid, text=bad, scope=SCOPE), "text"),
        (lambda: service.update_memory(mid, tags=[bad], scope=SCOPE), "tags"),
        (lambda: service.get_memory(bad, scope=SCOPE), "memory_id"),
    ):
        with pytest.raises(MemMcpError) as err:
            call()
        assert err.value.code != "INVALID_FILTER" or field == "query", err.value
        assert (err.value.field or "").startswith(field), (field, err.value.field, err.value.message)


def test_the_request_log_survives_a_request_with_an_unencodable_value(service):
    """A refused request is logged with what can be logged; the rows after it are written too."""
    for kwargs in (
        {"scope": {**SCOPE, "agent_id": "g\udc00"}},
        {"store": "s\ud800"},
        {"text": "x\ud800y"},
    ):
        with pytest.raises(MemMcpError):
            service.add_memories(**{"text": "The user is fine", "scope": SCOPE, **kwargs})
        service.request_log.flush()
    good = service.add_memories(text="The user is logged", scope=SCOPE)
    service.request_log.flush()
    mine = {"app_id": SCOPE["app_id"], "tenant_id": SCOPE["tenant_id"]}
    logged = service.list_requests(scope=mine, limit=1000).requests
    assert good.request_id in {r.request_id for r in logged}
    refused = [r for r in logged + service.list_requests(limit=1000).requests if r.outcome == "error"]
    assert len(refused) >= 3, refused
