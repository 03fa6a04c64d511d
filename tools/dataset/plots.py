"""PNG figures of a dataset: the task tree as a sunburst, the verb–noun rings of the paper's fig. 1, examples per depth.

Figures are drawn on `matplotlib.figure.Figure` with the Agg canvas, never through pyplot, so nothing depends
on a display or on global pyplot state.
"""

from __future__ import annotations

import math
import textwrap
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from explore_instruct.tools.dataset.export import ExportError, confined
from explore_instruct.tools.fileio import write_file_atomic
from explore_instruct.tools.tree.model import DomainTree

Pair = tuple[str | None, str | None]
TREE_PNG = "tree.png"
VERB_NOUN_PNG = "verb_noun.png"
DEPTH_PNG = "examples_per_depth.png"


def _figure(size: tuple[float, float]) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ExportError("--plots needs matplotlib: pip install 'explore-instruct[dataset]'") from None
    fig = Figure(figsize=size, dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return [cmap(i % 20) for i in range(n)]


def _lighter(colour: Any, amount: float) -> tuple[float, float, float, float]:
    r, g, b, a = colour
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount, a)


def _short(name: str, width: int = 18) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def plot_tree(tree: DomainTree, path: Path) -> None:
    """Sunburst: rings are depths; a task's angle is the kept examples of its subtree (its own and below)."""
    kids = {n.id: [c for c in tree.children(n.id)] for n in tree.preorder()}
    weight: dict[str, float] = {}
    for node in reversed(list(tree.preorder())):
        below = sum(weight[c.id] for c in kids[node.id])
        weight[node.id] = len(node.examples) + below or (0.0 if kids[node.id] else 1.0)
    if weight[tree.root_id] == 0:
        weight[tree.root_id] = 1.0
    fig = _figure((9, 9))
    ax = fig.add_subplot(projection="polar")
    ax.set_axis_off()
    colours = dict(zip([c.id for c in kids[tree.root_id]], _colours(len(kids[tree.root_id])), strict=True))
    ax.bar(0, 1, width=2 * math.pi, bottom=0, color="#dddddd", edgecolor="none")
    ax.text(0, 0, "\n".join(textwrap.wrap(tree.root.name, 16)[:3]), ha="center", va="center", fontsize=8)

    def draw(node_id: str, start: float, span: float, branch: str | None) -> None:
        total = weight[node_id]
        at = start
        for kid in kids[node_id]:
            width = span * weight[kid.id] / total if total else 0.0
            top = branch or kid.id
            colour = _lighter(colours[top], min(0.6, 0.18 * (kid.depth - 1)))
            ax.bar(at + width / 2, 1, width=width, bottom=kid.depth, color=colour, edgecolor="white", linewidth=0.8)
            if width * (kid.depth + 0.5) > 0.35:
                angle = math.degrees(at + width / 2)
                rotation = angle - 180 if 90 < angle < 270 else angle
                ax.text(
                    at + width / 2, kid.depth + 0.5, _short(kid.name), rotation=rotation,
                    ha="center", va="center", fontsize=7, rotation_mode="anchor",
                )  # fmt: skip
            draw(kid.id, at, width, top)
            at += width

    draw(tree.root_id, 0.0, 2 * math.pi, None)
    depth = max((n.depth for n in tree.preorder()), default=0)
    ax.set_ylim(0, depth + 1)
    gap = "; the open arc is the root's own examples" if tree.root.examples and kids[tree.root_id] else ""
    ax.set_title(f"{_short(tree.root.name, 60)}: tasks sized by kept examples{gap}", fontsize=10)
    fig.savefig(path, format="png", bbox_inches="tight")


