"""What the review workbench shows of a run's tree, apart from Gradio: one row per task and the Plotly treemap.

A reviewer first needs to see where to look: which tasks hold many examples, which were pruned, which got fewer
examples than asked, which the judge scored low. So each task gets one state, and the treemap is sized by the
examples it keeps (curation applied) and coloured by that state. A treemap, not a sunburst: its labels are
horizontal and sized to their box, and clicking a box zooms into that branch, so names stay readable at any size.

A view is read once per change of the run's files (the tree snapshot, curation.jsonl, dropped.jsonl), so opening
tasks of a 10,000-example run does not re-read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from statistics import fmean
from typing import Any

from explore_instruct.tools.dataset import curation
from explore_instruct.tools.dataset.runstore import RUN_META, TREE_DIR
from explore_instruct.tools.dataset.sampling import LoadedTree, is_run_dir, load_run, score_of
from explore_instruct.tools.fileio import read_jsonl
from explore_instruct.tools.tree.ei_dir import load_ei_dir
from explore_instruct.tools.tree.model import TaskNode
from explore_instruct.tools.tree.seed_io import META_FILENAME

LOW_SCORE = 3.0  # a task whose judged examples average under this is "judged low"
STATES = {  # state: colour (colour-blind safe: Okabe-Ito)
    "explored": "#009E73",
    "short of target": "#E69F00",
    "judged low": "#D55E00",
    "pruned": "#999999",
    "rescued": "#56B4E9",
}
DROPS = "dropped.jsonl"


@dataclass
class RunView:
    """A run (or a bare tree directory) as the workbench reads it."""

    source: Path
    raw: LoadedTree  # what the run kept, before the reviewers' decisions
    view: LoadedTree  # with them (what sample, export and stats use)
    decisions: curation.Replay
    drops: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # node id -> its dropped.jsonl rows
    targets: list[int] = field(default_factory=list)  # examples asked for at each depth (the last repeats)

    @property
    def is_run(self) -> bool:
        return self.raw.run_dir is not None

    def target_at(self, depth: int) -> int | None:
        return self.targets[min(depth, len(self.targets) - 1)] if self.targets else None

    def node(self, task: str) -> TaskNode:
        node = self.raw.tree.nodes.get(task)
        if node is None:
            raise KeyError(f"task: no task {task!r} in this tree")
        return node

    def path(self, task: str) -> list[str]:
        names, node = [], self.raw.tree.nodes.get(task)
        while node is not None:
            names.append(node.name)
            node = self.raw.tree.nodes.get(node.parent) if node.parent else None
        return names[::-1]


def stamp(path: Path) -> tuple[float, ...]:
    """What changes when a run's data changes: the snapshot, the decision log and the drops."""
    files = [path / TREE_DIR / META_FILENAME, path / curation.CURATION, path / DROPS, path / META_FILENAME]
    return tuple(f.stat().st_mtime_ns if f.is_file() else 0.0 for f in files)


def _targets(run_dir: Path) -> list[int]:
    import json

    try:
        context = json.loads((run_dir / RUN_META).read_text(encoding="utf-8")).get("context", {})
    except (OSError, ValueError):
        return []
    asked = context.get("examples")
    if isinstance(asked, int):
        return [asked]
    return [int(x) for x in asked if isinstance(x, int)] if isinstance(asked, list) else []


def open_view(path: Path) -> RunView:
    """A run directory (curation applies) or an Explore-Instruct tree directory (read-only)."""
    if is_run_dir(path):
        raw = load_run(path, curated_view=False)
        decisions = curation.load(path)
        drops: dict[str, list[dict[str, Any]]] = {}
        for row in read_jsonl(path / DROPS):
            if isinstance(row, dict) and isinstance(row.get("node_id"), str):
                drops.setdefault(row["node_id"], []).append(row)
        view = load_run(path) if decisions.decisions else raw
        return RunView(path, raw, view, decisions, drops, _targets(path))
    if not (path / META_FILENAME).is_file():
        raise ValueError(f"{path.name}: neither a run directory nor an Explore-Instruct tree directory")
    raw = LoadedTree(tree=load_ei_dir(path), ids={}, source=path)
    return RunView(path, raw, raw, curation.Replay())


