"""Compat shim; removed at merge: moved to :mod:`mem_mcp.storage.resident`."""

from .storage.resident import *  # noqa: F403
from .storage.resident import __all__  # noqa: F401
