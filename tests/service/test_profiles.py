"""Profile schemas and user profiles through the service: CRUD, attribute operations, bad input, history,
tenant isolation and the request log (real LanceDB in tmp_path; the offline extractor fills the values)."""

from __future__ import annotations

import pytest

from mem_mcp.errors import (
    AttributeNotFoundError,
    DuplicateAttributeError,
    EmptySchemaError,
    InvalidArgumentError,
    InvalidScopeError,
    PermissionDeniedError,
    ProfileSchemaNotFoundError,
)
from mem_mcp.extraction import ExtractionError
from mem_mcp.extraction.offline import OfflineExtractor
from mem_mcp.scope import ScopeDefaults
from mem_mcp.service import CallContext, MemoryService

from fakes import HashEmbedder

BASIC = [
    {"name": "年龄", "description": "用户年龄"},
    {"name": "爱好", "description": "用户的兴趣爱好"},
    {"name": "职业", "description": "用户职业"},
]

#: Seed 001's example schema: 22 attributes.
SEED_ATTRIBUTES = [
    {"name": "年龄", "description": "用户的年龄", "default_value": "18"},
    {"name": "年龄段", "description": "用户当前所处的年龄阶段(如小学生、初中生、高中生、大学生、青年、中年、老年等)。"},
    {"name": "民族", "description": "用户的民族或种族背景。"},
    {"name": "性别", "description": "用户的性别认同或自我表达。"},
    {"name": "家庭成员", "description": "提及的家庭成员及其关系(如父母、兄弟姐妹、子女等)。"},
    {"name": "居住地", "description": "用户目前居住的城市、地区或国家。"},
    {"name": "饮食习惯", "description": "用户是否有特定饮食偏好或限制(如素食、忌口、节食、酸甜苦辣咸等)。"},
    {"name": "爱好", "description": "用户提到的兴趣爱好、休闲活动等。"},
    {"name": "使用平台", "description": "用户常使用的社交平台、内容平台或设备系统。"},
    {"name": "内容偏好", "description": "用户喜欢阅读或观看的内容类型(如新闻、娱乐、科技、动漫等)。"},
    {"name": "宠物", "description": "用户是否养宠物及其种类、数量。"},
    {"name": "宗教限制", "description": "用户的宗教信仰及相关的禁忌或行为规范。"},
    {"name": "童年经历", "description": "用户提及的童年记忆、成长环境等。"},
    {"name": "人生事件", "description": "用户经历的重要人生节点(如升学、毕业、就业、搬家等)。"},
    {"name": "收藏品/所有物", "description": "用户拥有的贵重物品、收藏品或特别提及的物品。"},
    {"name": "游戏", "description": "用户玩的游戏类型、偏好或成就。"},
    {"name": "负面情绪", "description": "用户表达的焦虑、压力、不满或困扰。"},
    {"name": "幸福来源", "description": "用户提到的让自己感到幸福、满足的事物或经历。"},
    {"name": "家庭关系", "description": "用户与家人之间的关系质量(如亲密、疏远、冲突等)。"},
    {"name": "人生理想/目标", "description": "用户的长远目标、梦想或人生规划。"},
    {"name": "社会关系(朋友圈)", "description": "用户的朋友圈构成、社交习惯或重要社交关系。"},
    {"name": "近期活动", "description": "用户近期所进行的活动或行为。"},
]

SEED_MESSAGES = [
    {"role": "user", "content": "我今年28岁，是一名软件工程师。周末喜欢踢足球。"},
    {"role": "assistant", "content": "很高兴认识你!"},
]


@pytest.fixture
def svc(memory_settings) -> MemoryService:
    service = MemoryService(memory_settings, embedder=HashEmbedder(), extractor=OfflineExtractor())
    yield service
    service.close()


def values(profile) -> dict[str, str | None]:
    return {a.name: a.value for a in profile.attributes}


def tenant(name: str, *, role: str = "write") -> CallContext:
    """A caller bound to app 'shop' and one tenant, as an HTTP token makes it."""
    defaults = ScopeDefaults(
        app_id="shop", tenant_id=name, agent_id="bot", run_id="r1", locked=True, admin=role == "admin"
    )
    return CallContext(defaults, role=role)


