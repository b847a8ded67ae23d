"""The Claude-backed extractor: one Messages API call per extraction, answered through a forced tool.

``AnthropicExtractor`` is the only module that imports ``anthropic``. It sends a fixed system prompt
(cached), the store's strategies, the existing memories under short ids (m1, m2, ...) and the new
messages under indexes ([0], [1], ...), with a profile schema the attributes to fill under short ids
(a1, a2, ...) with their current values, and forces the model to call the single tool
``record_memories``. The instructions, the answer schema and the checks of an answer against its
request are shared with the MCP sampling extractor (``llm.py``): the tool's input is validated with
pydantic, never parsed from free text, and message indexes are mapped back to ids, so the model never
has to copy (or can invent) a UUID.

Failures all become ``ExtractionError`` (code ``EXTRACTION_FAILED``): the messages are stored before
extraction runs, so every failure message says the job can be retried.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..errors import ExtractionError
from .base import ExtractionInput, ExtractionResult
from .llm import (
    MAX_TOKENS,
    RETRY_HINT,
    SYSTEM_PROMPT,
    TOOL_DESCRIPTION,
    TOOL_NAME,
    CandidateOut,
    DecisionOut,
    ExtractionAnswer,
    build_user_prompt,
    clip,
    invalid_answer,
    parse_tool_input,
    to_result,
)

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import Message, MessageParam, TextBlockParam, ToolParam

__all__ = [
    "DEFAULT_MODEL",
    "MAX_TOKENS",
    "SYSTEM_PROMPT",
    "TOOL_NAME",
    "AnthropicExtractor",
    "CandidateOut",
    "DecisionOut",
    "ExtractionAnswer",
    "build_tool",
    "build_user_prompt",
]

log = logging.getLogger(__name__)

#: The model when none is given: the default of ``Settings.anthropic_model`` (declared there once).
DEFAULT_MODEL: str = Settings.model_fields["anthropic_model"].default


def build_tool() -> ToolParam:
    """The ``record_memories`` tool definition (fixed, so that it caches with the system prompt)."""
    return {
        "name": TOOL_NAME,
        "description": TOOL_DESCRIPTION,
        "input_schema": ExtractionAnswer.model_json_schema(),
        # Tools come first in the cache prefix: a breakpoint here lets the tool definition be reused
        # even by requests whose system prompt would differ.
        "cache_control": {"type": "ephemeral"},
    }


def _retries(n: int) -> str:
    return f"{n} retry" if n == 1 else f"{n} retries"


class AnthropicExtractor:
    """Extracts memories with Claude through the Messages API (tool use, prompt caching).

    ``api_key`` is required unless ``client`` is given; ``base_url`` defaults to ``ANTHROPIC_BASE_URL``
    (read by the SDK itself), then the public API. The SDK retries 408/409/429/5xx (529 included),
    connection errors and timeouts ``max_retries`` times with backoff (honouring ``retry-after``);
    ``timeout`` is per attempt, in seconds. A given ``client`` is used as is (its own retries and
    timeout apply).
    """

    name = "anthropic"

    def __init__(
        self,
        api_key: str,
        model: str = DEFAULT_MODEL,
        base_url: str | None = None,
        max_retries: int = 4,
        timeout: float = 60.0,
        client: anthropic.Anthropic | None = None,
    ) -> None:
        self.model: str = model
        self._owns_client = client is None
        if client is None:
            if not api_key or not api_key.strip():
                raise ExtractionError(
                    "No Anthropic API key: set ANTHROPIC_API_KEY to use the anthropic extractor.", field="api_key"
                )
            # Imported here: the SDK takes about a second to import, and most runs never extract.
            import anthropic

            client = anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=max_retries, timeout=timeout)
        self._client = client
        self._tool = build_tool()

    @property
    def client(self) -> anthropic.Anthropic:
        return self._client

    def close(self) -> None:
        """Release the HTTP connections of a client this extractor created."""
        if self._owns_client:
            self._client.close()

    def extract(self, data: ExtractionInput) -> ExtractionResult:
        """One Messages API call; see the module docstring. Raises ``ExtractionError``."""
        if not data.messages or not (data.strategies or data.profile):
            # Nothing could be extracted, so the call (and its cost) is skipped.
            return ExtractionResult(candidates=[], decisions=None, extractor=self.name, model=self.model)
        message = self._call(build_user_prompt(data))
        return to_result(self._answer(message), data, self.name, self.model)

    # -- the call ---------------------------------------------------------------------------------

    def _call(self, prompt: str) -> Message:
        import anthropic

        system: list[TextBlockParam] = [{"type": "text", "text": SYSTEM_PROMPT, "cache_control": {"type": "ephemeral"}}]
        messages: list[MessageParam] = [{"role": "user", "content": prompt}]
        try:
            message = self._client.messages.create(
                model=self.model,
                max_tokens=MAX_TOKENS,
                system=system,
                tools=[self._tool],
                tool_choice={"type": "tool", "name": TOOL_NAME},
                messages=messages,
            )
        except anthropic.APIStatusError as exc:
            raise self._status_error(exc) from exc
        except anthropic.APITimeoutError as exc:
            raise ExtractionError(
                f"The Anthropic API did not answer in time (timeout {self._timeout_s()}, "
                f"{_retries(self._client.max_retries)}). {RETRY_HINT}",
                reason="timeout",
            ) from exc
        except anthropic.APIConnectionError as exc:
            raise ExtractionError(
                f"Could not reach the Anthropic API at {self._client.base_url} ({exc.__cause__ or exc}; "
                f"{_retries(self._client.max_retries)}). Check the network and ANTHROPIC_BASE_URL. {RETRY_HINT}",
                reason="connection",
            ) from exc
        except anthropic.AnthropicError as exc:
            raise ExtractionError(f"The Anthropic API call failed: {exc}. {RETRY_HINT}", reason="api") from exc
        usage = message.usage
        # Worth watching: a prefix under the model's minimum (4096 tokens for Haiku 4.5) is not cached.
        log.debug(
            "anthropic extraction: %s input, %s cache read, %s cache write, %s output tokens",
            usage.input_tokens,
            usage.cache_read_input_tokens,
            usage.cache_creation_input_tokens,
            usage.output_tokens,
        )
        return message

    def _timeout_s(self) -> str:
        timeout = self._client.timeout
        read = getattr(timeout, "read", timeout)
        return f"{read:g} s" if isinstance(read, int | float) else str(timeout)

    def _status_error(self, exc: anthropic.APIStatusError) -> ExtractionError:
        status = exc.status_code
        what = exc.api_message or str(exc.body or exc.message)
        details: dict[str, Any] = {"status": status, "reason": exc.type or "api_error"}
        if exc.request_id:
            details["request_id"] = exc.request_id
        retries = _retries(self._client.max_retries)
        if status == 401:
            text = f"The Anthropic API rejected the API key (401: {what}). Check ANTHROPIC_API_KEY."
        elif status == 403:
            text = f"The Anthropic API key may not do this (403: {what}). Check ANTHROPIC_API_KEY and its permissions."
        elif status == 404:
            text = f"The Anthropic API does not know this (404: {what}). Check the model name '{self.model}'."
        elif status == 429:
            text = f"The Anthropic API kept rate limiting the request (429: {what}) after {retries}."
        elif status == 529:
            text = f"The Anthropic API is overloaded (529: {what}) and stayed so after {retries}."
        elif status >= 500:
            text = f"The Anthropic API failed ({status}: {what}) and kept failing after {retries}."
        else:
            text = f"The Anthropic API refused the request ({status}: {what})."
        return ExtractionError(f"{clip(text)} {RETRY_HINT}", **details)

    # -- the answer -------------------------------------------------------------------------------

    def _answer(self, message: Message) -> ExtractionAnswer:
        stop = message.stop_reason
        if stop == "max_tokens":
            # A cut-off tool input may still validate, with memories silently missing: never use it.
            raise invalid_answer(f"it was cut off at max_tokens={MAX_TOKENS} (too many messages at once?)")
        block = next((b for b in message.content if b.type == "tool_use" and b.name == TOOL_NAME), None)
        if block is None:
            said = " ".join(b.text for b in message.content if b.type == "text")
            raise invalid_answer(
                f"it did not call {TOOL_NAME} (stop_reason={stop}"
                + (f", text: {clip(said.strip())!r})" if said.strip() else ")")
            )
        return parse_tool_input(block.input)
