"""The review workbench in a real browser (Debian's Chromium, headless, Playwright).

Three runs under one output root: a run of about 10,000 examples made by `explore-instruct run` against the local
OpenAI-compatible test server (one call per task, ~10 s), a constructed run with judge verdicts, drops and a
pruned task, and a small grounded run. A reviewer opens the big run by a deep link and a task from the list (the
page load, task open and diversity times are printed, not asserted: speed goals live in bench/workbench.py),
then curates the small run: a click on the treemap, a click on an example's row, a reject, an edit, a rescue, the
diversity figures redrawn without the rejected example, an export that honours it all, curation.jsonl recording
it; and reads the chunks a grounded task cites, quotes marked. Every request that leaves 127.0.0.1 is refused and
listed (the page must work offline). Screenshots are saved (and copied to $WEB_SHOTS when set); paths printed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.browser import chromium, needs_chromium, screenshot, serve_web, shots_copy
from support.grounded_run import make_grounded_run
from support.review_run import explore_with_server, make_review_run

pytestmark = [pytest.mark.slow, needs_chromium]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, float]]:
    base = tmp_path_factory.mktemp("workbench")
    root = base / "root"
    make_review_run(root, "review")
    make_grounded_run(root, "grounded")
    started = time.monotonic()
    explore_with_server(root, "big", breadth=10, per_task=90)  # 111 tasks, 9,990 examples
    made_s = time.monotonic() - started
    with serve_web(root, base / "web.log", "--similarity", "exact") as url:
        yield url, root, made_s


def pick_task(page: Any, name: str) -> None:
    box = page.locator("#wb-task input")
    box.click()
    box.fill(name)
    page.get_by_role("option", name=re.compile(re.escape(name))).first.click()


def all_row(page: Any) -> str:
    """The Diversity table's overall row as text ("all  tasks  examples ...")."""
    return str(page.locator("#wb-stats tr").filter(has_text=re.compile(r"^\s*all")).first.inner_text())