# -- schema CRUD -------------------------------------------------------------------------------------


def test_create_get_list_and_delete_a_schema(svc):
    created = svc.create_profile_schema("用户基础画像", BASIC, "包含年龄和兴趣的用户信息")
    assert created.profile_schema_id.startswith("ps_")
    assert [a.name for a in created.attributes] == ["年龄", "爱好", "职业"]
    assert len({a.attribute_id for a in created.attributes}) == 3

    got = svc.get_profile_schema(created.profile_schema_id)
    assert got == created
    other = svc.create_profile_schema("work", [{"name": "employer"}])
    listed = svc.list_profile_schemas()
    assert listed.total == 2
    assert [s.profile_schema_id for s in listed.profile_schemas] == [created.profile_schema_id, other.profile_schema_id]
    assert listed.profile_schemas[0].attribute_count == 3
    assert svc.list_profile_schemas(offset=1, limit=1).profile_schemas[0].name == "work"

    svc.add_memories(messages=SEED_MESSAGES, profile_schema_id=created.profile_schema_id)
    deleted = svc.delete_profile_schema(created.profile_schema_id)
    assert deleted.deleted and deleted.values_deleted == 3
    with pytest.raises(ProfileSchemaNotFoundError) as err:
        svc.get_profile_schema(created.profile_schema_id)
    assert err.value.field == "profile_schema_id" and "list_profile_schemas" in err.value.message
    with pytest.raises(ProfileSchemaNotFoundError):
        svc.get_user_profile(created.profile_schema_id)
    assert svc.list_profile_schemas().total == 1


def test_attribute_operations_add_update_delete(svc):
    schema = svc.create_profile_schema("画像", [*BASIC, {"name": "居住地", "default_value": "未知"}])
    ids = {a.name: a.attribute_id for a in schema.attributes}
    svc.add_memories(messages=SEED_MESSAGES, profile_schema_id=schema.profile_schema_id)

    updated = svc.update_profile_schema(
        schema.profile_schema_id,
        name="画像 v2",
        attribute_operations=[
            {"op": "add", "name": "宠物", "description": "用户养的宠物"},
            {"op": "update", "attribute_id": ids["职业"], "name": "工作岗位", "description": "用户的职位"},
            {"op": "update", "attribute_id": ids["居住地"], "default_value": ""},
            {"op": "delete", "attribute_id": ids["爱好"]},
        ],
    )
    assert updated.name == "画像 v2" and updated.description == ""
    assert [a.name for a in updated.attributes] == ["年龄", "工作岗位", "居住地", "宠物"]
    by_name = {a.name: a for a in updated.attributes}
    assert by_name["工作岗位"].attribute_id == ids["职业"]  # renaming keeps the id, and the value
    assert by_name["居住地"].default_value is None
    assert by_name["宠物"].attribute_id not in ids.values()
    assert svc.get_profile_schema(schema.profile_schema_id) == updated

    profile = svc.get_user_profile(schema.profile_schema_id)
    assert values(profile) == {"年龄": "28岁", "工作岗位": "软件工程师", "居住地": None, "宠物": None}
    # The deleted attribute took its value with it: only 年龄 and 职业 (renamed) remain stored.
    assert svc.delete_profile_schema(schema.profile_schema_id).values_deleted == 2


def test_a_22_attribute_schema_from_the_seed_works(svc):
    schema = svc.create_profile_schema("用户画像001", SEED_ATTRIBUTES, "用户画像001的描述")
    assert len(schema.attributes) == 22
    out = svc.add_memories(messages=SEED_MESSAGES, profile_schema_id=schema.profile_schema_id)
    assert {(e.name, e.event, e.value) for e in out.profile_events} == {
        ("年龄", "ADD", "28岁"),
        ("年龄段", "ADD", "青年"),
        ("爱好", "ADD", "踢足球"),
    }
    profile = svc.get_user_profile(schema.profile_schema_id)
    assert profile.schema_name == "用户画像001" and len(profile.attributes) == 22
    known = {a.name: a.value for a in profile.attributes if a.value is not None}
    assert known == {"年龄": "28岁", "年龄段": "青年", "爱好": "踢足球"}  # no 职业 attribute in this schema


