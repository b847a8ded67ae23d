"""One error mapping for tools, resources and prompts (``mem_mcp.server.app.typed_error``): typed
errors keep their code, and an unexpected exception becomes INTERNAL with its traceback logged and
its text kept out of the answer."""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import Implementation

from mem_mcp.server import build_server
from mem_mcp.service import MemoryService


class BreakableEmbedder:
    """An ``Embedder`` that works until ``broken`` is set, then fails as a crashing engine would
    (with a plain exception, not one of ours)."""

    name = "test/breakable-8"
    dim = 8

    def __init__(self) -> None:
        self.broken = False

    def load(self) -> None:
        pass

    def _vec(self, text: str) -> np.ndarray:
        if self.broken:
            raise RuntimeError("engine crashed: secret internal detail")
        vec = np.ones(self.dim, dtype=np.float32)
        vec[len(text) % self.dim] += 1.0
        return vec / np.linalg.norm(vec)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)


@pytest.fixture
def embedder() -> BreakableEmbedder:
    return BreakableEmbedder()


@pytest.fixture
def client(memory_settings, embedder):
    service = MemoryService(memory_settings, embedder=embedder)
    yield Client(
        build_server(memory_settings, service), mode="legacy", client_info=Implementation(name="t", version="1")
    )
    service.close()


async def test_an_unexpected_exception_in_a_tool_is_internal_and_logged(client, embedder, caplog):
    async with client:
        added = await client.call_tool("add_memories", {"text": "The user likes green tea"})
        assert not added.is_error, added
        embedder.broken = True
        with caplog.at_level(logging.ERROR, logger="mem_mcp.server.app"):
            res = await client.call_tool("search_memories", {"query": "what tea"})
    assert res.is_error and res.structured_content is None  # an error has no structured content to validate
    error = res.meta["error"]
    assert error["code"] == "INTERNAL" and "RuntimeError" in error["message"]
    assert "secret internal detail" not in error["message"]
    assert res.content[0].text.startswith("INTERNAL: ")
    (record,) = [r for r in caplog.records if "search_memories" in r.getMessage()]
    assert record.exc_info is not None and "engine crashed" in str(record.exc_info[1])


async def test_a_prompt_fails_with_the_typed_code_like_a_resource(client, embedder, caplog):
    async with client:
        await client.call_tool("add_memories", {"text": "The user likes green tea"})
        with pytest.raises(MCPError) as missing:
            await client.read_resource("memory://stores/nope")
        assert str(missing.value.error.message).startswith("STORE_NOT_FOUND: ")
        embedder.broken = True
        with caplog.at_level(logging.ERROR, logger="mem_mcp.server.app"):
            with pytest.raises(MCPError) as failed:
                await client.get_prompt("recall_user_context", {"topic": "tea"})
    assert failed.value.error.message.startswith("INTERNAL: ")
    assert failed.value.error.data["error"]["code"] == "INTERNAL"
    assert "secret internal detail" not in failed.value.error.message
    assert any(r.exc_info for r in caplog.records if "recall_user_context" in r.getMessage())


async def test_the_sdk_refusals_pass_through(client):
    async with client:
        unknown = await client.call_tool("no_such_tool", {})
        assert unknown.is_error and "no_such_tool" in unknown.content[0].text
        with pytest.raises(MCPError, match="Unknown prompt"):
            await client.get_prompt("no_such_prompt", {})
        with pytest.raises(MCPError, match="Missing required arguments"):
            await client.get_prompt("recall_user_context", {})
        with pytest.raises(MCPError, match="Unknown resource"):
            await client.read_resource("other://x")
