"""A run's planned size and its live progress, read from the events the graph streams.

A background run answers `status` while it goes on, so the caller needs more than the last checkpoint: which
phase the run is in and when it may end. `planned` sizes a request before it runs (the most tasks, the target
examples, about how many LLM calls); `Tracker` folds the run's progress events (`proposed`, `enrich_round`,
`generated`, `judge_round`, `judged`, `finished`) into a phase, live counts and an ETA from the calls done so
far. Both are estimates: the tree may end smaller than planned (pruned or dropped proposals), and refill rounds
may add calls.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from explore_instruct.agent.runs.limits import level_counts

if TYPE_CHECKING:
    from explore_instruct.graphs.context import Context

# Phases of a background run, in the order a run goes through them (then one of the ends).
PHASES = ("starting", "exploring", "enriching", "judging", "done")
ENDS = ("done", "review", "budget", "provider", "cancelled", "failed", "stopped")


def planned(ctx: Context, seeded: dict[int, int] | None = None) -> dict[str, int]:
    """The most tasks, the target examples and the LLM calls a request should take (without refills)."""
    levels = level_counts(ctx.max_depth, ctx.breadth, ctx.max_children, seeded)
    explore = sum(
        levels[d] * math.ceil(min(ctx.breadth_at(d), ctx.max_children) / ctx.subtasks_per_call)
        for d in range(min(ctx.max_depth, len(levels)))
    )
    examples = sum(n * ctx.examples_at(d) for d, n in enumerate(levels))
    enrich = sum(n * math.ceil(ctx.examples_at(d) / ctx.examples_per_call) for d, n in enumerate(levels))
    judge = math.ceil(examples / ctx.judge_batch) if ctx.judge else 0
    return {"tasks": sum(levels), "examples": examples, "calls": explore + enrich + judge}


@dataclass
class Tracker:
    """Progress of one drive of a run (a start or a resume), fed by the graph's custom stream events.

    Called from the run's event loop; read from others (a status call), so updates hold a lock.
    """

    plan: dict[str, int] = field(default_factory=dict)
    calls_before: int = 0  # calls a resumed run had made before this drive
    phase: str = "starting"
    calls: int = 0
    proposed: int = 0
    pruned: int = 0
    examples: int = 0
    round_calls: int = 0
    round_done: int = 0
    started: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        with self._lock:
            if kind == "proposed":
                self.phase = "exploring"
                self.calls += 1
                self.proposed += len(event.get("subtasks", []))
            elif kind == "pruned":
                self.pruned += 1
            elif kind in ("enrich_round", "judge_round"):
                self.phase = "enriching" if kind == "enrich_round" else "judging"
                self.round_calls, self.round_done = int(event.get("calls", 0)), 0
            elif kind in ("generated", "judged"):
                self.calls += 1
                self.round_done += 1
            elif kind == "kept":
                self.examples += int(event.get("kept", 0))
            elif kind == "seeded":
                self.phase = "exploring"
                self.examples += int(event.get("examples", 0))
            elif kind == "finished":
                self.phase = "done"
                self.examples = int(event.get("examples", self.examples))

    def eta_s(self) -> float | None:
        """Seconds left at the pace of the calls so far: the planned calls not made yet, or at least what is left
        of the current round. None before the first call."""
        with self._lock:
            if self.phase == "done":
                return 0.0
            if not self.calls:
                return None
            pace = (time.monotonic() - self.started) / self.calls
            left = max(self.plan.get("calls", 0) - self.calls_before - self.calls, self.round_calls - self.round_done)
            return round(max(left, 0) * pace, 1)

    def snapshot(self) -> dict[str, Any]:
        eta = self.eta_s()
        with self._lock:
            return {
                "phase": self.phase,
                "elapsed_s": round(time.monotonic() - self.started, 1),
                "eta_s": eta,
                "live": {
                    "calls": self.calls_before + self.calls,
                    "subtasks_proposed": self.proposed,
                    "subtasks_pruned": self.pruned,
                    "examples_kept": self.examples,
                    "round": {"calls": self.round_calls, "done": self.round_done} if self.round_calls else None,
                },
            }