# -- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("姓名", "名字"),
        ("年龄", "岁数"),
        ("年龄", "年纪"),
        ("name", "Full Name"),
        ("age", "years_old"),
        ("年龄", "age"),
        ("居住地", "city"),
        ("爱好", "兴趣"),
        ("hobbies", "interests"),
        ("用户年龄", "年纪"),
    ],
)
def test_near_synonym_attributes_are_refused_with_the_reason(svc, a, b):
    with pytest.raises(DuplicateAttributeError) as err:
        svc.create_profile_schema("s", [{"name": a}, {"name": "职业"}, {"name": b}])
    assert err.value.code == "DUPLICATE_ATTRIBUTE" and err.value.field == "attributes"
    assert a in err.value.message and b in err.value.message
    assert "extraction" in err.value.message and "one attribute per meaning" in err.value.message
    assert svc.list_profile_schemas().total == 0


def test_related_but_different_attributes_are_allowed(svc):
    schema = svc.create_profile_schema(
        "s",
        [
            {"name": "年龄"},
            {"name": "年龄段"},
            {"name": "家庭成员"},
            {"name": "家庭关系"},
            {"name": "居住地"},
            {"name": "家乡"},
        ],
    )
    assert len(schema.attributes) == 6


def test_duplicate_names_empty_schemas_and_bad_shapes_are_typed_errors(svc):
    with pytest.raises(DuplicateAttributeError, match="appears twice"):
        svc.create_profile_schema("s", [{"name": "Age"}, {"name": " age "}])
    with pytest.raises(EmptySchemaError) as err:
        svc.create_profile_schema("s", [])
    assert err.value.code == "EMPTY_SCHEMA" and err.value.field == "attributes"
    with pytest.raises(InvalidArgumentError) as err:
        svc.create_profile_schema("", BASIC)
    assert err.value.field == "name"
    with pytest.raises(InvalidArgumentError) as err:
        svc.create_profile_schema("s", [{"name": "年龄"}, {"description": "no name"}])
    assert err.value.field == "attributes[1].name"
    with pytest.raises(InvalidArgumentError) as err:
        svc.create_profile_schema("s", ["年龄"])
    assert err.value.field == "attributes[0]"
    with pytest.raises(InvalidArgumentError) as err:
        svc.create_profile_schema("s", [{"name": "x" * 65}])
    assert err.value.field == "attributes[0].name"
    with pytest.raises(InvalidArgumentError, match="at most 100"):
        svc.create_profile_schema("s", [{"name": f"attr{i}"} for i in range(101)])
    assert svc.list_profile_schemas().total == 0


def test_bad_update_operations_change_nothing(svc):
    schema = svc.create_profile_schema("s", BASIC)
    ids = [a.attribute_id for a in schema.attributes]
    sid = schema.profile_schema_id

    with pytest.raises(AttributeNotFoundError) as err:
        svc.update_profile_schema(
            sid, attribute_operations=[{"op": "add", "name": "宠物"}, {"op": "delete", "attribute_id": "attr_nope"}]
        )
    assert err.value.code == "ATTRIBUTE_NOT_FOUND" and err.value.field == "attribute_operations[1].attribute_id"
    assert ids[0] in err.value.message  # lists the attributes that exist
    with pytest.raises(DuplicateAttributeError):
        svc.update_profile_schema(sid, attribute_operations=[{"op": "add", "name": "岁数"}])
    with pytest.raises(DuplicateAttributeError):
        svc.update_profile_schema(sid, attribute_operations=[{"op": "update", "attribute_id": ids[2], "name": "年纪"}])
    with pytest.raises(EmptySchemaError):
        svc.update_profile_schema(sid, attribute_operations=[{"op": "delete", "attribute_id": i} for i in ids])
    with pytest.raises(InvalidArgumentError) as err:
        svc.update_profile_schema(sid, attribute_operations=[{"op": "rename", "attribute_id": ids[0]}])
    assert err.value.field == "attribute_operations[0].op"
    with pytest.raises(InvalidArgumentError, match="needs a `name`"):
        svc.update_profile_schema(sid, attribute_operations=[{"op": "add"}])
    with pytest.raises(InvalidArgumentError, match="need an `attribute_id`"):
        svc.update_profile_schema(sid, attribute_operations=[{"op": "delete"}])
    with pytest.raises(InvalidArgumentError, match="changes nothing"):
        svc.update_profile_schema(sid, attribute_operations=[{"op": "update", "attribute_id": ids[0]}])
    with pytest.raises(InvalidArgumentError, match="Nothing to change"):
        svc.update_profile_schema(sid)
    with pytest.raises(ProfileSchemaNotFoundError):
        svc.update_profile_schema("ps_missing", name="x")
    assert svc.get_profile_schema(sid) == schema


