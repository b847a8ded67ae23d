"""Compat shim; removed at merge: the storage layer moved to :mod:`mem_mcp.storage`."""

from .storage import *  # noqa: F403
from .storage import __all__  # noqa: F401
