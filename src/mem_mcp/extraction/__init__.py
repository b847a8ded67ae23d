"""Turning conversations into memories: the ``Extractor`` protocol and its implementations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import (
    BUILTIN_DESCRIPTIONS,
    BUILTIN_STRATEGIES,
    SUMMARY_TYPE,
    CandidateMemory,
    ExistingMemory,
    ExtractionError,
    ExtractionInput,
    ExtractionResult,
    ExtractMessage,
    Extractor,
    ProfileAttributeSpec,
    ProfileSpec,
    ProfileUpdate,
    ReconcileDecision,
    StrategySpec,
)

if TYPE_CHECKING:
    from ..config import Settings

__all__ = [
    "BUILTIN_DESCRIPTIONS",
    "BUILTIN_STRATEGIES",
    "SUMMARY_TYPE",
    "CandidateMemory",
    "ExistingMemory",
    "ExtractionError",
    "ExtractionInput",
    "ExtractionResult",
    "ExtractMessage",
    "Extractor",
    "ProfileAttributeSpec",
    "ProfileSpec",
    "ProfileUpdate",
    "ReconcileDecision",
    "StrategySpec",
]


def make_extractor(settings: Settings) -> Extractor:
    """The extractor the settings ask for: Anthropic when a key is set (or chosen), else offline.

    With ``sampling`` this is the extractor for callers without an MCP session (the CLI, jobs resumed
    at start-up) and for clients that cannot sample: what ``auto`` would choose. The sampling extractor
    itself is built per request by the MCP server (``mem_mcp.server.sampling.SamplingExtractor``)."""
    choice = "auto" if settings.extractor == "sampling" else settings.extractor
    key = settings.anthropic_api_key.get_secret_value() if settings.anthropic_api_key else None
    if choice == "anthropic" or (choice == "auto" and key):
        if not key:
            from ..errors import InvalidArgumentError

            raise InvalidArgumentError(
                "MEM_MCP_EXTRACTOR=anthropic needs ANTHROPIC_API_KEY; set it or use MEM_MCP_EXTRACTOR=offline.",
                field="extractor",
            )
        from .anthropic import AnthropicExtractor

        return AnthropicExtractor(api_key=key, model=settings.anthropic_model)
    from .offline import OfflineExtractor

    return OfflineExtractor()