def test_add_memories_checks_the_profile_schema_first(svc):
    schema = svc.create_profile_schema("s", BASIC)
    with pytest.raises(ProfileSchemaNotFoundError):
        svc.add_memories(messages=SEED_MESSAGES, profile_schema_id="ps_missing")
    with pytest.raises(InvalidArgumentError, match="different schemas"):
        svc.add_memories(messages=SEED_MESSAGES, profile_schema_id=schema.profile_schema_id, profile_schema="ps_other")
    with pytest.raises(InvalidArgumentError, match="pass `messages`"):
        svc.add_memories(text="用户今年28岁", profile_schema_id=schema.profile_schema_id)
    # Nothing was saved by the refused calls.
    assert svc.list_messages(scope={"agent_id": "default", "run_id": "default"}).messages == []
    assert svc.list_memories().total == 0


# -- values and history ----------------------------------------------------------------------------


def test_unknown_attributes_stay_absent_and_defaults_are_reported_beside_them(svc):
    schema = svc.create_profile_schema("s", [*BASIC, {"name": "居住地", "default_value": "北京"}])
    profile = svc.get_user_profile(schema.profile_schema_id)
    assert all(a.value is None and a.updated_at is None for a in profile.attributes)
    home = profile.attributes[-1].model_dump(mode="json")
    assert "value" not in home and "updated_at" not in home and home["default_value"] == "北京"
    assert profile.tenant_id == "default" and profile.app_id == "default"


def test_a_move_updates_the_residence_and_keeps_the_old_value_in_history(svc):
    schema = svc.create_profile_schema("s", [*BASIC, {"name": "居住地", "description": "用户目前居住的城市"}])
    sid = schema.profile_schema_id
    first = svc.add_memories(messages=[{"role": "user", "content": "我搬到上海了"}], profile_schema_id=sid)
    assert [(e.event, e.name, e.value) for e in first.profile_events] == [("ADD", "居住地", "上海")]
    second = svc.add_memories(messages=[{"role": "user", "content": "上个月我搬到杭州了"}], profile_schema_id=sid)
    assert [(e.event, e.value, e.old_value) for e in second.profile_events] == [("UPDATE", "杭州", "上海")]
    again = svc.add_memories(messages=[{"role": "user", "content": "我住在杭州"}], profile_schema_id=sid)
    assert [e.event for e in again.profile_events] == ["NONE"]

    profile = svc.get_user_profile(sid, include_history=True)
    home = next(a for a in profile.attributes if a.name == "居住地")
    assert home.value == "杭州" and home.source == second.message_ids
    assert [(h.version, h.event, h.value) for h in home.history] == [(1, "ADD", "上海"), (2, "UPDATE", "杭州")]
    assert home.history[0].source == first.message_ids and home.history[0].superseded_at is not None
    assert home.history[0].request_id == first.request_id and home.history[0].extractor == "offline"
    assert home.history[1].superseded_at is None
    # Without include_history, no history is sent.
    assert "history" not in svc.get_user_profile(sid).attributes[-1].model_dump()


def test_hobbies_accumulate_and_forget_clears_a_value(svc):
    schema = svc.create_profile_schema("s", [{"name": "爱好"}, {"name": "居住地"}])
    sid = schema.profile_schema_id
    svc.add_memories(messages=[{"role": "user", "content": "我喜欢踢足球，我住在北京"}], profile_schema_id=sid)
    out = svc.add_memories(messages=[{"role": "user", "content": "我也喜欢游泳"}], profile_schema_id=sid)
    assert [(e.event, e.value, e.old_value) for e in out.profile_events] == [("UPDATE", "踢足球、游泳", "踢足球")]
    gone = svc.add_memories(messages=[{"role": "user", "content": "忘掉我的地址"}], profile_schema_id=sid)
    assert [(e.event, e.name, e.old_value) for e in gone.profile_events] == [("DELETE", "居住地", "北京")]
    profile = svc.get_user_profile(sid, include_history=True)
    assert values(profile) == {"爱好": "踢足球、游泳", "居住地": None}
    assert [h.event for h in profile.attributes[1].history] == ["ADD", "DELETE"]


