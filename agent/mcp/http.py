"""The MCP server over streamable HTTP (`explore-instruct mcp --http`): the same tools as stdio, for clients that
speak HTTP to a plain server (Open WebUI, LibreChat, remote agents, langchain-mcp-adapters).

It binds 127.0.0.1 unless told otherwise. When `EXPLORE_INSTRUCT_MCP_TOKEN` is set, every request must carry
`Authorization: Bearer <token>`; anything else gets 401 before it reaches MCP. The token is compared in
constant time and never printed or logged (uvicorn's access log is off; the start-up line names only the URL).
"""

from __future__ import annotations

import hmac
import json
import os
import socket
import sys
from typing import Any

from mcp.server.fastmcp import FastMCP

from explore_instruct.tools.params import env_name

TOKEN_ENV = env_name("mcp_token")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
Scope = dict[str, Any]


class BearerToken:
    """ASGI middleware: HTTP requests without the right bearer token get 401; the lifespan passes through."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self._token = token.encode("utf-8")

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not self._allowed(scope):
            body = json.dumps({"error": "unauthorized: send Authorization: Bearer <token>"}).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b'Bearer realm="explore-instruct"'),
            ]
            await send({"type": "http.response.start", "status": 401, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        given = b""
        for name, value in scope.get("headers", []):
            if name.lower() == b"authorization":
                given = value
        scheme, _, token = given.partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self._token)


def http_app(server: FastMCP, token: str | None) -> Any:
    """The server's streamable-HTTP app (at /mcp), behind the bearer check when a token is given."""
    app = server.streamable_http_app()
    return BearerToken(app, token) if token else app


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the server starts, so `--port 0` can say which port it got."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ValueError(f"--host {host} --port {port}: cannot listen there ({e.strerror or e})") from None
    sock.listen(128)
    return sock


def serve_http(server: FastMCP, host: str, port: int) -> None:
    """Serve until interrupted; the token comes from the environment only, never a flag (flags show in `ps`)."""
    import uvicorn

    token = os.environ.get(TOKEN_ENV, "").strip() or None
    sock = bind(host, port)
    where = sock.getsockname()
    shown = f"[{where[0]}]" if ":" in where[0] else where[0]
    print(
        f"explore-instruct MCP (streamable HTTP) on http://{shown}:{where[1]}/mcp"
        + (" (bearer token required)" if token else ""),
        file=sys.stderr,
        flush=True,
    )
    if host not in LOOPBACK and not token:
        print(
            f"warning: listening on {host} without {TOKEN_ENV}: anyone who reaches it can start runs", file=sys.stderr
        )
    config = uvicorn.Config(http_app(server, token), log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
