"""The Diversity tab's figures: per depth and overall from the curated set, redrawn from what a reject leaves; the
verb-noun sunburst from given pairs (spaCy apart)."""

from __future__ import annotations

from pathlib import Path

from support.review_run import make_review_run

from explore_instruct.agent.web import diversity_view as dv
from explore_instruct.agent.web import tree_view
from explore_instruct.tools.dataset.curate import curate


def test_the_figures_follow_the_curated_set(tmp_path: Path) -> None:
    run = make_review_run(tmp_path / "root")
    view = tree_view.open_view(run)
    rows = dv.quick_stats(view)
    assert [r[0] for r in rows] == ["0", "1", "2", "all"] and rows[-1][2] == sum(r[2] for r in rows[:-1])
    scores = dv.score_counts(view)
    assert sum(scores.values()) == rows[-1][2] and set(scores) <= {2, 3, 4, 5}
    fig = dv.figure(rows, scores)
    assert [t.type for t in fig.data] == ["bar"] * 4 and list(fig.data[0].y) == [r[2] for r in rows[:-1]]
    curate(run, "reject", [view.raw.ids["t0s0"][0]], who="ann")
    after = dv.quick_stats(tree_view.open_view(run))
    assert after[-1][2] == rows[-1][2] - 1 and after[2][2] == rows[2][2] - 1
    unjudged = dv.figure(rows, {})
    assert len(unjudged.data) == 3 and unjudged.layout.annotations[-1].text == "not judged"


def test_the_verb_noun_sunburst_rings_verbs_then_their_objects() -> None:
    pairs = [("write", "email")] * 3 + [("write", "memo"), ("summarize", "report"), (None, None), ("list", None)]
    fig = dv.verb_noun_figure(pairs)
    sun = fig.data[0]
    assert sun.type == "sunburst"
    assert list(sun.ids) == ["write", "write/email", "write/memo", "summarize", "summarize/report"]
    assert list(sun.values) == [4, 3, 1, 1, 1] and list(sun.parents) == ["", "write", "write", "", "summarize"]
