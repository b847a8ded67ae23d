"""Turning conversations into memories: the ``Extractor`` protocol and its implementations."""

from .base import (
    CandidateMemory,
    ExistingMemory,
    ExtractionError,
    ExtractionInput,
    ExtractionResult,
    ExtractMessage,
    Extractor,
    ReconcileDecision,
    StrategySpec,
)

__all__ = [
    "CandidateMemory",
    "ExistingMemory",
    "ExtractionError",
    "ExtractionInput",
    "ExtractionResult",
    "ExtractMessage",
    "Extractor",
    "ReconcileDecision",
    "StrategySpec",
]
