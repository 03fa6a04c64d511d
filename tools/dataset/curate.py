"""The one review operation on a run (`curate`), the same for the CLI, the MCP and LangChain tools and the web
workbench: a reviewer's decision, or a filter's bulk reject, checked against what the run holds and then appended
to its curation log (tools/dataset/curation.py).

It lives apart from the log because it reads the run through tools/dataset/sampling.py, which itself replays the
log: kept together, the two modules imported each other. Every check runs before anything is written, so a
decision that names one unknown id records nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from explore_instruct.tools.dataset.curation import (
    EDITABLE,
    EXAMPLE_ACTIONS,
    TASK_ACTIONS,
    Decision,
    ExampleState,
    TaskState,
    append,
    load,
)
from explore_instruct.tools.dataset.sampling import is_run_dir, load_run, score_of


class CurationError(ValueError):
    """A decision that cannot be recorded (unknown target, empty edit, ...); one line."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def decide(
    run_dir: Path,
    action: str,
    targets: Sequence[str],
    *,
    known_examples: dict[str, dict[str, str]],
    known_tasks: dict[str, str],
    fields: dict[str, str] | None = None,
    note: str = "",
    who: str = "",
) -> dict[str, Any]:
    """Record one decision per target after checking each; nothing is written unless all of them are valid.

    `known_examples` maps each example id of the run to its current (curated) fields, `known_tasks` each task id
    to its status. A decision that would change nothing (rejecting what is already rejected, an edit to the text
    it already has) is not written again: repeating a command is safe.
    """
    if action not in EXAMPLE_ACTIONS + TASK_ACTIONS:
        raise CurationError(f"action: {action!r} is not one of {', '.join(EXAMPLE_ACTIONS + TASK_ACTIONS)}")
    if not targets:
        raise CurationError(f"{action}: name at least one {'task' if action in TASK_ACTIONS else 'example'} id")
    state = load(run_dir)
    out: list[Decision] = []
    unchanged: list[str] = []
    for target in dict.fromkeys(targets):
        if action in TASK_ACTIONS:
            if target not in known_tasks:
                raise CurationError(f"{action}: no task {target!r} in this run")
            if (
                action == "rescue"
                and known_tasks[target] != "pruned"
                and not state.tasks.get(target, TaskState()).rescued
            ):
                raise CurationError(f"rescue: task {target!r} is {known_tasks[target]}, not pruned")
            task = state.tasks.get(target, TaskState())
            if (
                (action == "rescue" and task.rescued)
                or (action == "pin" and task.pinned)
                or (action == "unpin" and not task.pinned)
            ):
                unchanged.append(target)
                continue
        else:
            if target not in known_examples:
                raise CurationError(f"{action}: no example {target!r} in this run")
            current = state.examples.get(target, ExampleState())
            if action == "edit":
                if not fields:
                    raise CurationError("edit: give at least one of --instruction, --input, --output")
                now_text = {**known_examples[target], **current.fields}
                if all(now_text.get(k) == v for k, v in fields.items()) and current.status != "rejected":
                    unchanged.append(target)
                    continue
            elif current.status == {"reject": "rejected", "accept": "accepted"}[action]:
                unchanged.append(target)
                continue
        try:
            out.append(
                Decision(
                    action=action,
                    target=target,
                    fields=(fields or {}) if action == "edit" else {},
                    note=note,
                    who=who,
                    at=now(),
                )
            )
        except ValidationError as e:
            first = e.errors()[0]
            raise CurationError(f"{action}: {first['msg']}") from None
    append(run_dir, out)
    return {"recorded": [d.target for d in out], "unchanged": unchanged, "action": action}


def curate(
    run_dir: Path,
    action: str,
    targets: Sequence[str] = (),
    *,
    fields: dict[str, str] | None = None,
    match: str | None = None,
    below_score: int | None = None,
    task: str | None = None,
    note: str = "",
    who: str = "",
) -> dict[str, Any]:
    """One review operation on a run, the same for the CLI, the MCP and LangChain tools and the web workbench.

    `targets` names examples (or tasks, for rescue/pin/unpin). A bulk reject names none and gives a filter
    instead: `match` (text in the instruction, input or output, any case), `below_score` (judged under it),
    `task` (that task and the tasks below it); the examples it selects are those kept now.
    """
    if not is_run_dir(run_dir):
        raise CurationError(f"{run_dir}: not a run directory; only a run's data can be curated")
    raw = load_run(run_dir, curated_view=False)
    known_examples = {
        raw.example_id(n.id, j): {k: getattr(e, k) for k in EDITABLE}
        for n in raw.tree.nodes.values()
        for j, e in enumerate(n.examples)
    }
    known_tasks = {n.id: str(n.status) for n in raw.tree.nodes.values()}
    bulk = match is not None or below_score is not None or (task is not None and not targets)
    if bulk:
        if action != "reject" or targets:
            raise CurationError("a filter (match, below_score, task) selects examples to reject; name no ids with it")
        if task is not None and task not in known_tasks:
            raise CurationError(f"task: no task {task!r} in this run")
        view = load_run(run_dir)
        nodes = {n.id for n in view.tree.subtree(task, include_pruned=True)} if task else set(view.tree.nodes)
        needle = match.lower() if match else None
        targets = [
            view.example_id(n.id, j)
            for n in view.tree.nodes.values()
            if n.id in nodes
            for j, e in enumerate(n.examples)
            if (needle is None or any(needle in getattr(e, k).lower() for k in EDITABLE))
            and (below_score is None or (score_of(e) is not None and (score_of(e) or 0) < below_score))
        ]
        if not targets:
            return {"recorded": [], "unchanged": [], "action": action, "matched": 0}
    result = decide(
        run_dir, action, targets, known_examples=known_examples, known_tasks=known_tasks, fields=fields, note=note,
        who=who,
    )  # fmt: skip
    if bulk:
        result["matched"] = len(targets)
    return result