def mean_score(node: TaskNode) -> float | None:
    scores = [s for e in node.examples if (s := score_of(e)) is not None]
    return round(fmean(scores), 2) if scores else None


def state_of(view: RunView, node: TaskNode) -> str:
    """One state per task, the most pressing first: pruned (unless rescued), judged low, short of target."""
    if str(node.status) == "pruned":
        return "rescued" if view.decisions.tasks.get(node.id, curation.TaskState()).rescued else "pruned"
    kept = view.view.tree.nodes[node.id]
    score = mean_score(kept)
    if score is not None and score < LOW_SCORE:
        return "judged low"
    target = view.target_at(node.depth)
    if target is not None and len(kept.examples) < target:
        return "short of target"
    return "explored"


def task_rows(view: RunView) -> list[dict[str, Any]]:
    """One row per task, preorder with the pruned ones: what the treemap and the task list show."""
    rows = []
    for node in view.raw.tree.preorder(include_pruned=True):
        kept = view.view.tree.nodes[node.id]
        task = view.decisions.tasks.get(node.id, curation.TaskState())
        rows.append(
            {
                "id": node.id,
                "parent": node.parent or "",
                "name": node.name,
                "depth": node.depth,
                "kept": len(kept.examples),
                "state": state_of(view, node),
                "score": mean_score(kept),
                "pinned": task.pinned,
            }
        )
    return rows


def task_label(row: dict[str, Any]) -> str:
    """The task list's entry: searchable by name, id and state."""
    pin = ", pinned" if row["pinned"] else ""
    return f"{'  ' * row['depth']}{row['name']} [{row['id']}] ({row['kept']} kept, {row['state']}{pin})"


def task_choices(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(task_label(r), r["id"]) for r in rows]


def find_tasks(rows: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """Tasks whose name or id holds `text` (any case); all of them for an empty text."""
    needle = (text or "").strip().lower()
    return [r for r in rows if not needle or needle in r["name"].lower() or needle in r["id"].lower()]


def figure_data(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The treemap's columns. A box's size is its own kept examples plus its children's (one at least, so empty
    and pruned tasks stay visible and clickable)."""
    own = {r["id"]: max(r["kept"], 1) for r in rows}
    total = dict(own)
    for r in reversed(rows):  # preorder reversed: children before parents
        if r["parent"] in total:
            total[r["parent"]] += total[r["id"]]
    return {
        "ids": [r["id"] for r in rows],
        "parents": [r["parent"] for r in rows],
        "labels": [r["name"] for r in rows],
        "values": [total[r["id"]] for r in rows],
        "colors": [STATES[r["state"]] for r in rows],
        "hover": [
            f"{r['name']}<br>id {r['id']} · depth {r['depth']}<br>{r['kept']} kept · {r['state']}"
            + (f" · judge {r['score']}" if r["score"] is not None else "")
            for r in rows
        ],
    }


def figure(rows: list[dict[str, Any]]) -> Any:
    """A Plotly treemap of the tree (gr.Plot renders it with the plotly.js that Gradio bundles)."""
    import plotly.graph_objects as go

    data = figure_data(rows)
    fig = go.Figure(
        go.Treemap(
            ids=data["ids"],
            parents=data["parents"],
            labels=data["labels"],
            values=data["values"],
            branchvalues="total",
            marker={"colors": data["colors"]},
            customdata=data["ids"],  # a click hands the task id to the page (review_tab.CLICK_JS)
            hovertext=data["hover"],
            hoverinfo="text",
            textinfo="label",
            maxdepth=3,
            pathbar={"visible": True},
        )
    )
    fig.update_layout(
        margin={"t": 30, "l": 4, "r": 4, "b": 4},
        height=460,
        uniformtext={"minsize": 12, "mode": "hide"},  # a label too small to read is hidden, never shrunk
        font={"family": "system-ui, sans-serif"},
    )
    return fig


def legend() -> str:
    return " · ".join(f'<span style="color:{c}">■</span> {s}' for s, c in STATES.items())
