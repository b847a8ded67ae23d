"""mem-mcp: long-term memory for LLM agents over the Model Context Protocol.

Embed the core without MCP::

    from mem_mcp import MemoryService, Settings
    svc = MemoryService(Settings(data_dir="data"))
    svc.add_memories(text="The user prefers tea")
    svc.search_memories(query="what does the user drink?")
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any  # noqa: E402

from .config import Settings  # noqa: E402

if TYPE_CHECKING:
    from .service import AsyncMemoryService, CallContext, MemoryService

__all__ = ["AsyncMemoryService", "CallContext", "MemoryService", "Settings", "__version__"]
_SERVICE_NAMES = {"AsyncMemoryService", "CallContext", "MemoryService"}


def __getattr__(name: str) -> Any:
    # The service (numpy, pyarrow, the extractors) loads on first use: `mem-mcp serve` answers the MCP
    # `initialize` before it is needed.
    if name in _SERVICE_NAMES:
        from . import service

        return getattr(service, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