def test_background_add_fills_the_profile_and_reports_it_in_the_request_status(svc):
    schema = svc.create_profile_schema("s", BASIC)
    out = svc.add_memories(messages=SEED_MESSAGES, profile_schema_id=schema.profile_schema_id, sync=False)
    assert out.status == "pending" and out.profile_events == []
    svc.wait_for_jobs()
    status = svc.get_request(out.request_id)
    assert status.status == "done" and status.profile_schema_id == schema.profile_schema_id
    assert {(e.name, e.value) for e in status.profile_events} == {
        ("年龄", "28岁"),
        ("职业", "软件工程师"),
        ("爱好", "踢足球"),
    }
    assert values(svc.get_user_profile(schema.profile_schema_id))["职业"] == "软件工程师"


class FailsOnce:
    """The offline extractor behind an outage that ends after the first call."""

    name = "offline"
    model = None

    def __init__(self) -> None:
        self.calls = 0

    def extract(self, data):
        self.calls += 1
        if self.calls == 1:
            raise ExtractionError("LLM unreachable. The messages are kept; the extraction job can be retried.")
        return OfflineExtractor().extract(data)


def test_a_retried_job_whose_schema_was_deleted_still_saves_memories(settings, make_service):
    svc = make_service(settings, embedder=HashEmbedder(), extractor=FailsOnce())
    schema = svc.create_profile_schema("s", BASIC)
    out = svc.add_memories(messages=SEED_MESSAGES, profile_schema_id=schema.profile_schema_id)
    assert out.status == "failed"
    svc.delete_profile_schema(schema.profile_schema_id)
    status = svc.retry_request(out.request_id)
    assert status.status == "done" and status.events and status.profile_events == []


def test_a_retried_job_fills_the_profile(settings, make_service):
    svc = make_service(settings, embedder=HashEmbedder(), extractor=FailsOnce())
    schema = svc.create_profile_schema("s", BASIC)
    out = svc.add_memories(messages=SEED_MESSAGES, profile_schema_id=schema.profile_schema_id)
    assert out.status == "failed" and values(svc.get_user_profile(schema.profile_schema_id))["年龄"] is None
    status = svc.retry_request(out.request_id)
    assert {e.name for e in status.profile_events} == {"年龄", "职业", "爱好"}
    assert values(svc.get_user_profile(schema.profile_schema_id))["年龄"] == "28岁"


# -- isolation and the request log ---------------------------------------------------------------


def test_profiles_are_isolated_per_tenant_and_schemas_per_app(svc):
    admin = tenant("ops", role="admin")
    schema = svc.create_profile_schema("shop profile", BASIC, ctx=admin)
    sid = schema.profile_schema_id
    alice, bob = tenant("alice"), tenant("bob")

    svc.add_memories(messages=[{"role": "user", "content": "我今年28岁"}], profile_schema_id=sid, ctx=alice)
    svc.add_memories(messages=[{"role": "user", "content": "I am 41 years old"}], profile_schema_id=sid, ctx=bob)
    assert values(svc.get_user_profile(sid, ctx=alice))["年龄"] == "28岁"
    assert values(svc.get_user_profile(sid, ctx=bob))["年龄"] == "41"
    assert svc.get_user_profile(sid, ctx=alice).tenant_id == "alice"

    # A tenant bound to its credentials cannot read another tenant's profile, nor another app's schemas.
    with pytest.raises(InvalidScopeError) as err:
        svc.get_user_profile(sid, tenant_id="bob", ctx=alice)
    assert err.value.field == "scope.tenant_id"
    with pytest.raises(InvalidScopeError):
        svc.list_profile_schemas(app_id="other", ctx=alice)
    # Schemas are shared by the app's users: readable (even with a read token), but only an admin changes them.
    assert svc.list_profile_schemas(ctx=alice).total == 1
    assert svc.get_profile_schema(sid, ctx=tenant("bob", role="read")).name == "shop profile"
    assert values(svc.get_user_profile(sid, ctx=tenant("alice", role="read")))["年龄"] == "28岁"
    for call in (
        lambda: svc.create_profile_schema("mine", BASIC, ctx=alice),
        lambda: svc.update_profile_schema(sid, name="hacked", ctx=alice),
        lambda: svc.delete_profile_schema(sid, ctx=bob),
    ):
        with pytest.raises(PermissionDeniedError):
            call()
    with pytest.raises(PermissionDeniedError):  # filling a profile is a write
        svc.add_memories(messages=SEED_MESSAGES, profile_schema_id=sid, ctx=tenant("alice", role="read"))
    assert svc.get_profile_schema(sid, ctx=admin).name == "shop profile"
    # An admin may read any tenant's profile; another app sees neither the schema nor the values.
    assert values(svc.get_user_profile(sid, tenant_id="bob", ctx=admin))["年龄"] == "41"
    assert svc.list_profile_schemas().total == 0
    with pytest.raises(ProfileSchemaNotFoundError):
        svc.get_user_profile(sid)
    with pytest.raises(ProfileSchemaNotFoundError):
        svc.add_memories(messages=SEED_MESSAGES, profile_schema_id=sid)


def test_every_profile_operation_is_in_the_request_log(svc):
    schema = svc.create_profile_schema("s", BASIC)
    sid = schema.profile_schema_id
    svc.list_profile_schemas()
    svc.get_profile_schema(sid)
    svc.update_profile_schema(sid, description="d")
    svc.get_user_profile(sid)
    with pytest.raises(DuplicateAttributeError):
        svc.create_profile_schema("bad", [{"name": "姓名"}, {"name": "名字"}])
    svc.delete_profile_schema(sid)
    log = {(r.operation, r.outcome, r.error_code) for r in svc.list_requests(limit=50).requests}
    assert {
        ("CreateProfileSchema", "ok", None),
        ("ListProfileSchemas", "ok", None),
        ("GetProfileSchema", "ok", None),
        ("UpdateProfileSchema", "ok", None),
        ("GetUserProfile", "ok", None),
        ("DeleteProfileSchema", "ok", None),
        ("CreateProfileSchema", "error", "DUPLICATE_ATTRIBUTE"),
    } <= log
    got = svc.list_requests(operation="GetUserProfile").requests[0]
    assert got.detail == sid and got.scope.tenant_id == "default"


def test_a_jobs_table_from_before_profiles_gets_the_new_columns(settings, make_service):
    """Data written by an earlier version: the jobs table lacks the profile columns until it is opened."""
    import pyarrow as pa

    from mem_mcp.storage import JOBS_SCHEMA, Database

    old_schema = pa.schema([f for f in JOBS_SCHEMA if f.name not in ("profile_schema_id", "profile_events")])
    old = Database(settings.database_uri)
    old._table("jobs", old_schema)
    old.insert(
        old.jobs(),
        [
            {
                "request_id": "req_old",
                "store": "default",
                "status": "done",
                "attempts": 1,
                "message_ids": [],
                "events": "[]",
            }
        ],
    )

    svc = make_service(settings, embedder=HashEmbedder(), extractor=OfflineExtractor())
    assert {"profile_schema_id", "profile_events"} <= set(svc.db.jobs().schema.names)
    assert svc.db.rows(svc.db.jobs(), "request_id = 'req_old'")[0]["profile_schema_id"] is None
    schema = svc.create_profile_schema("s", BASIC)
    out = svc.add_memories(messages=SEED_MESSAGES, profile_schema_id=schema.profile_schema_id)
    assert len(out.profile_events) == 3


def test_the_async_service_has_the_profile_operations(svc):
    import asyncio

    from mem_mcp.service import AsyncMemoryService

    async def run() -> None:
        asvc = AsyncMemoryService(svc)
        schema = await asvc.create_profile_schema("s", BASIC)
        await asvc.add_memories(messages=SEED_MESSAGES, profile_schema_id=schema.profile_schema_id)
        profile = await asvc.get_user_profile(schema.profile_schema_id)
        assert values(profile)["爱好"] == "踢足球"

    asyncio.run(run())
