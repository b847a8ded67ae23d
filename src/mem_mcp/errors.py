"""Typed errors of mem-mcp.

Every error carries a stable ``code`` (what a program branches on), the ``field`` at fault when there
is one, and a message written for the caller, human or model, that says what to do next. ``str(exc)``
is that message. The classes also subclass the matching builtin so callers can catch either.
"""

from __future__ import annotations

from typing import Any


class MemMcpError(Exception):
    """Base of every error mem-mcp raises on purpose."""

    code: str = "INTERNAL"

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The wire shape of the error: code, message, field and any details."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            out["field"] = self.field
        if self.details:
            out["details"] = self.details
        return out


class InvalidArgumentError(MemMcpError, ValueError):
    """An argument is malformed or out of range."""

    code = "INVALID_ARGUMENT"


class EmptyTextError(InvalidArgumentError):
    """Text that must carry content is empty or whitespace."""

    code = "EMPTY_TEXT"


class TextTooLongError(InvalidArgumentError):
    """Text is over the documented size limit."""

    code = "TEXT_TOO_LONG"


class InvalidScopeError(InvalidArgumentError):
    """A scope segment is missing, malformed, or a wildcard where a concrete value is needed."""

    code = "INVALID_SCOPE"


class InvalidFilterError(InvalidArgumentError):
    """A filter names an unknown field or operator, or is malformed."""

    code = "INVALID_FILTER"


class EmptySchemaError(InvalidArgumentError):
    """A profile schema would have no attributes."""

    code = "EMPTY_SCHEMA"


class DuplicateAttributeError(InvalidArgumentError):
    """Two attributes of a profile schema have the same name, or names that mean the same thing."""

    code = "DUPLICATE_ATTRIBUTE"


class NotFoundError(MemMcpError, LookupError):
    """Something the caller named does not exist."""

    code = "NOT_FOUND"


class StoreNotFoundError(NotFoundError):
    """The memory store does not exist."""

    code = "STORE_NOT_FOUND"


class MemoryNotFoundError(NotFoundError):
    """No memory with that id exists in the given store and scope."""

    code = "MEMORY_NOT_FOUND"


class RequestNotFoundError(NotFoundError):
    """No request with that id was logged."""

    code = "REQUEST_NOT_FOUND"


class ProfileSchemaNotFoundError(NotFoundError):
    """No profile schema with that id exists for the app."""

    code = "PROFILE_SCHEMA_NOT_FOUND"


class AttributeNotFoundError(NotFoundError):
    """The profile schema has no attribute with that id."""

    code = "ATTRIBUTE_NOT_FOUND"


class AlreadyExistsError(MemMcpError, ValueError):
    """A store with that name already exists."""

    code = "ALREADY_EXISTS"


class EmbeddingMismatchError(MemMcpError, ValueError):
    """The store was created with another embedding model than the one configured."""

    code = "EMBEDDING_MISMATCH"


class ModelUnavailableError(MemMcpError, RuntimeError):
    """The embedding model cannot be loaded."""

    code = "MODEL_UNAVAILABLE"


class ConflictError(MemMcpError, RuntimeError):
    """A concurrent writer kept winning; the write was not applied."""

    code = "CONFLICT"


class PermissionDeniedError(MemMcpError, PermissionError):
    """The caller may not do this."""

    code = "PERMISSION_DENIED"


class RateLimitedError(MemMcpError, RuntimeError):
    """Too many requests for this token; ``details['retry_after_s']`` says when to try again."""

    code = "TOO_MANY_REQUESTS"


class DataDirError(MemMcpError, OSError):
    """The data directory cannot be created or written."""

    code = "DATA_DIR_UNAVAILABLE"


class ExtractionError(MemMcpError, RuntimeError):
    """Extraction failed (LLM unreachable, rate limited past retries, or an invalid answer). The
    messages are already stored; the job can be retried."""

    code = "EXTRACTION_FAILED"
