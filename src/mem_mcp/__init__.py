"""mem-mcp: long-term memory for LLM agents over the Model Context Protocol.

Embed the core without MCP::

    from mem_mcp import MemoryService, Settings
    svc = MemoryService(Settings(data_dir="data"))
    svc.add_memories(text="The user prefers tea")
    svc.search_memories(query="what does the user drink?")
"""

__version__ = "0.1.0"

from .config import Settings  # noqa: E402
from .service import AsyncMemoryService, CallContext, MemoryService  # noqa: E402

__all__ = ["AsyncMemoryService", "CallContext", "MemoryService", "Settings", "__version__"]
