"""The console's pages, one module per group: ``overview`` (``/``), ``memories`` (list, search, detail,
edit, bulk delete, export), ``memories_import`` (import a file), ``profiles``, ``activity`` (request log, retry) and
``signin`` (sign-in, sign-out, language). Each is a ``Pages`` class over the shared ``Console``; the
routes are wired in ``ui.app``."""
