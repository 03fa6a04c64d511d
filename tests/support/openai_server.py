"""A real, local OpenAI-compatible HTTP server that answers from a script.

Tests point the real `openai` client (through langchain-openai) at it, so retries, Retry-After,
timeouts, broken JSON and cut completions are exercised over an actual socket rather than mocked.

    with ScriptedOpenAIServer() as server:
        server.script(['{"a": 1}', Reply(status=500), Reply(finish_reason="length", content="{")])
        ... ChatOpenAI(base_url=server.base_url, ...) ...
        assert server.request_count == 3

A script entry is a string (the assistant's content, finish_reason "stop"), a `Reply`, or a dict
with `Reply`'s field names. When the script runs out, the `responder` callable (request JSON ->
entry) answers; without one the server answers HTTP 400 "script exhausted", which the client does
not retry, so an unexpected extra call fails loudly instead of hanging.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Reply", "ScriptedOpenAIServer"]


@dataclass
class Reply:
    """One scripted answer. The defaults give a normal 200 completion."""

    content: str | None = ""
    finish_reason: str = "stop"
    # HTTP-level faults: a non-200 status, with optional Retry-After (seconds) and body.
    status: int = 200
    retry_after: float | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # dict -> JSON body; str -> sent as is; None -> an OpenAI-style error body
    # Malformed completions.
    empty_choices: bool = False
    tool_calls: list[dict[str, str]] | None = None  # [{"arguments": "...", "name": optional}]
    refusal: str | None = None
    # Transport faults.
    delay: float = 0.0  # seconds to wait before answering
    drop: bool = False  # close the socket without any response
    # Token accounting; estimated from the text when not given.
    usage: dict[str, int] | None = None

    @classmethod
    def coerce(cls, entry: str | Reply | dict[str, Any]) -> Reply:
        if isinstance(entry, Reply):
            return entry
        if isinstance(entry, str):
            return cls(content=entry)
        if isinstance(entry, dict):
            return cls(**entry)
        raise TypeError(f"a scripted reply must be str, Reply or dict, not {type(entry).__name__}")


Responder = Callable[[dict[str, Any]], "str | Reply | dict[str, Any]"]


def _estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4) if text else 0


def _prompt_text(request: dict[str, Any]) -> str:
    parts: list[str] = []
    for message in request.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "\n".join(parts)


def _tool_name(request: dict[str, Any]) -> str:
    choice = request.get("tool_choice")
    if isinstance(choice, dict):
        name = choice.get("function", {}).get("name")
        if name:
            return str(name)
    tools = request.get("tools") or []
    if tools:
        return str(tools[0].get("function", {}).get("name", "tool"))
    return "tool"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one write: separate small writes meet Nagle + delayed ACK (~40 ms each).
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        owner = self.server.owner
        try:
            request = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send_json(400, {"error": {"message": "request body is not JSON", "type": "invalid_request"}})
            return
        reply = owner._next_reply(request, {k.lower(): v for k, v in self.headers.items()})
        owner._enter()
        try:
            if reply.delay:
                owner._stopping.wait(reply.delay)
            if reply.drop:
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            if reply.status != 200:
                self._send_error_reply(reply)
                return
            if request.get("stream"):
                # langchain-openai only streams when asked to; our calls never are. Fail loudly if that changes.
                self._send_json(400, {"error": {"message": "the scripted server does not stream", "type": "x"}})
                return
            self._send_json(200, owner._completion(request, reply), reply.headers)
        finally:
            owner._leave()

    def _send_error_reply(self, reply: Reply) -> None:
        headers = dict(reply.headers)
        if reply.retry_after is not None:
            headers["Retry-After"] = str(reply.retry_after)
        body = reply.body
        if body is None:
            body = {"error": {"message": f"scripted HTTP {reply.status}", "type": "scripted", "code": None}}
        if isinstance(body, str):
            self._send_bytes(reply.status, body.encode(), "text/plain", headers)
        else:
            self._send_json(reply.status, body, headers)

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), "application/json", headers or {})

    def _send_bytes(self, status: int, data: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            self.close_connection = True


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: ScriptedOpenAIServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed mid-request (the kill tests) resets its socket: expected, not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class ScriptedOpenAIServer:
    """`with ScriptedOpenAIServer() as s:` binds 127.0.0.1 on a free port and serves in a thread."""

    def __init__(
        self,
        replies: Iterable[str | Reply | dict[str, Any]] = (),
        *,
        responder: Responder | None = None,
        model: str | None = None,
    ) -> None:
        self.responder = responder
        self.model = model  # reported model name; defaults to the request's
        self.requests: list[dict[str, Any]] = []
        self.request_headers: list[dict[str, str]] = []  # names lower-cased
        self.request_times: list[float] = []
        self.max_concurrent = 0
        self.exhausted = 0  # requests that found neither script nor responder
        self._in_flight = 0
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.script(replies)

    # ---- lifecycle --------------------------------------------------------------------------------

    def start(self) -> ScriptedOpenAIServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="scripted-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes delayed replies
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> ScriptedOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # ---- scripting --------------------------------------------------------------------------------

    def script(self, replies: Iterable[str | Reply | dict[str, Any]]) -> ScriptedOpenAIServer:
        """Append replies to the queue, answered in order."""
        coerced = [Reply.coerce(r) for r in replies]
        with self._lock:
            self._queue.extend(coerced)
        return self

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self.requests)

    def _next_reply(self, request: dict[str, Any], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(request)
            self.request_headers.append(headers)
            self.request_times.append(time.monotonic())
            if self._queue:
                return self._queue.popleft()
            if self.responder is None:
                self.exhausted += 1
                return Reply(
                    status=400,
                    body={"error": {"message": "ScriptedOpenAIServer: script exhausted", "type": "scripted"}},
                )
        return Reply.coerce(self.responder(request))  # outside the lock: responders may be slow

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.max_concurrent = max(self.max_concurrent, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    # ---- reply bodies -----------------------------------------------------------------------------

    def _completion(self, request: dict[str, Any], reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": reply.refusal}
        completion_text = reply.content or ""
        if reply.tool_calls is not None:
            calls = []
            for call in reply.tool_calls:
                arguments = call.get("arguments", "")
                completion_text += arguments
                calls.append(
                    {
                        "id": f"call_{uuid.uuid4().hex[:24]}",
                        "type": "function",
                        "function": {"name": call.get("name") or _tool_name(request), "arguments": arguments},
                    }
                )
            message["tool_calls"] = calls
            if not reply.content:
                message["content"] = None
        choices = (
            []
            if reply.empty_choices
            else [{"index": 0, "message": message, "logprobs": None, "finish_reason": reply.finish_reason}]
        )
        usage = reply.usage
        if usage is None:
            prompt_tokens = _estimate_tokens(_prompt_text(request))
            completion_tokens = _estimate_tokens(completion_text)
            usage = {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            }
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model or request.get("model", "scripted-model"),
            "system_fingerprint": "fp_scripted",
            "choices": choices,
            "usage": usage,
        }
