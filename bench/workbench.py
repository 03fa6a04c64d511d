"""The review workbench on a run of 10,000 examples: what the browser waits for against what the server works.

    .venv/bin/python bench/workbench.py                  # a new 10,000-example run (the local test server, ~10-25 s)
    .venv/bin/python bench/workbench.py --run DIR        # an existing run directory instead
    .venv/bin/python bench/workbench.py --repeat 3       # each browser figure is the median of 3 page loads

The run is made by `explore-instruct run` against the local OpenAI-compatible test server (tests/support: depth 2,
breadth 10, 90 examples a task in one call each: 111 tasks, 9,990 examples), served by `explore-instruct web`
in a subprocess, and opened in Debian's Chromium (headless, Playwright) as the browser test does.

- H: the server's own work for a deep link, in this process: opening the run (`Workbench.show_run`: the view,
  task rows, treemap) and the task (`show_task`), cold (first read) and warm (cached view).
- B: in the browser, from navigation: the page's shell (the run box visible), the deep-linked task's examples
  shown, the treemap drawn; then a task opened from the list, and the diversity figures.
- Ratios: (task shown - shell) / H cold: what the page's round trips and rendering add to the server's work to
  open a task (goal: <= 3x); task open from the list / H warm is reported too (it is dominated by the round trip).

Measured here (2 shared CPUs at load 2-4, Debian's Chromium, --repeat 2): H cold 1.08 s, warm 0.04 s; shell
5.35 s, deep-linked task shown 6.42 s (ratio 1.0x), treemap 12.4 s, task from the list 1.42 s, diversity 6.0 s.
The same bench before the treemap was drawn after the task list: task shown 9.75 s (4.1x). Before the tables were
HTML (Gradio's Dataframe; the browser test's figures): the deep-linked task showed 25.7 s after navigation (shell
5.9 s) and a task from the list took 5.2 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.browser import chromium, serve_web
from support.review_run import explore_with_server

TASK, OTHER = "office_part_3_4", ("Office part 7.2", "office_part_7_2")


def server_side(root: Path, run: str) -> dict[str, float]:
    """H: show_run + show_task for the deep link, cold then warm, in this process."""
    from types import SimpleNamespace

    from explore_instruct.agent.runs.limits import Limits
    from explore_instruct.agent.web.workbench import Workbench

    runs = SimpleNamespace(limits=Limits(output_root=str(root)))
    bench = Workbench(SimpleNamespace(background=SimpleNamespace(runs=runs)))  # type: ignore[arg-type]
    out = {}
    for label in ("cold", "warm"):
        started = time.perf_counter()
        bench.show_run(run, TASK)
        bench.show_task(run, TASK, "", None, 1)
        out[label] = time.perf_counter() - started
    return out


def browser_side(url: str, run: str, profile: Path) -> dict[str, float]:
    from playwright.sync_api import expect, sync_playwright

    got: dict[str, float] = {}
    with sync_playwright() as pw, chromium(pw, profile, url, viewport={"width": 1600, "height": 1000}) as b:
        page = b.page()
        started = time.monotonic()
        page.goto(f"{url}?run={run}&task={TASK}")
        expect(page.locator("#wb-run")).to_be_visible(timeout=120_000)
        got["shell"] = time.monotonic() - started
        expect(page.locator("#wb-examples")).to_contain_text(f"{TASK}:x:", timeout=120_000)
        got["task shown"] = time.monotonic() - started
        expect(page.locator("#wb-tree .js-plotly-plot")).to_be_visible(timeout=120_000)
        got["treemap"] = time.monotonic() - started
        box = page.locator("#wb-task input")
        started = time.monotonic()
        box.click()
        box.fill(OTHER[0])
        page.get_by_role("option").filter(has_text=OTHER[0]).first.click()
        expect(page.locator("#wb-examples")).to_contain_text(f"{OTHER[1]}:x:", timeout=120_000)
        got["task from the list"] = time.monotonic() - started
        started = time.monotonic()
        page.get_by_role("tab", name="Diversity").click()
        expect(page.locator("#wb-stats-plot .js-plotly-plot")).to_be_visible(timeout=180_000)
        got["diversity"] = time.monotonic() - started
        assert not b.left, b.left
    return got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, help="an existing run directory (default: make one)")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = Path(tempfile.mkdtemp(prefix="bench-workbench-"))
    if args.run:
        root, run = args.run.resolve().parent, args.run.name
    else:
        root, run = work / "root", "big"
        started = time.monotonic()
        explore_with_server(root, run)
        print(f"run made with the local test server in {time.monotonic() - started:.1f} s")
    h = server_side(root, run)
    print(f"H (server work for the deep link): cold {h['cold']:.2f} s, warm {h['warm']:.3f} s")
    loads = []
    with serve_web(root, work / "web.log", "--similarity", "exact") as url:
        for i in range(args.repeat):
            loads.append(browser_side(url, run, work / f"profile-{i}"))
    b = {k: statistics.median(x[k] for x in loads) for k in loads[0]}
    for name, seconds in b.items():
        print(f"B {name}: {seconds:.2f} s")
    ratio = (b["task shown"] - b["shell"]) / max(h["cold"], 1e-3)
    print(f"(task shown - shell) / H cold = {ratio:.1f}x (goal <= 3x)")
    print(f"task from the list / H warm = {b['task from the list'] / max(h['warm'], 1e-3):.0f}x (the round trip)")


if __name__ == "__main__":
    main()