def plot_verb_noun(pairs: Sequence[Pair], path: Path, *, verbs: int = 20, nouns: int = 4) -> None:
    """Inner ring: the commonest root verbs; outer ring: each verb's commonest direct-object nouns (Self-Instruct)."""
    full: Counter[tuple[str, str]] = Counter((v, n) for v, n in pairs if v and n)
    by_verb: Counter[str] = Counter()
    for (v, _), c in full.items():
        by_verb[v] += c
    fig = _figure((9, 9))
    ax = fig.add_subplot()
    ax.set_aspect("equal")
    if not full:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no verb–noun pairs found", ha="center", va="center", transform=ax.transAxes)
        fig.savefig(path, format="png", bbox_inches="tight")
        return
    top_verbs = [v for v, _ in by_verb.most_common(verbs)]
    inner_sizes, inner_labels, outer_sizes, outer_labels, outer_colours = [], [], [], [], []
    palette = _colours(len(top_verbs))
    for i, verb in enumerate(top_verbs):
        top_nouns = Counter({n: c for (v, n), c in full.items() if v == verb}).most_common(nouns)
        inner_sizes.append(sum(c for _, c in top_nouns))
        inner_labels.append(verb)
        for j, (noun, count) in enumerate(top_nouns):
            outer_sizes.append(count)
            outer_labels.append(noun)
            outer_colours.append(_lighter(palette[i], 0.25 + 0.12 * j))
    total = sum(inner_sizes)

    def labels(names: list[str], sizes: list[int], share: float) -> list[str]:
        return [n if s / total >= share else "" for n, s in zip(names, sizes, strict=True)]

    ax.pie(
        outer_sizes, radius=1.0, labels=labels(outer_labels, outer_sizes, 0.012), colors=outer_colours,
        labeldistance=0.84, rotatelabels=True, textprops={"fontsize": 7},
        wedgeprops={"width": 0.32, "edgecolor": "white", "linewidth": 0.6},
    )  # fmt: skip
    ax.pie(
        inner_sizes, radius=0.68, labels=labels(inner_labels, inner_sizes, 0.02), colors=palette,
        labeldistance=0.7, rotatelabels=True, textprops={"fontsize": 8, "weight": "bold"},
        wedgeprops={"width": 0.36, "edgecolor": "white", "linewidth": 0.8},
    )  # fmt: skip
    ax.set_title(
        f"Top {len(top_verbs)} root verbs (inner) and their top {nouns} direct-object nouns (outer); "
        f"{len(full)} unique pairs",
        fontsize=9,
    )
    fig.savefig(path, format="png", bbox_inches="tight")


def _tasks_label(k: int) -> str:
    return f"{k} task" if k == 1 else f"{k} tasks"


def plot_per_depth(
    examples_per_depth: dict[int, int], path: Path, tasks_per_depth: dict[int, int] | None = None
) -> None:
    fig = _figure((6, 4))
    ax = fig.add_subplot()
    depths = sorted(examples_per_depth)
    bars = ax.bar([str(d) for d in depths], [examples_per_depth[d] for d in depths], color="#4c72b0")
    if tasks_per_depth:
        ax.bar_label(bars, labels=[_tasks_label(tasks_per_depth.get(d, 0)) for d in depths], fontsize=8)
    ax.set_xlabel("depth")
    ax.set_ylabel("examples")
    ax.set_title("Examples per depth", fontsize=10)
    fig.savefig(path, format="png", bbox_inches="tight")


def write_plots(
    directory: Path,
    *,
    tree: DomainTree | None,
    pairs: Sequence[Pair] | None,
    examples_per_depth: dict[int, int] | None,
    force: bool = False,
) -> list[Path]:
    """Each figure it has data for, written atomically under `directory`; existing PNGs need `force`."""
    if ".." in directory.parts:
        raise ExportError(f"{directory}: '..' is not allowed in an output path; give the directory itself")
    if directory.exists() and not directory.is_dir():
        raise ExportError(f"{directory}: exists and is not a directory")
    jobs: list[tuple[str, Any]] = []
    if tree is not None:
        jobs.append((TREE_PNG, lambda p: plot_tree(tree, p)))
    if pairs is not None:
        jobs.append((VERB_NOUN_PNG, lambda p: plot_verb_noun(pairs, p)))
    if examples_per_depth:
        tasks = tree.nodes_per_depth() if tree is not None else None
        jobs.append((DEPTH_PNG, lambda p: plot_per_depth(examples_per_depth, p, tasks)))
    for name, _ in jobs:
        target = confined(directory, directory / name)
        if target.exists() and not force:
            raise ExportError(f"{target}: already exists; pass --force to overwrite")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in jobs:
        target = confined(directory, directory / name)
        write_file_atomic(target, draw)
        written.append(target)
    return written


def plot_ablation(
    rows: Sequence[tuple[str, float | None, float | None]],
    labels: tuple[str, str],
    path: Path,
    title: str = "Exploration vs the root alone, on equal N",
) -> None:
    """Each metric of two datasets as a pair of bars, scaled to the larger of the two (which way is better is
    in the metric's label), so metrics of different units share one figure."""
    fig = _figure((7, 0.45 * len(rows) + 1.2))
    ax = fig.add_subplot()
    names = [r[0] for r in rows]
    sides = [[r[1] for r in rows], [r[2] for r in rows]]
    top = [max(abs(a or 0), abs(b or 0)) or 1.0 for a, b in zip(*sides, strict=True)]
    ys = range(len(rows))
    for offset, (side, colour, got) in enumerate(zip(labels, ("#c44e52", "#4c72b0"), sides, strict=True)):
        values = [(v or 0) / t for v, t in zip(got, top, strict=True)]
        bars = ax.barh([y + 0.2 - 0.4 * offset for y in ys], values, height=0.38, color=colour, label=side)
        ax.bar_label(bars, labels=[f"{v:.3g}" if v is not None else "-" for v in got], fontsize=7, padding=2)
    ax.set_yticks(list(ys), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.25)
    ax.set_xticks([])
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title, fontsize=10)
    fig.savefig(path, format="png", bbox_inches="tight")
