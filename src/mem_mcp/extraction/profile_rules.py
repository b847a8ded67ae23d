"""Transitional alias, to delete at the restructure merge: the profile vocabulary moved to
``mem_mcp.profile_concepts`` and the rules to ``mem_mcp.extraction.offline.profile_rules``. Kept only so
that ``profiles.py`` (owned by another branch) still imports ``name_key``/``near_synonym`` from here; it
does not load the offline rules."""

from __future__ import annotations

from ..profile_concepts import CONCEPTS, Concept, concept_of, name_key, near_synonym

__all__ = ["CONCEPTS", "Concept", "concept_of", "name_key", "near_synonym"]
