"""Scope rules of DESIGN §2."""

import pytest

from mem_mcp.errors import InvalidScopeError
from mem_mcp.models import ScopeInput
from mem_mcp.scope import ScopeDefaults, resolve_scope

DEFAULTS = ScopeDefaults(app_id="app", tenant_id="alice", agent_id="claude-ai", run_id="run-1")


def test_omitted_segments_come_from_the_connection_on_writes():
    scope = resolve_scope(None, DEFAULTS, "write")
    assert scope.model_dump() == {"app_id": "app", "tenant_id": "alice", "agent_id": "claude-ai", "run_id": "run-1"}


def test_reads_default_to_every_agent_and_run_so_a_new_chat_recalls_old_ones():
    scope = resolve_scope({}, DEFAULTS, "read")
    assert (scope.agent_id, scope.run_id) == ("*", "*")
    assert (scope.app_id, scope.tenant_id) == ("app", "alice")


def test_given_segments_win_and_chinese_is_fine():
    scope = resolve_scope(ScopeInput(run_id="会话-1"), DEFAULTS, "write")
    assert scope.run_id == "会话-1"


@pytest.mark.parametrize("seg", ["agent_id", "run_id"])
def test_wildcards_allowed_on_agent_and_run_for_reads(seg):
    assert getattr(resolve_scope({seg: "*"}, DEFAULTS, "read"), seg) == "*"


@pytest.mark.parametrize("seg", ["app_id", "tenant_id", "agent_id", "run_id"])
def test_wildcard_in_a_write_scope_is_an_error_naming_the_segment(seg):
    with pytest.raises(InvalidScopeError) as err:
        resolve_scope({seg: "*"}, DEFAULTS, "write")
    assert err.value.field == f"scope.{seg}"
    assert "concrete" in str(err.value)


def test_tenant_wildcard_only_for_admin_listing():
    with pytest.raises(InvalidScopeError):
        resolve_scope({"tenant_id": "*"}, DEFAULTS, "list")
    with pytest.raises(InvalidScopeError):
        resolve_scope({"tenant_id": "*"}, DEFAULTS, "read")
    admin = ScopeDefaults(app_id="app", tenant_id="alice", admin=True)
    assert resolve_scope({"tenant_id": "*"}, admin, "list").tenant_id == "*"


@pytest.mark.parametrize("bad", ["", "   ", "a*", "x\ny", "a" * 129])
def test_malformed_segments_are_rejected(bad):
    with pytest.raises(InvalidScopeError) as err:
        resolve_scope({"run_id": bad}, DEFAULTS, "read")
    assert err.value.field == "scope.run_id"


def test_unknown_segment_and_wrong_type():
    with pytest.raises(InvalidScopeError, match="Unknown scope segment"):
        resolve_scope({"user": "x"}, DEFAULTS, "read")
    with pytest.raises(InvalidScopeError, match="must be a string"):
        resolve_scope({"run_id": 5}, DEFAULTS, "read")


def test_locked_defaults_refuse_another_tenant():
    locked = ScopeDefaults(app_id="app", tenant_id="alice", locked=True)
    with pytest.raises(InvalidScopeError, match="bound to your credentials"):
        resolve_scope({"tenant_id": "bob"}, locked, "read")
    assert resolve_scope({"tenant_id": "alice"}, locked, "read").tenant_id == "alice"


def test_by_id_operations_take_the_memorys_own_agent_and_run_but_keep_app_and_tenant():
    # A later conversation (another run, even another client) reaches a memory by its id ...
    later = ScopeDefaults(
        app_id="app", tenant_id="alice", agent_id="other-client", run_id="run-9", read_agent="x", read_run="y"
    )
    scope = resolve_scope(None, later, "id")
    assert scope.model_dump() == {"app_id": "app", "tenant_id": "alice", "agent_id": "*", "run_id": "*"}
    # ... a caller that sends a scope is held to it ...
    assert resolve_scope({"agent_id": "a", "run_id": "r"}, later, "id").model_dump()["run_id"] == "r"
    # ... and the isolation boundary stays: no wildcard tenant, and a token's tenant cannot be overridden.
    with pytest.raises(InvalidScopeError):
        resolve_scope({"tenant_id": "*"}, later, "id")
    locked = ScopeDefaults(app_id="app", tenant_id="alice", locked=True)
    with pytest.raises(InvalidScopeError, match="bound to your credentials"):
        resolve_scope({"tenant_id": "bob"}, locked, "id")
