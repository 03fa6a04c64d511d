"""Diversity at a glance: the `stats` figures of the current (curated) set, per depth and overall, as a table and
as Plotly figures the workbench's Diversity tab shows.

They are read from the curated view (what `sample`, `export` and `stats` use), so a reject or an edit changes them
the next time the tab is drawn. The table and the depth figure come from one pass (ROUGE-L, in Python: seconds on
a 10,000-example run, hence drawn only when the tab is opened); the verb-noun figure (the paper's measure: a
sunburst of root verbs and their objects, as `stats --plots` draws it) needs spaCy, so it waits for its button.
Plotly figures are drawn with the plotly.js that Gradio bundles: nothing is loaded from a CDN.
"""

from __future__ import annotations

from collections import Counter
from statistics import fmean
from typing import Any

from explore_instruct.agent.web.tree_view import RunView
from explore_instruct.tools.dataset.sampling import score_of

STATS_COLUMNS = ["depth", "tasks", "examples", "ROUGE-L within tasks", "ROUGE-L across", "judge mean"]
FONT = {"family": "system-ui, sans-serif"}


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def quick_stats(view: RunView) -> list[list[Any]]:
    """The `stats` figures of the curated set, per depth and overall: tasks, examples, mean ROUGE-L within tasks
    and across the set (lower: more diverse) and the judge's mean (verb-noun pairs apart: spaCy is slow)."""
    from explore_instruct.tools.dataset.coverage import MAX_PAIRS_OVERALL, mean_pairwise_rouge, tree_stats

    tree = view.view.tree
    nodes = list(tree.preorder())
    overall = tree_stats(tree)
    within = overall["rouge_l_within_nodes"]["per_node"]
    rows = []
    for depth in sorted({n.depth for n in nodes}):
        at = [n for n in nodes if n.depth == depth]
        texts = [e.instruction for n in at for e in n.examples]
        scores = [s for n in at for e in n.examples if (s := score_of(e)) is not None]
        inside = [within[n.id] for n in at if n.id in within]
        rows.append(
            [str(depth), len(at), len(texts), _r(fmean(inside)) if inside else None,
             _r(mean_pairwise_rouge(texts, limit=MAX_PAIRS_OVERALL)), _r(fmean(scores), 2) if scores else None]
        )  # fmt: skip
    scores = [s for n in nodes for e in n.examples if (s := score_of(e)) is not None]
    rows.append(
        ["all", overall["tasks"], overall["examples"], overall["rouge_l_within_nodes"]["mean"],
         overall["rouge_l_overall"], _r(fmean(scores), 2) if scores else None]
    )  # fmt: skip
    return rows


def score_counts(view: RunView) -> dict[int, int]:
    """How many curated examples the judge gave each score (empty when the run was not judged)."""
    counts: Counter[int] = Counter()
    for node in view.view.tree.preorder():
        for example in node.examples:
            score = score_of(example)
            if score is not None:
                counts[int(score)] += 1
    return dict(sorted(counts.items()))


def figure(rows: list[list[Any]], scores: dict[int, int]) -> Any:
    """Three panels from the table's rows: examples (and tasks) per depth, ROUGE-L within tasks and across per
    depth and overall (lower is more diverse), and the judge's scores of the curated set."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    depths = [r for r in rows if r[0] != "all"]
    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=("Examples per depth", "ROUGE-L (lower: more diverse)", "Judge scores"),
        horizontal_spacing=0.08,
    )
    fig.add_trace(
        go.Bar(x=[f"depth {r[0]}" for r in depths], y=[r[2] for r in depths], name="examples",
               text=[f"{r[1]} task{'s' if r[1] != 1 else ''}" for r in depths], textposition="auto",
               marker_color="#0072B2"),
        row=1, col=1,
    )  # fmt: skip
    labels = [f"depth {r[0]}" if r[0] != "all" else "all" for r in rows]
    for column, name, colour in ((3, "within tasks", "#009E73"), (4, "across", "#E69F00")):
        fig.add_trace(go.Bar(x=labels, y=[r[column] for r in rows], name=name, marker_color=colour), row=1, col=2)
    if scores:
        fig.add_trace(
            go.Bar(x=[str(s) for s in scores], y=list(scores.values()), name="examples by score",
                   marker_color="#CC79A7"),
            row=1, col=3,
        )  # fmt: skip
    else:
        left, right = fig.layout.xaxis3.domain  # paper coordinates: Gradio's plotly.js places no "x3 domain" refs
        fig.add_annotation(text="not judged", showarrow=False, x=(left + right) / 2, y=0.5, xref="paper", yref="paper")
    fig.update_layout(height=340, margin={"t": 40, "l": 40, "r": 10, "b": 40}, font=FONT, barmode="group",
                      legend={"orientation": "h", "y": -0.2})  # fmt: skip
    return fig


def verb_noun(view: RunView) -> tuple[str, Any]:
    """The paper's verb-noun diversity of the curated set: one line and a verb -> noun sunburst (spaCy)."""
    from explore_instruct.tools.dataset.coverage import tree_instructions, verb_noun_pairs, verb_noun_stats

    pairs = verb_noun_pairs(tree_instructions(view.view.tree))
    vn = verb_noun_stats(pairs)
    top = ", ".join(f"{p.get('verb')} {p.get('noun')} ({p.get('count')})" for p in vn.get("top_pairs", [])[:5])
    line = (
        f"Verb-noun: {vn.get('unique_pairs')} unique pairs, {vn.get('unique_verbs')} verbs in "
        f"{vn.get('instructions')} instructions" + (f"; most used: {top}" if top else "")
    )
    return line, verb_noun_figure(pairs)


def verb_noun_figure(pairs: list[tuple[str | None, str | None]], verbs: int = 20, nouns: int = 4) -> Any:
    """Inner ring: the commonest root verbs; outer ring: each one's commonest direct objects (Self-Instruct's)."""
    import plotly.graph_objects as go

    full = Counter((v, n) for v, n in pairs if v and n)
    by_verb: Counter[str] = Counter()
    for (v, _), c in full.items():
        by_verb[v] += c
    ids, parents, labels, values = [], [], [], []
    for verb, total in by_verb.most_common(verbs):
        ids.append(verb)
        parents.append("")
        labels.append(verb)
        values.append(total)
        for (v, noun), c in sorted(((k, c) for k, c in full.items() if k[0] == verb), key=lambda kc: -kc[1])[:nouns]:
            ids.append(f"{v}/{noun}")
            parents.append(verb)
            labels.append(noun or "")
            values.append(c)
    fig = go.Figure(go.Sunburst(ids=ids, parents=parents, labels=labels, values=values, branchvalues="remainder"))
    fig.update_layout(height=420, margin={"t": 10, "l": 10, "r": 10, "b": 10}, font=FONT)
    return fig
