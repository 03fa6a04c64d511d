"""Who may reach the web chat: the Host names it answers to and the optional access token.

A page on 127.0.0.1 is still reachable from any web page the person opens: a hostile site can point its own name
at 127.0.0.1 (DNS rebinding) and script the chat from the browser, which sends that name as `Host`. So every
request (HTTP and websocket) must name a host on the allow-list, port included: the loopback names by default,
the address bound when it is a specific one, and the names the operator adds (`--allow-host`). Starlette's
TrustedHostMiddleware would do, but it drops the port and cannot read an IPv6 literal (`[::1]:7860`).

What a web user's requests may name on the disk is confined here too: a session's own folder is named by its
random id (a uuid the page made), never by a path from the request; an uploaded file is read only from Gradio's
private upload folder of this process (`GRADIO_TEMP_DIR`, set by `app.serve`), so a hand-made API call that names
another path (or a symlink out of that folder) is refused in one line; and a file is stored under its bare name.

The token comes from `EXPLORE_INSTRUCT_WEB_TOKEN` only (never a flag, so it is not in `ps` or shell history),
is checked in constant time through Gradio's own login (which also closes the API and file routes), and is never
printed or logged.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocketClose

from explore_instruct.tools.params import env_name

TOKEN_ENV = env_name("web_token")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
WILDCARDS = {"", "0.0.0.0", "::", "[::]"}


def token() -> str | None:
    """The access token, or None when unset or blank."""
    value = os.environ.get(TOKEN_ENV, "").strip()
    return value or None


def check_token(expected: str) -> Callable[[str, str], bool]:
    """Gradio's `auth=`: any user name, the token as the password."""

    def auth(username: str, password: str) -> bool:
        return secrets.compare_digest(password.encode(), expected.encode())

    return auth


def is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, has_token: bool) -> str | None:
    """A line for an address other machines can reach when no token closes the page."""
    if is_loopback(host) or has_token:
        return None
    return (
        f"warning: --host {host} lets other machines reach the chat and no {TOKEN_ENV} is set: anyone who reaches "
        f"it can start runs on your model and download their data. Set {TOKEN_ENV}, or bind 127.0.0.1."
    )


def _named(name: str) -> str:
    """A Host header's spelling of `name`: lower case, IPv6 literals in brackets."""
    name = name.strip().lower()
    try:
        if ipaddress.ip_address(name).version == 6:
            return f"[{name}]"
    except ValueError:
        pass
    return name


def allowed_hosts(host: str, port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """`name:port` for the loopback names, the bound address (unless a wildcard) and `extra` (which may carry their
    own port); the bare names too on port 80, where browsers leave the port out."""
    names = [*LOOPBACK_NAMES, *([] if host.strip() in WILDCARDS else [host]), *extra]
    out: set[str] = set()
    for name in names:
        spelled = _named(name)
        has_port = spelled.rsplit(":", 1)[-1].isdigit() and (not spelled.startswith("[") or "]:" in spelled)
        if has_port:
            out.add(spelled)
            continue
        out.add(f"{spelled}:{port}")
        if port == 80:
            out.add(spelled)
    return frozenset(out)


class HostCheck:
    """ASGI middleware: a request whose Host is not on the list gets 400 (a websocket is closed), nothing else."""

    def __init__(self, app: Any, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1").lower()
            if host not in self.allowed:
                if scope["type"] == "http":
                    await PlainTextResponse("Invalid host header", status_code=400)(scope, receive, send)
                else:
                    await WebSocketClose(code=1008)(scope, receive, send)
                return
        await self.app(scope, receive, send)


# ---- paths a web user may name


class UploadError(ValueError):
    """An upload refused; one line."""


MAX_FILES = 20


def session_folder(base: Path, session: str) -> Path:
    """`base/<hex of the session's uuid>`; anything but a uuid is a ValueError (never a path from the request)."""
    return base / uuid.UUID(session).hex


def uploaded_paths(files: list[str] | None, upload_root: Path | None = None) -> list[Path]:
    """The uploaded files, each a regular file inside Gradio's upload folder of this process (symlinks resolved);
    anything else is refused in one line."""
    if not files:
        raise UploadError("upload: choose one or more documents first")
    if len(files) > MAX_FILES:
        raise UploadError(f"upload: at most {MAX_FILES} files at a time")
    base = (upload_root or Path(os.environ.get("GRADIO_TEMP_DIR") or "/nonexistent")).resolve()
    out = []
    for name in files:
        path = Path(str(name)).resolve()
        if not path.is_relative_to(base) or not path.is_file():
            raise UploadError(f"upload: {Path(str(name)).name!r} is not a file this page received")
        out.append(path)
    return out


def safe_name(name: str) -> str:
    """A bare file name: no folders, no leading dots, only ordinary characters."""
    base = re.sub(r"[^A-Za-z0-9._ -]", "_", Path(name).name).lstrip(". ") or "document"
    return base[:120]
