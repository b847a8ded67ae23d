"""Profiles over real HTTP with bearer tokens (uvicorn on 127.0.0.1, the SDK's streamable HTTP client):
each tenant's token fills and reads only its own profile, read tokens read, only admins change schemas.
Offline extractor, HashEmbedder."""

from __future__ import annotations

import json
from typing import Iterator

import pytest

from mem_mcp.extraction.offline import OfflineExtractor
from mem_mcp.server import http_app
from mem_mcp.service import MemoryService

from fakes import HashEmbedder
from mcp_http import LiveServer, call, error_code, http_client

BASIC = [{"name": "年龄", "description": "用户年龄"}, {"name": "居住地", "description": "用户目前居住的城市"}]


@pytest.fixture
def settings(settings):
    """Every tool listed (MEM_MCP_TOOLS=all): this module checks tenant and role fences on all of them;
    test_server_tools.py covers which tools each token lists by default."""
    return settings.model_copy(update={"tools": "all"})


@pytest.fixture
def live(settings, tokens) -> Iterator[LiveServer]:  # noqa: F811
    svc = MemoryService(settings, embedder=HashEmbedder(), extractor=OfflineExtractor())
    with LiveServer(http_app(settings, "streamable-http", svc, tokens=tokens["store"])) as srv:
        yield srv
    svc.close()


async def test_profiles_over_http_are_fenced_by_tenant_and_role(live, tokens):  # noqa: F811
    url = f"{live.base}/mcp"
    async with http_client(url, tokens["alice"]) as alice:
        denied = await call(alice, "create_profile_schema", {"name": "s", "attributes": BASIC})
        assert error_code(denied) == "PERMISSION_DENIED"
    async with http_client(url, tokens["admin"]) as admin:
        sid = (await call(admin, "create_profile_schema", {"name": "s", "attributes": BASIC}))["profile_schema_id"]

    async with http_client(url, tokens["alice"]) as alice:
        filled = await call(
            alice,
            "add_memories",
            {"profile_schema_id": sid, "messages": [{"role": "user", "content": "我今年28岁，我住在杭州"}]},
        )
        assert {e["name"] for e in filled["profile_events"]} == {"年龄", "居住地"}
        assert (
            error_code(await call(alice, "update_profile_schema", {"profile_schema_id": sid, "name": "x"}))
            == "PERMISSION_DENIED"
        )
        assert error_code(await call(alice, "delete_profile_schema", {"profile_schema_id": sid})) == "PERMISSION_DENIED"
    async with http_client(url, tokens["bob"]) as bob:
        await call(
            bob, "add_memories", {"profile_schema_id": sid, "messages": [{"role": "user", "content": "I live in Oslo"}]}
        )
        own = await call(bob, "get_user_profile", {"profile_schema_id": sid})
        assert own["tenant_id"] == "bob" and {a["name"]: a.get("value") for a in own["attributes"]} == {
            "年龄": None,
            "居住地": "Oslo",
        }
        res = await call(bob, "get_user_profile", {"profile_schema_id": sid, "tenant_id": "alice"})
        assert error_code(res) == "INVALID_SCOPE"
        with pytest.raises(Exception):
            await bob.read_resource(f"memory://profiles/{sid}/alice")
        mine = json.loads((await bob.read_resource(f"memory://profiles/{sid}")).contents[0].text)
        assert mine["tenant_id"] == "bob"
        prompt = (await bob.get_prompt("recall_user_context", {"topic": "home"})).messages[0].content.text
        assert "居住地: Oslo" in prompt and "杭州" not in prompt
    async with http_client(url, tokens["alice_reader"]) as reader:
        profile = await call(reader, "get_user_profile", {"profile_schema_id": sid})
        assert {a["name"]: a.get("value") for a in profile["attributes"]} == {"年龄": "28岁", "居住地": "杭州"}
        assert (await call(reader, "list_profile_schemas", {}))["total"] == 1
        denied = await call(
            reader,
            "add_memories",
            {"profile_schema_id": sid, "messages": [{"role": "user", "content": "我搬到上海了"}]},
        )
        assert error_code(denied) == "PERMISSION_DENIED"
    async with http_client(url, tokens["admin"]) as admin:
        other = await call(admin, "get_user_profile", {"profile_schema_id": sid, "tenant_id": "alice"})
        assert {a["name"]: a.get("value") for a in other["attributes"]}["居住地"] == "杭州"
