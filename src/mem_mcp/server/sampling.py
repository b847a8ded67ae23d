"""Extraction by the MCP client's own model, through MCP sampling (``MEM_MCP_EXTRACTOR=sampling``).

The server builds one ``SamplingExtractor`` per request (``for_request``), holding the request's
session and the event loop it lives on, and passes it to the service with the call
(``CallContext.extractor``). Extraction itself runs in a worker thread (``sync=true``: the thread
``asyncio.to_thread`` gave the tool call; ``sync=false``: the service's job worker), so the sampling
request is sent back onto the server's loop with ``asyncio.run_coroutine_threadsafe`` and awaited
with a timeout (``Settings.sampling_timeout_s``).

The request carries the same instructions as the Anthropic extractor (``llm.py``). A client that
declared ``sampling.tools`` is asked to call the ``record_memories`` tool (``tool_choice`` required)
and the tool input is validated; any other sampling client is asked for one JSON object, validated
with ``ExtractionAnswer.model_validate_json`` (the whole text, or the whole text as one fenced block;
JSON is never cut out of prose).

Where the client did not declare sampling at all (or the connection speaks a protocol version without
server-to-client requests), the request is extracted by the fallback extractor instead (what
``MEM_MCP_EXTRACTOR=auto`` would choose) and a warning says so: a client cannot be made to sample, and
its user still expects the conversation remembered. Everything else fails with ``ExtractionError``
(``EXTRACTION_FAILED``), leaving the job failed and retryable with its messages kept: the client
refused or errored, no answer within the timeout, an invalid answer, or the session ended before a
background job got to it (``retry_request`` from a connected client then uses that client).

This module owns the MCP sampling types; it lives in the MCP adapter (``mem_mcp.server``) because the
service and the extraction package never import ``mcp``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import warnings
from typing import Any, Callable

import anyio
import mcp_types as types
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from ..extraction.base import ExtractionError, ExtractionInput, ExtractionResult, Extractor
from ..extraction.llm import (
    MAX_TOKENS,
    RETRY_HINT,
    TOOL_DESCRIPTION,
    TOOL_NAME,
    ExtractionAnswer,
    build_user_prompt,
    clip,
    invalid_answer,
    parse_json_answer,
    parse_tool_input,
    system_prompt,
    to_result,
)

__all__ = ["SamplingExtractor", "for_request"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 120.0
# Extraction is high-volume and latency-tolerant: a fast, cheap model does; the client may ignore this.
_PREFERENCES = types.ModelPreferences(cost_priority=0.7, speed_priority=0.7, intelligence_priority=0.4)
_SAMPLING = types.ClientCapabilities(sampling=types.SamplingCapability())
_SAMPLING_TOOLS = types.ClientCapabilities(sampling=types.SamplingCapability(tools=types.SamplingToolsCapability()))


class SamplingExtractor:
    """Extracts memories with the connected MCP client's model (one sampling request per extraction).

    ``session`` is the request's ``ServerSession`` and ``loop`` the event loop serving it;
    ``request_id`` (the tool call's id) routes the sampling request onto that call's stream while
    the call is still open. ``fallback`` gives the extractor for a client that cannot sample.
    """

    name = "sampling"

    def __init__(
        self,
        session: Any,
        loop: asyncio.AbstractEventLoop,
        fallback: Callable[[], Extractor],
        *,
        request_id: types.RequestId | None = None,
        client_name: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.model: str | None = None
        self._session = session
        self._loop = loop
        self._fallback = fallback
        self._request_id = request_id
        self._client = client_name or "the MCP client"
        self._timeout = timeout

    def mode(self) -> str | None:
        """How this client can be asked: "tools", "json", or None (it cannot sample)."""
        if self._session.protocol_version in MODERN_PROTOCOL_VERSIONS:
            return None  # 2026-07-28 dropped server-initiated sampling requests (SEP-2577)
        if self._session.check_client_capability(_SAMPLING_TOOLS):
            return "tools"
        if self._session.check_client_capability(_SAMPLING):
            return "json"
        return None

    def extract(self, data: ExtractionInput) -> ExtractionResult:
        """One sampling request; see the module docstring. Raises ``ExtractionError``."""
        if not data.messages or not (data.strategies or data.profile):
            return ExtractionResult(candidates=[], decisions=None, extractor=self.name, model=None)
        mode = self.mode()
        if mode is None:
            fallback = self._fallback()
            log.warning(
                "%s did not declare the MCP sampling capability; extracting with the %s extractor instead",
                self._client,
                fallback.name,
            )
            return fallback.extract(data)
        answer_kind = "tool" if mode == "tools" else "json"
        result = self._sample(mode, system_prompt(answer_kind), build_user_prompt(data, answer_kind))
        answer = _answer(result, mode)
        return to_result(answer, data, self.name, result.model or None)

    # -- the bridge to the server's event loop ----------------------------------------------------

    def _sample(
        self, mode: str, system: str, prompt: str
    ) -> types.CreateMessageResult | types.CreateMessageResultWithTools:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            # Waiting here would block the very loop that has to send the request.
            raise RuntimeError("SamplingExtractor.extract must run in a worker thread, not on the server's loop")
        if self._loop.is_closed() or not self._loop.is_running():
            raise self._gone("the server's event loop has stopped")
        coro = self._create_message(mode, system, prompt)
        try:
            future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        except RuntimeError as exc:  # the loop closed in between
            coro.close()
            raise self._gone(str(exc)) from exc
        try:
            return future.result(timeout=self._timeout)
        except concurrent.futures.TimeoutError as exc:
            future.cancel()
            raise ExtractionError(
                f"{self._client} did not answer the sampling request within {self._timeout:g} s (its user may not "
                f"have approved it). {RETRY_HINT}",
                reason="timeout",
            ) from exc
        except concurrent.futures.CancelledError as exc:  # the loop shut down mid-request
            raise self._gone("the request was cancelled") from exc
        except MCPError as exc:
            if exc.error.code == types.CONNECTION_CLOSED:
                raise self._gone(exc.error.message) from exc
            raise ExtractionError(
                f"{self._client} refused the sampling request ({exc.error.code}: {clip(exc.error.message)}). "
                f"{RETRY_HINT}",
                reason="refused",
                status=exc.error.code,
            ) from exc
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, OSError) as exc:
            raise self._gone(f"{type(exc).__name__}: {exc}") from exc
        except ValidationError as exc:  # the client's result is not a sampling result
            raise invalid_answer(f"{self._client} sent a malformed sampling result ({clip(str(exc))})") from exc

    async def _create_message(
        self, mode: str, system: str, prompt: str
    ) -> types.CreateMessageResult | types.CreateMessageResultWithTools:
        # A request still in flight gets the answer on its own stream (needed on HTTP); once it has been
        # answered (a background job), the connection's standalone channel carries it.
        related = self._request_id if self._session.can_send_request else None
        messages = [types.SamplingMessage(role="user", content=types.TextContent(type="text", text=prompt))]
        with warnings.catch_warnings():
            # Deprecated by the 2026-07-28 protocol, still the way for the handshake versions that sample.
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            if mode == "tools":
                tool = types.Tool(
                    name=TOOL_NAME, description=TOOL_DESCRIPTION, input_schema=ExtractionAnswer.model_json_schema()
                )
                pending = self._session.create_message(
                    messages,
                    max_tokens=MAX_TOKENS,
                    system_prompt=system,
                    model_preferences=_PREFERENCES,
                    tools=[tool],
                    tool_choice=types.ToolChoice(mode="required"),
                    related_request_id=related,
                )
            else:
                pending = self._session.create_message(
                    messages,
                    max_tokens=MAX_TOKENS,
                    system_prompt=system,
                    model_preferences=_PREFERENCES,
                    related_request_id=related,
                )
        return await pending

    def _gone(self, why: str) -> ExtractionError:
        return ExtractionError(
            f"The MCP session that asked for this extraction has ended ({why}), so its model cannot be asked. "
            f"{RETRY_HINT} Call retry_request from a connected client.",
            reason="session_closed",
        )


def _answer(result: types.CreateMessageResult | types.CreateMessageResultWithTools, mode: str) -> ExtractionAnswer:
    """The validated answer of a sampling result."""
    if result.stop_reason == "maxTokens":
        raise invalid_answer(f"it was cut off at max_tokens={MAX_TOKENS} (too many messages at once?)")
    blocks = result.content if isinstance(result.content, list) else [result.content]
    text = "".join(b.text for b in blocks if isinstance(b, types.TextContent))
    if mode == "json":
        if not text.strip():
            raise invalid_answer(f"it holds no text (content: {[b.type for b in blocks]})")
        return parse_json_answer(text)
    call = next((b for b in blocks if isinstance(b, types.ToolUseContent) and b.name == TOOL_NAME), None)
    if call is None:
        said = f", text: {clip(text.strip())!r}" if text.strip() else ""
        raise invalid_answer(f"it did not call {TOOL_NAME} (stop_reason={result.stop_reason}{said})")
    return parse_tool_input(call.input)


def for_request(
    ctx: Any, fallback: Callable[[], Extractor], timeout: float, client_name: str | None
) -> SamplingExtractor:
    """The sampling extractor for the MCP request ``ctx`` (an ``mcp.server.mcpserver.Context``); call it
    on the server's loop, inside the request."""
    request = ctx.request_context
    return SamplingExtractor(
        request.session,
        asyncio.get_running_loop(),
        fallback,
        request_id=request.request_id,
        client_name=client_name,
        timeout=timeout,
    )
