"""A scripted stand-in for the Anthropic Messages API, for tests that drive the real ``anthropic`` client.

``FakeAnthropic`` serves ``POST /v1/messages`` on 127.0.0.1 (random port) from a thread. It records
every request (headers and parsed JSON body) and answers from a script, a queue of replies:

- ``tool_answer(input)``: a Messages API response whose content is one ``tool_use`` block;
- ``text_answer(text)``: a response with only a text block (the model did not call the tool);
- ``error(status)``: an Anthropic-style error body (429, 500, 529, 401, ...), with headers;
- ``delay(seconds, then)``: waits before answering, to make the client time out.

Errors carry ``retry-after-ms`` rather than ``retry-after: 0``: the SDK treats a zero ``retry-after``
as absent and falls back to its own backoff (about half a second), which would slow the tests down.

Use it as a context manager (``with FakeAnthropic() as server: ...``) or through a fixture.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = [
    "Delay",
    "ErrorReply",
    "FakeAnthropic",
    "RecordedRequest",
    "Reply",
    "delay",
    "error",
    "text_answer",
    "tool_answer",
]

_ids = itertools.count(1)

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass
class Reply:
    """A successful Messages API response."""

    content: list[dict[str, Any]]
    stop_reason: str = "tool_use"
    model: str | None = None  # None: echo the requested model


@dataclass
class ErrorReply:
    """An HTTP error with an Anthropic-style body."""

    status: int
    message: str = "scripted error"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Delay:
    """Wait ``seconds`` (longer than the client's timeout), then answer ``then`` to whoever still listens."""

    seconds: float
    then: Reply | ErrorReply | None = None


ScriptItem = Reply | ErrorReply | Delay


def tool_answer(answer: dict[str, Any], name: str = "record_memories", stop_reason: str = "tool_use") -> Reply:
    return Reply(
        content=[{"type": "tool_use", "id": f"toolu_fake{next(_ids):04d}", "name": name, "input": answer}],
        stop_reason=stop_reason,
    )


def text_answer(text: str, stop_reason: str = "end_turn") -> Reply:
    return Reply(content=[{"type": "text", "text": text}], stop_reason=stop_reason)


def error(status: int, message: str | None = None, retry_after_ms: int | None = 1, **headers: str) -> ErrorReply:
    """An error reply; keyword headers use ``_`` for ``-`` (``x_should_retry="false"``)."""
    hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
    if retry_after_ms is not None:
        hdrs.setdefault("retry-after-ms", str(retry_after_ms))
    return ErrorReply(status=status, message=message or f"scripted {status}", headers=hdrs)


def delay(seconds: float, then: Reply | ErrorReply | None = None) -> Delay:
    return Delay(seconds=seconds, then=then)


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any

    @property
    def api_key(self) -> str | None:
        """The key the client sent: ``x-api-key``, or ``Authorization: Bearer`` (what SDK 2.x sends)."""
        if "x-api-key" in self.headers:
            return self.headers["x-api-key"]
        auth = self.headers.get("authorization", "")
        return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None


class FakeAnthropic:
    """The server. ``url`` is the base URL for ``anthropic.Anthropic(base_url=...)``."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._script: list[ScriptItem] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        # Handlers stuck in a Delay must not keep the test process alive or block shutdown.
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for the serve loop to notice, 0.5 s by default.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-anthropic", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, items: list[ScriptItem]) -> None:
        """Append replies; each request takes the next one. An exhausted script answers 500, not retried."""
        with self._lock:
            self._script.extend(items)

    @property
    def remaining(self) -> int:
        with self._lock:
            return len(self._script)

    def start(self) -> FakeAnthropic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers waiting in a Delay
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _next(self, request: RecordedRequest) -> ScriptItem | None:
        with self._lock:
            self.requests.append(request)
            return self._script.pop(0) if self._script else None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                pass  # keeps test output clean

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                request = RecordedRequest("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                if self.path.split("?")[0] != "/v1/messages":
                    self._send_error(ErrorReply(404, f"no route {self.path}", {"x-should-retry": "false"}))
                    return
                item = fake._next(request)
                if isinstance(item, Delay):
                    fake._stopping.wait(item.seconds)
                    if item.then is None or fake._stopping.is_set():
                        return
                    item = item.then
                try:
                    if item is None:
                        self._send_error(ErrorReply(500, "fake server script exhausted", {"x-should-retry": "false"}))
                    elif isinstance(item, ErrorReply):
                        self._send_error(item)
                    else:
                        self._send_reply(item, body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout) before the answer came

            def _send_reply(self, reply: Reply, body: Any) -> None:
                model = reply.model or (body.get("model") if isinstance(body, dict) else None) or "claude-fake"
                self._send_json(
                    200,
                    {
                        "id": f"msg_fake{next(_ids):04d}",
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": reply.content,
                        "stop_reason": reply.stop_reason,
                        "stop_sequence": None,
                        "usage": {
                            "input_tokens": 1200,
                            "output_tokens": 180,
                            "cache_creation_input_tokens": 0,
                            "cache_read_input_tokens": 0,
                        },
                    },
                    {},
                )

            def _send_error(self, err: ErrorReply) -> None:
                kind = _ERROR_TYPES.get(err.status, "api_error")
                payload = {"type": "error", "error": {"type": kind, "message": err.message}}
                self._send_json(err.status, payload, err.headers)

            def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.send_header("request-id", f"req_fake{next(_ids):04d}")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler
