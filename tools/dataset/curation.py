"""Curation: a reviewer's decisions about a run's examples and tasks, as an append-only log beside the data.

The people who know a domain review a dataset and reject, fix or keep its examples. Their decisions are data
too, so they live in the run directory as `curation.jsonl`, one decision a line (who, when, what, a note), and
are never applied by rewriting `examples.jsonl`: the run's own ledger stays exactly what the run wrote (a resume
truncates and appends it), and a decision can be read back, audited and replayed. Everything that reads a run's
data (`sample`, `export`, `stats`, the card, the judge, the web) goes through `sampling.load_run`, which replays
the log over what the run kept.

Replay is a fold: each target's state is its decisions applied in file order, so the same log always gives the
same data and repeating a decision changes nothing. For an example: `reject` removes it, `accept` keeps it
(undoing an earlier reject), `edit` replaces some of its fields and keeps it — an edit after a reject re-admits
the example, since fixing it says the reviewer wants it; replay reports that as a conflict so a second reviewer
sees it. For a task: `rescue` brings a pruned task back, `pin` protects it from pruning, `unpin` undoes that.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from explore_instruct.tools.fileio import read_jsonl

CURATION = "curation.jsonl"
EDITABLE = ("instruction", "input", "output")
EXAMPLE_ACTIONS = ("accept", "reject", "edit")
TASK_ACTIONS = ("rescue", "pin", "unpin")
Action = Literal["accept", "reject", "edit", "rescue", "pin", "unpin"]
MAX_NOTE = 2000
MAX_FIELD = 20_000


class CurationError(ValueError):
    """A decision that cannot be recorded (unknown target, empty edit, ...); one line."""


class Decision(BaseModel):
    """One line of curation.jsonl."""

    model_config = ConfigDict(extra="ignore")

    action: Action
    target: str = Field(min_length=1, max_length=200, description="An example id, or a task id for task actions.")
    fields: dict[str, str] = Field(default_factory=dict, description="edit: the new text of these fields.")
    note: str = Field(default="", max_length=MAX_NOTE)
    who: str = Field(default="", max_length=100)
    at: str = Field(default="", description="UTC time, ISO 8601.")

    @field_validator("fields")
    @classmethod
    def _editable(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - set(EDITABLE))
        if unknown:
            raise ValueError(f"only {', '.join(EDITABLE)} can be edited, not {', '.join(unknown)}")
        if any(len(text) > MAX_FIELD for text in v.values()):
            raise ValueError(f"an edited field is over {MAX_FIELD} characters")
        if "instruction" in v and not v["instruction"].strip():
            raise ValueError("an edit cannot empty the instruction")
        return v

    def to_row(self) -> dict[str, Any]:
        row = self.model_dump()
        if not self.fields:
            row.pop("fields")
        return row


@dataclass
class ExampleState:
    status: Literal["kept", "accepted", "rejected"] = "kept"
    fields: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    decided_by: str = ""


@dataclass
class TaskState:
    rescued: bool = False
    pinned: bool = False


@dataclass
class Replay:
    """The log folded to one state per target, plus what a reviewer should look at twice."""

    examples: dict[str, ExampleState] = field(default_factory=dict)
    tasks: dict[str, TaskState] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    decisions: int = 0

    def summary(self) -> dict[str, int]:
        states = [s.status for s in self.examples.values()]
        return {
            "decisions": self.decisions,
            "rejected": states.count("rejected"),
            "accepted": states.count("accepted"),
            "edited": sum(1 for s in self.examples.values() if s.fields and s.status != "rejected"),
            "rescued": sum(t.rescued for t in self.tasks.values()),
            "pinned": sum(t.pinned for t in self.tasks.values()),
            "conflicts": len(self.conflicts),
        }


def replay(decisions: Iterable[Decision]) -> Replay:
    """Fold decisions in order into the state of each example and task."""
    out = Replay()
    for d in decisions:
        out.decisions += 1
        if d.action in TASK_ACTIONS:
            task = out.tasks.setdefault(d.target, TaskState())
            if d.action == "rescue":
                task.rescued = True
            else:
                task.pinned = d.action == "pin"
            continue
        ex = out.examples.setdefault(d.target, ExampleState())
        if d.action == "reject":
            ex.status = "rejected"
        elif d.action == "accept":
            ex.status = "accepted"
        else:
            if ex.status == "rejected":
                out.conflicts.append(f"{d.target}: edited by {d.who or 'someone'} after a reject; the edit keeps it")
            ex.status = "accepted"
            ex.fields = {**ex.fields, **d.fields}
        if d.note:
            ex.notes.append(d.note)
        ex.decided_by = d.who
    return out


def read_decisions(run_dir: Path) -> list[Decision]:
    """The run's decisions in order; a line cut by a kill or not a decision is skipped (it never took effect)."""
    decisions = []
    for row in read_jsonl(run_dir / CURATION):
        try:
            decisions.append(Decision.model_validate(row))
        except ValidationError:
            continue
    return decisions


def load(run_dir: Path) -> Replay:
    return replay(read_decisions(run_dir))


def append(run_dir: Path, decisions: Sequence[Decision]) -> None:
    """Append decisions under an exclusive lock, each line whole, and fsync: two reviewers never interleave."""
    if not decisions:
        return
    data = "".join(json.dumps(d.to_row(), ensure_ascii=False) + "\n" for d in decisions).encode("utf-8")
    with open(run_dir / CURATION, "ab") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


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
    from explore_instruct.tools.dataset.sampling import is_run_dir, load_run, score_of

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
