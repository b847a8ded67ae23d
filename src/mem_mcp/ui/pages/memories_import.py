"""``POST /memories/import``: a JSON Lines file sent by the page's script streams its progress back; the
same form posted without the script imports in one request and goes back to the list."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from ...errors import InvalidArgumentError, MemMcpError
from ..console import Pages, Visit
from ..i18n import LANG_COOKIE, negotiate, translator
from ..security import CSRF_HEADER, csrf_ok

log = logging.getLogger(__name__)

MAX_IMPORT_BYTES = 256 * 1024 * 1024


class ImportPages(Pages):
    async def import_(self, request: Request) -> Response:
        """Import a JSON Lines file sent as the request body; the answer streams progress as JSON Lines
        (``{"done": n, "total": N}`` …, then ``{"imported": N}`` or ``{"error": "CODE: message"}``)."""
        session, cookies = self.console.session(request)
        lang = negotiate(request.headers.get("accept-language"), request.cookies.get(LANG_COOKIE))
        t = translator(lang)
        ctx, _ = self.console.context(session)
        if ctx is None:
            # 403, not 401: the team server turns every 401 into its bearer-token answer for MCP clients.
            return JSONResponse({"error": "UNAUTHENTICATED: sign in first."}, status_code=403)
        store = request.query_params.get("store") or "default"
        size = int(request.headers.get("content-length") or 0)
        if size > MAX_IMPORT_BYTES:
            return JSONResponse(
                {
                    "error": f"INVALID_ARGUMENT: the file is larger than {MAX_IMPORT_BYTES >> 20} MiB; "
                    "import it with `mem-mcp import` instead."
                },
                status_code=413,
            )
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            return await self._import_form(request)  # the form posted without the page's script
        if not csrf_ok(session, request.headers.get(CSRF_HEADER)):
            return JSONResponse({"error": f"PERMISSION_DENIED: {t('csrf_refused')}"}, status_code=403)
        body = await request.body()
        try:
            lines, records = _read_jsonl(body)
        except MemMcpError as exc:
            return JSONResponse({"error": f"{exc.code}: {exc.message}"}, status_code=400)
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        def put(event: dict[str, Any]) -> None:
            loop.call_soon_threadsafe(events.put_nowait, event)

        def work() -> None:
            done = 0

            def progress(n: int) -> None:
                nonlocal done
                done += n
                put({"done": done, "total": len(records)})

            try:
                put({"imported": self.svc.import_memories(records, store=store, progress=progress, ctx=ctx)})
            except MemMcpError as exc:
                message = exc.message
                record = exc.details.get("record") if hasattr(exc, "details") else None
                if isinstance(record, int) and 0 < record <= len(lines):
                    message = f"line {lines[record - 1]}: {message}"
                put({"error": f"{exc.code}: {message}"})
            except Exception as exc:  # top of a request: report it to the page, log it here
                log.exception("console import failed")
                put({"error": f"INTERNAL: {type(exc).__name__}"})

        async def stream() -> Any:
            yield json.dumps({"done": 0, "total": len(records)}) + "\n"
            task = loop.run_in_executor(None, work)
            while True:
                event = await events.get()
                yield json.dumps(event, ensure_ascii=False) + "\n"
                if "done" not in event:
                    break
            await task

        response = StreamingResponse(stream(), media_type="application/x-ndjson")
        return self.console.set_cookies(response, cookies, request)

    async def _import_form(self, request: Request) -> Response:
        """The import form without script: one request, then back to the list with the count."""

        def work(visit: Visit) -> Response:
            assert visit.form is not None
            upload = visit.form.get("file")
            if upload is None or isinstance(upload, str):
                raise InvalidArgumentError("Choose a JSON Lines file to import.", field="file")
            lines, records = _read_jsonl(upload.file.read())
            store = visit.query.get("store") or "default"
            try:
                count = self.svc.import_memories(records, store=store, ctx=visit.ctx)
            except InvalidArgumentError as exc:
                record = exc.details.get("record")
                if not isinstance(record, int) or not 0 < record <= len(lines):
                    raise
                raise InvalidArgumentError(f"line {lines[record - 1]}: {exc.message}", field="file") from exc
            return RedirectResponse(visit.url("/memories", store=store, flash="imported_n", n=count), status_code=303)

        return await self.console.route(work)(request)


def _read_jsonl(body: bytes) -> tuple[list[int], list[Any]]:
    """Records of a JSON Lines file, with the line number of each (blank lines are skipped)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidArgumentError(
            "The file is not UTF-8 text; give a file written by an export.", field="file"
        ) from exc
    lines: list[int] = []
    records: list[Any] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InvalidArgumentError(
                f"line {n} is not valid JSON ({exc.msg}); nothing was imported.", field="file"
            ) from exc
        lines.append(n)
    if not records:
        raise InvalidArgumentError("The file has no records; give a file written by an export.", field="file")
    return lines, records