def test_a_reviewer_curates_a_run_in_the_browser(served: tuple[str, Path, float], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, root, made_s = served
    copies = shots_copy()
    shots: list[Path] = []
    timings: dict[str, float] = {}

    def shot(page: Any, name: str) -> None:
        shots.append(screenshot(page, tmp_path, f"workbench-{name}", copies))

    with (
        sync_playwright() as pw,
        chromium(pw, tmp_path / "profile", url, viewport={"width": 1600, "height": 1000}) as b,
    ):
        page = b.page()

        # ---- the 10,000-example run: a deep link to a task, another task from the list, the diversity figures
        started = time.monotonic()
        page.goto(f"{url}?run=big&task=office_part_3_4")
        expect(page.locator("#wb-run")).to_be_visible(timeout=60_000)
        timings["page shell"] = time.monotonic() - started
        expect(page.locator("#wb-task-info")).to_contain_text("Office part 3.4", timeout=60_000)
        expect(page.locator("#wb-examples")).to_contain_text("office_part_3_4:x:", timeout=30_000)
        timings["deep-linked task shown"] = time.monotonic() - started
        expect(page.locator("#wb-tree .js-plotly-plot")).to_be_visible(timeout=30_000)
        timings["treemap drawn"] = time.monotonic() - started
        expect(page.locator("#wb-summary")).to_contain_text("111 tasks, 9990 examples kept")
        started = time.monotonic()
        pick_task(page, "Office part 7.2")
        expect(page.locator("#wb-task-info")).to_contain_text("Office part 7.2", timeout=30_000)
        expect(page.locator("#wb-examples")).to_contain_text("office_part_7_2:x:", timeout=30_000)
        timings["task open from the list"] = time.monotonic() - started
        started = time.monotonic()
        page.locator("#wb-page input").fill("3")
        page.locator("#wb-page input").press("Enter")
        expect(page.locator("#wb-page-line")).to_contain_text("page 3 of 4 · 90 examples", timeout=30_000)
        timings["next page"] = time.monotonic() - started
        started = time.monotonic()
        page.get_by_role("tab", name="Diversity").click()
        expect(page.locator("#wb-stats")).to_contain_text("all", timeout=90_000)
        expect(page.locator("#wb-stats-plot .js-plotly-plot")).to_be_visible(timeout=30_000)
        timings["diversity figures"] = time.monotonic() - started
        assert "9990" in all_row(page)
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
        page.get_by_role("tab", name="Sources").click()
        expect(page.locator("#wb-sources")).to_contain_text("not grounded", timeout=10_000)
        page.get_by_role("tab", name="Diversity").click()
        expect(page.locator("#wb-stats")).to_contain_text("all", timeout=30_000)
        before = all_row(page)
        page.locator("#wb-verbs").click()  # spaCy's count, or one line naming what to install where it is missing
        expect(page.locator("#wb-verb-line")).to_contain_text(
            re.compile(r"Verb-noun: \d+ unique pairs|spaCy"), timeout=60_000
        )
        if "Verb-noun:" in page.locator("#wb-verb-line").inner_text():
            expect(page.locator("#wb-verb-plot .js-plotly-plot")).to_be_visible(timeout=30_000)
        page.get_by_role("tab", name="Examples").click()
        pick_task(page, "Subtask 0.0 of t0")
        expect(info).to_contain_text("Subtask 0.0 of t0", timeout=20_000)
        table = page.locator("#wb-examples")
        expect(table).to_contain_text("t0s0:x:", timeout=20_000)
        ids = re.findall(r"t0s0:x:\d+", table.inner_text())
        gone, fixed = ids[0], ids[1]
        shot(page, "task")

        table.locator(f'tr[data-id="{gone}"]').click()  # a click on the row opens the example in the editor
        expect(page.locator("#wb-ex-id textarea, #wb-ex-id input").first).to_have_value(gone, timeout=10_000)
        expect(page.locator("#wb-ins textarea")).to_have_value(re.compile("item 0 for t0s0"), timeout=10_000)
        page.locator("#wb-note textarea, #wb-note input").first.fill("off topic")
        page.locator("#wb-reject").click()
        msg = page.locator("#wb-msg")
        expect(msg).to_contain_text("reject: recorded 1", timeout=20_000)
        expect(table.locator(f'tr[data-id="{gone}"]')).to_contain_text("rejected", timeout=20_000)

        table.locator(f'tr[data-id="{fixed}"]').click()
        expect(page.locator("#wb-ex-id textarea, #wb-ex-id input").first).to_have_value(fixed, timeout=10_000)
        expect(page.locator("#wb-ins textarea")).to_have_value(re.compile("item 1 for t0s0"), timeout=10_000)
        page.locator("#wb-ins textarea").fill("Edited in the browser: write a short memo.")
        page.locator("#wb-note textarea, #wb-note input").first.fill("clearer")
        page.locator("#wb-save").click()
        expect(msg).to_contain_text("edit: recorded 1", timeout=20_000)
        expect(table).to_contain_text("Edited in the browser", timeout=20_000)
        expect(page.locator("#wb-summary")).to_contain_text("1 rejected, 1 edited", timeout=20_000)
        shot(page, "curated")
        page.get_by_role("tab", name="Diversity").click()  # redrawn after the decisions: one example fewer
        expect(page.locator("#wb-stats tr").filter(has_text=re.compile(r"^\s*all")).first).not_to_have_text(
            before, timeout=30_000
        )
        assert int(all_row(page).split()[2]) == int(before.split()[2]) - 1
        page.get_by_role("tab", name="Examples").click()

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

        # ---- a grounded run: the chunks a task's examples cite, the quotes marked
        page.goto(f"{url}?run=grounded&task=email_part_1")
        expect(info).to_contain_text("Email part 1", timeout=30_000)
        page.get_by_role("tab", name="Sources").click()
        sources = page.locator("#wb-sources")
        expect(sources.locator("mark").first).to_be_visible(timeout=20_000)
        expect(sources).to_contain_text("cited by")
        assert re.search(r"\.(md|pdf) · ", sources.inner_text())
        shot(page, "sources")

        started = time.monotonic()  # the big run again, the page's files now in the browser's cache
        page.goto(f"{url}?run=big&task=office_part_5_5")
        expect(page.locator("#wb-examples")).to_contain_text("office_part_5_5:x:", timeout=60_000)
        timings["page load again (cached), to the task"] = time.monotonic() - started
        left = list(b.left)

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
    print(f"\n10,000-example run made with the local test server in {made_s:.1f} s (9,990 examples, 111 tasks)")
    for name, seconds in timings.items():
        print(f"  {name}: {seconds:.2f} s")
    for path in shots:
        assert path.stat().st_size > 10_000
        print(f"screenshot: {path}")
