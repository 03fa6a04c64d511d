"""The web chat (`explore-instruct web`) in a real browser: Debian's Chromium, headless, driven by Playwright.

The page is served as a subprocess against the local OpenAI-compatible server; the browser opens it with every
request that leaves 127.0.0.1 refused (the page must work offline), starts a run with `/explore`, approves the
proposals with the button, sees the run finish and the tree drawn, downloads the dataset, and a second tab sees
the same run. Never `playwright install`: the browser is /usr/bin/chromium (`apt-get install chromium`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.openai_server import ScriptedOpenAIServer
from support.scripted import Script

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
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/run installs it)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def page_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    base = tmp_path_factory.mktemp("web")
    root, log = base / "root", base / "web.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXPLORE_INSTRUCT_", "GRADIO_"))}
    env |= {"NO_PROXY": "127.0.0.1,localhost", "OPENAI_API_KEY": "sk-dummy"}
    # A turn waits for the run's review pause up to this long (3 s by default): on a busy machine the pause came
    # later and the chat said only "running", which the review message below does not follow.
    env["EXPLORE_INSTRUCT_CHAT_ANSWER_WITHIN_S"] = "30"
    port = free_port()
    with ScriptedOpenAIServer(responder=Script(delay=0.3).responder) as llm, log.open("w") as sink:
        cmd = [EXE, "web", "--root", str(root), "--model", "openai:scripted", "--base-url", llm.base_url]
        cmd += ["--similarity", "exact", "--port", str(port)]
        proc = subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + 90
            while True:
                assert proc.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, "the page did not come up"
                try:
                    if httpx.get(url, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            yield url, root
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def test_a_person_explores_reviews_and_downloads_in_the_browser(page_url: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import Route, expect, sync_playwright

    url, root = page_url
    left_the_machine: list[str] = []

    def only_local(route: Route) -> None:
        if route.request.url.startswith(url):
            route.continue_()
        else:  # a CDN, analytics, fonts: refused, and the page must work without them
            left_the_machine.append(route.request.url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=ARGS, accept_downloads=True
        )
        browser.route("**/*", only_local)
        page = browser.new_page()
        page.goto(url)
        say(page, "/explore Email writing for work depth=1 breadth=2 examples=2 out=web")
        proposals = page.locator("#proposals")
        expect(proposals).to_contain_text("1. Email part 1", timeout=30_000)
        expect(proposals).to_contain_text("2. Email part 2")
        expect(page.locator("#chat")).to_contain_text("Run web proposes 2 subtasks")

        page.locator("#approve").click()
        expect(page.locator("#chat")).to_contain_text("/approve run=web", timeout=10_000)
        expect(page.locator("#progress")).to_contain_text("web: done", timeout=60_000)
        expect(page.locator("#progress")).to_contain_text("3 tasks · 6 examples")
        expect(page.locator("#tree img")).to_be_visible(timeout=10_000)  # the sunburst of the finished tree

        page.locator("#export").click()
        link = page.locator("#download a").first
        expect(link).to_be_visible(timeout=20_000)
        with page.expect_download() as download:
            link.click()
        saved = tmp_path / "data.jsonl"
        download.value.save_as(saved)
        assert len(saved.read_text().splitlines()) == 6
        # served from Gradio's private copy of this session's export, never from the run directory
        assert str(root) not in (link.get_attribute("href") or "")

        # `hf` is a directory: it downloads as a zip (it showed a bare "Error" and kept it in the box)
        page.locator("#format input").click()
        page.get_by_role("option", name="hf", exact=True).click()
        page.locator("#export").click()
        expect(page.locator("#chat")).to_contain_text("Exported web as hf", timeout=20_000)
        zipped = page.locator("#download a[href$='/web-hf.zip']").first
        expect(zipped).to_be_visible(timeout=20_000)
        with page.expect_download() as download:
            zipped.click()
        archive = tmp_path / "hf.zip"
        download.value.save_as(archive)
        with zipfile.ZipFile(archive) as z:
            assert "README.md" in z.namelist() and any(
                n.endswith((".parquet", ".arrow", ".json")) for n in z.namelist()
            )
        assert "Error" not in page.locator("#download").inner_text()
        shot = tmp_path / "web-run-done.png"
        page.screenshot(path=str(shot), full_page=True)

        other = browser.new_page()  # a second tab: its own conversation, the same runs
        other.goto(url)
        expect(other.locator("#progress")).to_contain_text("web: done", timeout=20_000)
        say(other, "/status nope")
        chat = other.locator("#chat")
        expect(chat).to_contain_text("Error: run: no run 'nope' under the output root.", timeout=10_000)
        assert "Traceback" not in chat.inner_text() and "Traceback" not in page.content()
        browser.close()
    assert (root / "web" / "examples.jsonl").read_text().count("\n") == 6
    assert left_the_machine == [], left_the_machine
    assert shot.stat().st_size > 10_000
    print(f"\nscreenshot: {shot}")


def say(page: Any, text: str) -> None:
    box = page.locator("#say textarea, #say input").first
    box.wait_for(timeout=30_000)
    box.fill(text)
    box.press("Enter")
