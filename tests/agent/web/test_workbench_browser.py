"""The review workbench in a real browser (Debian's Chromium, headless, Playwright), on constructed runs.

A reviewer opens a finished run by a deep link and a task from the task list, sees its examples, rejects one,
edits another, rescues a pruned task and exports: the export lacks the rejected example and holds the edit, and
curation.jsonl records each decision. Every request that leaves 127.0.0.1 is refused and listed (the page must
work offline: Plotly is drawn with the plotly.js Gradio bundles). A run of about 10,000 examples is opened too;
the page load and task open times are printed, not asserted. Screenshots are saved and their paths printed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agent.web.test_web import ARGS, CHROMIUM, EXE, free_port
from support.review_run import make_review_run

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/run installs it)"),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    base = tmp_path_factory.mktemp("workbench")
    root, log = base / "root", base / "web.log"
    make_review_run(root, "review")
    make_review_run(root, "big", breadth=10, per_task=90)  # 111 tasks, 9,988 examples
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXPLORE_INSTRUCT_", "GRADIO_"))}
    env |= {"NO_PROXY": "127.0.0.1,localhost", "OPENAI_API_KEY": "sk-dummy"}
    port = free_port()
    cmd = [EXE, "web", "--root", str(root), "--model", "openai:scripted", "--base-url", "http://127.0.0.1:9/v1"]
    with log.open("w") as sink:
        proc = subprocess.Popen([*cmd, "--port", str(port)], env=env, stdout=sink, stderr=subprocess.STDOUT)
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


def pick_task(page: Any, name: str) -> None:
    box = page.locator("#wb-task input")
    box.click()
    box.fill(name)
    page.get_by_role("option", name=re.compile(re.escape(name))).first.click()


def load_example(page: Any, eid: str) -> None:
    box = page.locator("#wb-ex-id textarea, #wb-ex-id input").first
    box.fill(eid)
    box.press("Enter")


def test_a_reviewer_curates_a_run_in_the_browser(served: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import Route, expect, sync_playwright

    url, root = served
    left: list[str] = []
    shots: list[Path] = []

    def only_local(route: Route) -> None:
        if route.request.url.startswith(url):
            route.continue_()
        else:
            left.append(route.request.url)
            route.abort()

    def shot(page: Any, name: str) -> None:
        shots.append(tmp_path / f"workbench-{name}.png")
        page.screenshot(path=str(shots[-1]), full_page=True)

    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            accept_downloads=True,
            viewport={"width": 1600, "height": 1000},
        )
        browser.route("**/*", only_local)
        page = browser.new_page()

        # ---- the 10,000-example run: a deep link to a task, then another task from the list
        started = time.monotonic()
        page.goto(f"{url}?run=big&task=t3s4")
        expect(page.locator("#wb-run")).to_be_visible(timeout=60_000)
        shell_s = time.monotonic() - started
        expect(page.locator("#wb-task-info")).to_contain_text("Subtask 3.4 of t3", timeout=60_000)
        expect(page.locator("#wb-examples")).to_contain_text("t3s4:x:", timeout=30_000)
        load_s = time.monotonic() - started
        expect(page.locator("#wb-tree .js-plotly-plot")).to_be_visible(timeout=30_000)
        tree_s = time.monotonic() - started
        started = time.monotonic()
        pick_task(page, "Subtask 7.2 of t7")
        expect(page.locator("#wb-task-info")).to_contain_text("Subtask 7.2 of t7", timeout=30_000)
        expect(page.locator("#wb-examples")).to_contain_text("t7s2:x:", timeout=30_000)
        open_s = time.monotonic() - started
        page.get_by_role("tab", name="Diversity").click()
        expect(page.locator("#wb-stats")).to_contain_text("all", timeout=60_000)
        shot(page, "big-run")
        page.get_by_role("tab", name="Examples").click()

        # ---- the small run: deep link, a click on the treemap, then a task from the list
        page.goto(f"{url}?run=review&task=t1")
        info = page.locator("#wb-task-info")
        expect(info).to_contain_text("Task 1 letters and memos", timeout=30_000)
        expect(info).to_contain_text("judged low")
        label = page.locator("#wb-tree g.slice text").filter(has_text="Task 0 letters and memos").first
        label.wait_for(state="attached", timeout=30_000)
        page.wait_for_timeout(1000)  # the page's script hooks a newly drawn plot within 0.4 s
        at = label.bounding_box()
        assert at is not None
        page.mouse.click(at["x"] + at["width"] / 2, at["y"] + at["height"] / 2)  # plotly's text takes no pointer
        expect(info).to_contain_text("Task 0 letters and memos", timeout=30_000)
        expect(info).to_contain_text("Office writing › Task 0 letters and memos")
        page.get_by_role("tab", name="Drops").click()
        expect(page.locator("#wb-drops")).to_contain_text("similar_instruction (2)", timeout=10_000)
        page.get_by_role("tab", name="Examples").click()
        pick_task(page, "Subtask 0.0 of t0")
        expect(info).to_contain_text("Subtask 0.0 of t0", timeout=20_000)
        table = page.locator("#wb-examples")
        expect(table).to_contain_text("t0s0:x:", timeout=20_000)
        ids = re.findall(r"t0s0:x:\d+", table.inner_text())
        gone, fixed = ids[0], ids[1]
        shot(page, "task")

        load_example(page, gone)
        expect(page.locator("#wb-ins textarea")).to_have_value(re.compile("item 0 for t0s0"), timeout=10_000)
        page.locator("#wb-note textarea, #wb-note input").first.fill("off topic")
        page.locator("#wb-reject").click()
        msg = page.locator("#wb-msg")
        expect(msg).to_contain_text("reject: recorded 1", timeout=20_000)
        expect(table).to_contain_text("rejected", timeout=20_000)

        load_example(page, fixed)
        expect(page.locator("#wb-ex-id textarea, #wb-ex-id input").first).to_have_value(fixed)
        expect(page.locator("#wb-ins textarea")).to_have_value(re.compile("item 1 for t0s0"), timeout=10_000)
        page.locator("#wb-ins textarea").fill("Edited in the browser: write a short memo.")
        page.locator("#wb-note textarea, #wb-note input").first.fill("clearer")
        page.locator("#wb-save").click()
        expect(msg).to_contain_text("edit: recorded 1", timeout=20_000)
        expect(table).to_contain_text("Edited in the browser", timeout=20_000)
        expect(page.locator("#wb-summary")).to_contain_text("1 rejected, 1 edited", timeout=20_000)
        shot(page, "curated")

        pick_task(page, "Task 2 letters and memos")
        expect(info).to_contain_text("pruned", timeout=20_000)
        page.locator("#wb-rescue").click()
        expect(msg).to_contain_text("rescue: recorded 1", timeout=20_000)
        expect(info).to_contain_text("rescued", timeout=20_000)

        page.locator("#wb-export").click()
        link = page.locator("#wb-download a").first
        expect(link).to_be_visible(timeout=30_000)
        assert str(root) not in (link.get_attribute("href") or "")
        with page.expect_download() as download:
            link.click()
        saved = tmp_path / "reviewed.jsonl"
        download.value.save_as(saved)
        shot(page, "exported")
        assert "Traceback" not in page.content()

        started = time.monotonic()  # the big run again, the page's files now in the browser's cache
        page.goto(f"{url}?run=big&task=t5s5")
        expect(page.locator("#wb-examples")).to_contain_text("t5s5:x:", timeout=60_000)
        again_s = time.monotonic() - started
        browser.close()

    rows = [json.loads(line) for line in saved.read_text().splitlines()]
    by_id = {r["id"]: r for r in rows}
    assert gone not in by_id and by_id[fixed]["instruction"] == "Edited in the browser: write a short memo."
    log = [json.loads(line) for line in (root / "review" / "curation.jsonl").read_text().splitlines()]
    assert [(d["action"], d["target"], d["who"], d["note"]) for d in log] == [
        ("reject", gone, "web", "off topic"),
        ("edit", fixed, "web", "clearer"),
        ("rescue", "t2", "web", ""),
    ]
    assert left == [], left
    print(
        f"\n10,000-example run: page load to the deep-linked task {load_s:.2f} s (the page's shell at {shell_s:.2f} s, "
    )
    print(f"treemap drawn at {tree_s:.2f} s); task open from the list {open_s:.2f} s; page load again {again_s:.2f} s")
    for path in shots:
        assert path.stat().st_size > 10_000
        print(f"screenshot: {path}")
