"""The web face's test harness: `explore-instruct web` as a subprocess and Debian's Chromium driven by Playwright.

One place for what every web test needs, so the browser's flags, the offline rule and the server's start-up are
the same in each (they were copied into three test modules): the page is served as a real subprocess on a free
port; the browser is /usr/bin/chromium (`apt-get install chromium`, never `playwright install`), headless with
`--no-sandbox` (containers have no user namespaces); and every request that leaves the page's own address is
refused and listed, so a test can assert the page works with the network closed (no CDN, fonts or analytics).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
EXE = str(Path(sys.executable).parent / "explore-instruct")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/run installs it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def web_env(**extra: str) -> dict[str, str]:
    """The caller's environment without the project's and Gradio's settings (a developer's token or root would
    change what the page does), loopback never through a proxy, a dummy API key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXPLORE_INSTRUCT_", "GRADIO_"))}
    return env | {"NO_PROXY": "127.0.0.1,localhost", "OPENAI_API_KEY": "sk-dummy", **extra}


def wait_up(proc: subprocess.Popen[bytes], url: str, log: Path, within_s: float = 120) -> None:
    """Until the page answers 200; the server's output in the failure when it died or never came up."""
    deadline = time.monotonic() + within_s
    while True:
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"the page did not come up: {log.read_text()[-3000:]}"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)


@contextlib.contextmanager
def serve_web(
    root: Path, log: Path, *args: str, base_url: str = "http://127.0.0.1:9/v1", env: dict[str, str] | None = None
) -> Iterator[str]:
    """`explore-instruct web --root ROOT` on a free port until the block ends; yields its URL. The log must hold
    no traceback when it stops."""
    port = free_port()
    cmd = [EXE, "web", "--root", str(root), "--model", "openai:scripted", "--base-url", base_url, *args]
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [*cmd, "--port", str(port)], env=env or web_env(), stdout=sink, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}/"
        try:
            wait_up(proc, url, log)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


@dataclass
class Browser:
    """A Chromium profile that may reach only `url`'s origin; `left` lists what the page tried to fetch elsewhere."""

    context: Any
    left: list[str] = field(default_factory=list)

    def page(self) -> Any:
        return self.context.new_page()


@contextlib.contextmanager
def chromium(pw: Any, profile: Path, url: str, **options: Any) -> Iterator[Browser]:
    """Debian's Chromium, headless, downloads accepted; every request off `url` is aborted and recorded."""
    context = pw.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=ARGS, accept_downloads=True, **options
    )
    browser = Browser(context)

    def only_local(route: Any) -> None:
        if route.request.url.startswith(url):
            route.continue_()
        else:  # a CDN, analytics, fonts: refused, and the page must work without them
            browser.left.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    try:
        yield browser
    finally:
        context.close()


def screenshot(page: Any, folder: Path, name: str, copies: Path | None = None) -> Path:
    """A full-page PNG in `folder` (and in `copies`, when given: the closing note's folder); its path."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if copies is not None:
        copies.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copies / path.name)
    return path


def shots_copy() -> Path | None:
    """Where to copy the screenshots too (`$WEB_SHOTS`, e.g. for a closing note), or None."""
    folder = os.environ.get("WEB_SHOTS")
    return Path(folder) if folder else None
