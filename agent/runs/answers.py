"""Compact answers for callers: a run's status or outcome in a few fields (ids, counts, paths, cost), never the data.

Their output goes into a model's context or a chat message, so they say what the next step is and nothing more.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from explore_instruct.tools.dataset.runstore import EXAMPLES, TREE_DIR

if TYPE_CHECKING:
    from explore_instruct.agent.runs.driver import RunOutcome

# Resumable pauses other than a review, and what resumes them.
PAUSES = {"budget": "resume with a larger budget", "provider": "resume once the model provider answers again"}


def _cost(stats: dict[str, Any]) -> float | None:
    """None when any call's price is unknown: a partial sum would read as a real cost."""
    return None if stats.get("cost_unknown_calls") else round(float(stats.get("cost_usd", 0.0)), 6)


def compact_status(info: dict[str, Any]) -> dict[str, Any]:
    """`Runner.status` without the raw stats: what a caller needs to decide the next step."""
    stats = info.get("stats", {})
    waiting = info.get("interrupt") or []
    first = waiting[0] if waiting and isinstance(waiting[0], dict) else {}
    state = info.get("status", "")
    if first.get("kind") in PAUSES:
        state = str(first["kind"])
    elif first.get("kind") == "review_subtasks":
        state = "review"
    elif info.get("step"):
        # Killed or cancelled mid-run: resumable (a done run has no step left). Not `next`: LangGraph leaves out
        # tasks whose writes were saved, so a kill after the step's last write and before its checkpoint hid there.
        state = "stopped"
    out: dict[str, Any] = {
        "run_id": Path(info["run_dir"]).name,
        "run_dir": info["run_dir"],
        "status": state,
        "tasks": info.get("nodes", 0),
        "examples": info.get("examples", 0),
        "calls": stats.get("calls", 0),
        "tokens": stats.get("input_tokens", 0) + stats.get("output_tokens", 0),
        "cost_usd": _cost(stats),
    }
    if first.get("kind") in PAUSES:
        out["stopped_by"] = first.get("reason")
    if first.get("kind") == "review_subtasks":
        out["proposals"] = _proposals(first)
    return out


def _proposals(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"n": i, "name": p.get("name"), "under": p.get("target"), "reason": p.get("reason")}
        for i, p in enumerate(request.get("proposals", []), 1)
    ]


def compact_outcome(outcome: RunOutcome, status: dict[str, Any] | None = None) -> dict[str, Any]:
    """A finished or paused run in a few fields; counts come from the live status when there is no summary."""
    s, st = outcome.summary, outcome.stats
    root = Path(outcome.run_dir)
    out: dict[str, Any] = {
        "run_id": root.name,
        "status": outcome.status,
        "run_dir": str(root),
        "tasks": sum(s.get("nodes_per_depth", {}).values()) if s else (status or {}).get("tasks", 0),
        "examples": s.get("examples") if s else (status or {}).get("examples", 0),
        "calls": st.get("calls", 0),
        "tokens": st.get("input_tokens", 0) + st.get("output_tokens", 0),
        "cost_usd": _cost(st),
    }
    if s:
        out |= {
            "tasks_per_depth": s.get("nodes_per_depth", {}),
            "examples_per_depth": s.get("examples_per_depth", {}),
            "tasks_pruned": s.get("tasks_pruned", 0),
            "shortfall_tasks": len(s.get("shortfall", {})),
        }
    out["paths"] = {"examples": str(root / EXAMPLES), "tree": str(root / TREE_DIR)}
    pause = outcome.interrupt or {}
    if outcome.status in PAUSES:
        out["stopped_by"] = pause.get("reason")
        out["next_step"] = PAUSES[outcome.status]
    elif outcome.status == "review":
        out["proposals"] = _proposals(pause)
        out["next_step"] = "approve or reject the proposals"
    return out
