"""The transport-free core: every operation of DESIGN §3, used by the MCP server, the CLI, and any
agent that embeds mem-mcp directly. It never imports ``mcp``.

``MemoryService`` (core.py) is the facade over the components of this package; ``AsyncMemoryService``
(aio.py) is the same operations, awaitable; ``CallContext`` (context.py) says who is calling.
"""

from .aio import AsyncMemoryService
from .context import DEFAULT_STORE, OPERATION_ROLES, CallContext, operation_name
from .core import MemoryService

__all__ = [
    "DEFAULT_STORE",
    "OPERATION_ROLES",
    "AsyncMemoryService",
    "CallContext",
    "MemoryService",
    "operation_name",
]
