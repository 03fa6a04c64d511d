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

Recording a decision (checked against the run's examples and tasks first) is tools/dataset/curate.py's: this
module is only the log, so the run readers (tools/dataset/sampling.py) can replay it without the operation that
itself reads the run through them.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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
