"""The review workbench's view-models and handlers without a browser: tree rows and states, the treemap's
columns, the task panel's tables and filters, and decisions that go through `curate.curate`."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from support.review_run import make_review_run

from explore_instruct.agent.runs.limits import Limits
from explore_instruct.agent.web import task_view as tv
from explore_instruct.agent.web import tree_view as tr
from explore_instruct.agent.web.workbench import Workbench
from explore_instruct.tools.dataset import curation
from explore_instruct.tools.dataset.curate import curate
from explore_instruct.tools.dataset.sampling import load_run


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return make_review_run(tmp_path / "root")


def bench(root: Path) -> Workbench:
    limits = Limits(output_root=str(root))
    return Workbench(SimpleNamespace(background=SimpleNamespace(runs=SimpleNamespace(limits=limits))))  # type: ignore[arg-type]


def test_each_task_has_one_state_and_the_treemap_sums_its_children(run: Path) -> None:
    view = tr.open_view(run)
    rows = {r["id"]: r for r in tr.task_rows(view)}
    assert rows["t2"]["state"] == "pruned" and rows["t1"]["state"] == "judged low"
    assert rows["t0s1"]["state"] == "short of target" and rows["t0s0"]["state"] == "explored"
    data = tr.figure_data(tr.task_rows(view))
    at = dict(zip(data["ids"], data["values"], strict=True))
    assert at["t0"] == 6 + 6 + 4 + 6 and at["office_writing"] == sum(max(r["kept"], 1) for r in rows.values())
    assert data["colors"][data["ids"].index("t2")] == tr.STATES["pruned"]
    assert tr.figure(tr.task_rows(view)).data[0].type == "treemap"
    assert [r["id"] for r in tr.find_tasks(list(rows.values()), "T0S")] == ["t0s0", "t0s1", "t0s2"]


def test_rescue_and_pin_change_the_state_and_the_list(run: Path) -> None:
    curate(run, "rescue", ["t2"], who="ann")
    curate(run, "pin", ["t0"], who="ann")
    rows = {r["id"]: r for r in tr.task_rows(tr.open_view(run))}
    assert rows["t2"]["state"] == "rescued" and rows["t0"]["pinned"]
    assert "pinned" in tr.task_label(rows["t0"]) and "rescued" in tr.task_label(rows["t2"])


def test_the_task_panel_shows_examples_drops_and_verdicts(run: Path) -> None:
    view = tr.open_view(run)
    head = tv.header(view, "t0")
    assert "Office writing › Task 0 letters and memos" in head and "Part 0 of office writing." in head
    assert "3 dropped" in head and "judge mean" in head
    assert "rouge 0.9 against Task 0" in tv.header(view, "t2")
    rows = tv.example_rows(view, "t0")
    assert len(rows) == 6 and rows[0]["id"].startswith("t0:x:") and rows[0]["reason"].startswith("Judged")
    drops = tv.drop_rows(view, "t0")
    assert drops[0][0] == "similar_instruction (2)" and drops[0][3] == "Write item 0 for t0." and drops[0][4] == 0.97
    assert drops[-1][0] == "instruction_length (1)" and "1 words" in drops[-1][5]
    cells, page, pages = tv.page_of(rows * 10, 9, size=25)
    assert (page, pages, len(cells)) == (3, 3, 10)  # a page past the end shows the last one
    with pytest.raises(KeyError, match="no task 'nope'"):
        tv.header(view, "nope")


def test_the_filter_is_the_one_a_bulk_reject_applies(run: Path) -> None:
    view = tr.open_view(run)
    rows = tv.example_rows(view, "t1")
    shown = [r["id"] for r in rows if tv.matches(r, "SUMMARIZE", 3)]
    result = curate(run, "reject", match="summarize", below_score=3, task="t1", who="web")
    assert sorted(result["recorded"]) == sorted(shown) and shown
    after = {r["id"]: r["status"] for r in tv.example_rows(tr.open_view(run), "t1")}
    assert all(after[i] == "rejected" for i in shown)


def test_decisions_refresh_what_the_workbench_and_the_export_read(run: Path) -> None:
    wb = bench(run.parent)
    first = wb.show_task("review", "t0", "", None, 1)
    gone, fixed = re.findall(r'data-id="([^"]+)"', first[1])[:2]
    assert wb.decide("review", "reject", [gone], "ann", note="off topic").startswith("reject: recorded 1")
    fields = {"instruction": "Fixed instruction.", "input": "", "output": "Fixed."}
    assert "recorded 1" in wb.decide("review", "edit", [fixed], "ann", fields=fields, note="typo")
    assert wb.decide("review", "reject", [gone], "ann").endswith("1 already so")
    statuses = dict(
        re.findall(r'data-id="([^"]+)"><td>[^<]*</td><td>(\w+)</td>', wb.show_task("review", "t0", "", None, 1)[1])
    )
    assert statuses[gone] == "rejected" and statuses[fixed] == "edited"
    assert wb.load_example("review", "t0", fixed)[1] == "Fixed instruction."
    kept = load_run(run)
    ids = kept.ids["t0"]
    assert gone not in ids and kept.tree.nodes["t0"].examples[ids.index(fixed)].instruction == "Fixed instruction."
    log = curation.read_decisions(run)
    assert [(d.action, d.target, d.who, d.note) for d in log] == [
        ("reject", gone, "ann", "off topic"),
        ("edit", fixed, "ann", "typo"),
    ]
    summary = wb.show_run("review", "t0")[1]
    assert "1 rejected, 1 edited" in summary
    table, fig = wb.show_stats("review")
    total = sum(len(n.examples) for n in kept.tree.preorder())
    assert f"<td>all</td><td>{len(list(kept.tree.preorder()))}</td><td>{total}</td>" in table
    examples_per_depth = fig.data[0]
    assert sum(examples_per_depth.y) == total and [t.name for t in fig.data][:3] == [
        "examples",
        "within tasks",
        "across",
    ]
    assert sum(fig.data[3].y) == total  # the judge's scores of the curated set


def test_bad_input_is_one_line_and_runs_stay_under_the_root(run: Path, tmp_path: Path) -> None:
    wb = bench(run.parent)
    assert wb.decide("review", "reject", ["nope"], "web") == "Error: reject: no example 'nope' in this run"
    assert wb.decide("review", "rescue", ["t0"], "web").startswith("Error: rescue: task 't0' is accepted")
    assert wb.show_run("../elsewhere")[1].startswith("Error: run: '../elsewhere' is outside the output root")
    assert wb.show_task("review", "nope", "", None, 1)[0].startswith("Error: ")


def test_a_tree_directory_is_shown_read_only(run: Path) -> None:
    tree_dir = run.parent / "tree-only"
    (run / "tree").rename(tree_dir)
    out = bench(run.parent).show_run("tree-only")
    assert "read-only" in out[1] and out[3].visible is False
    assert "Error" in bench(run.parent).decide("tree-only", "reject", ["x"], "web")
