"""What the workbench's task panel shows, apart from Gradio: a task's header, its examples (paged, filtered) and
its drops grouped by rule (diversity_view.py has the figures, sources_view.py the cited chunks).

Examples are listed from what the run kept, with each reviewer decision shown beside it (a rejected example
stays listed, marked, so it can be accepted back), and the text is the edited text where there is an edit. The
same filter (text, score) selects what the "reject all shown" button rejects, through `curate.curate`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from explore_instruct.agent.web.tree_view import RunView, mean_score, state_of
from explore_instruct.tools.dataset import curation
from explore_instruct.tools.dataset.sampling import score_of

PAGE = 25
EXAMPLE_COLUMNS = ["id", "status", "score", "instruction", "input", "output", "judge's reason"]
DROP_COLUMNS = ["rule", "stage", "instruction", "nearest kept", "score", "detail"]
CUT = 300  # characters of a text shown in a table cell (the editor shows all of it)


def _cut(text: str) -> str:
    return text if len(text) <= CUT else text[: CUT - 1] + "…"


def header(view: RunView, task: str) -> str:
    """The task's name, path, reason and counts as Markdown."""
    node = view.node(task)
    kept = view.view.tree.nodes[task]
    state = state_of(view, node)
    decided = view.decisions.tasks.get(task, curation.TaskState())
    target = view.target_at(node.depth)
    lines = [
        f"### {node.name}",
        f"`{task}` · depth {node.depth} · **{state}**" + (" · pinned" if decided.pinned else ""),
        "Path: " + " › ".join(view.path(task)),
    ]
    if node.reason:
        lines.append(f"Why this task: {node.reason}")
    if node.status_reason:
        lines.append(f"Pruned because: {node.status_reason}")
    score = mean_score(kept)
    lines.append(
        f"{len(kept.examples)} kept of {len(node.examples)} generated"
        + (f" (target {target})" if target is not None else "")
        + (f" · judge mean {score}" if score is not None else "")
        + f" · {sum(len(v) for k, v in view.drops.items() if k == task)} dropped"
    )
    return "\n\n".join(lines)


def example_rows(view: RunView, task: str) -> list[dict[str, Any]]:
    """Every example the run kept for the task, with its id, decision, current text and judge verdict."""
    node = view.node(task)
    rows = []
    for j, example in enumerate(node.examples):
        eid = view.raw.example_id(task, j)
        decided = view.decisions.examples.get(eid)
        text = {k: getattr(example, k) for k in curation.EDITABLE} | (decided.fields if decided else {})
        status: str = "kept" if decided is None else decided.status
        if decided is not None and decided.fields and status != "rejected":
            status = "edited"
        quality = (example.model_extra or {}).get("quality")
        reason = quality.get("reason", "") if isinstance(quality, dict) else ""
        rows.append({"id": eid, "status": status, "score": score_of(example), **text, "reason": str(reason or "")})
    return rows


def matches(row: dict[str, Any], text: str = "", below_score: int | None = None) -> bool:
    """The same filter `curate.curate` applies to a bulk reject: text in any field, judged under a score."""
    needle = (text or "").strip().lower()
    if needle and not any(needle in row[k].lower() for k in curation.EDITABLE):
        return False
    return below_score is None or (row["score"] is not None and row["score"] < below_score)


def page_of(rows: list[dict[str, Any]], page: int, size: int = PAGE) -> tuple[list[list[Any]], int, int]:
    """One page of rows as table cells, the page actually shown (1-based, within range) and the page count."""
    pages = max(1, -(-len(rows) // size))
    page = min(max(1, page), pages)
    cells = [
        [r["id"], r["status"], "" if r["score"] is None else r["score"], _cut(r["instruction"]), _cut(r["input"]),
         _cut(r["output"]), _cut(r["reason"])]
        for r in rows[(page - 1) * size : page * size]
    ]  # fmt: skip
    return cells, page, pages


def drop_rows(view: RunView, task: str) -> list[list[Any]]:
    """The task's drops (dropped.jsonl), grouped by rule, with the nearest kept item and its score when recorded."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in view.drops.get(task, []):
        grouped[str(row.get("rule") or "?")].append(row)
    out = []
    for rule in sorted(grouped, key=lambda r: (-len(grouped[r]), r)):
        for row in grouped[rule]:
            detail = {k: v for k, v in row.items() if k not in {"rule", "stage", "node_id", "instruction", "nearest",
                                                                "nearest_id", "score"}}  # fmt: skip
            out.append(
                [
                    f"{rule} ({len(grouped[rule])})",
                    str(row.get("stage") or ""),
                    _cut(str(row.get("instruction") or "")),
                    _cut(str(row.get("nearest") or "")),
                    "" if row.get("score") is None else row["score"],
                    _cut(", ".join(f"{k}: {v}" for k, v in detail.items())),
                ]
            )
    return out
