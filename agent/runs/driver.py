"""What one drive of a run does with the graph: its steps under a checkpointer, and its state read back.

Internal to the run lifecycle (`agent/runs/runner.py: Runner` is the one door to it): one run directory = one
thread = one checkpoint. The caller hands in a context that already holds the run's models; nothing here chooses
a model, makes a directory or writes run.json.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command, StateSnapshot

from explore_instruct.agent.runs.checkpoints import eager_writes, open_checkpointer, settle_writes
from explore_instruct.graphs.context import Context
from explore_instruct.graphs.explore import builder
from explore_instruct.tools.dataset.runstore import RunStore
from explore_instruct.tools.tree.model import NodeStatus

RECURSION_LIMIT = 1_000_000
ProgressFn = Callable[[dict[str, Any]], None]
ReviewFn = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class RunOutcome:
    run_dir: str
    thread_id: str
    status: str  # done | budget | provider | review | interrupted
    summary: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    interrupt: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def config(thread_id: str, ctx: Context) -> RunnableConfig:
    return {
        "configurable": {"thread_id": thread_id},
        "max_concurrency": ctx.max_concurrency,
        "recursion_limit": RECURSION_LIMIT,
    }


async def read_state(store: RunStore, thread_id: str, ctx: Context) -> StateSnapshot:
    """The run's state as of its last checkpoint (empty values: nothing checkpointed yet)."""
    async with open_checkpointer(store) as saver:
        return await builder.compile(checkpointer=saver).aget_state(config(thread_id, ctx))


def done_outcome(store: RunStore, thread_id: str, values: dict[str, Any]) -> RunOutcome:
    """A finished run's outcome from its final state (its summary and stats)."""
    return RunOutcome(
        run_dir=str(store.root),
        thread_id=thread_id,
        status="done",
        summary=values.get("summary", {}),
        stats=values.get("stats", {}),
    )


async def steps(
    store: RunStore,
    thread_id: str,
    ctx: Context,
    payload: Any,
    progress: ProgressFn | None,
    on_review: ReviewFn | None,
) -> RunOutcome:
    """Run the graph from `payload` until it ends or pauses; a review pause goes to `on_review` when given.

    Every finished task's writes are saved at once (`eager_writes`) and awaited before the checkpointer closes,
    also when the drive is cancelled (`settle_writes`)."""
    async with open_checkpointer(store) as saver:
        writes = eager_writes(saver)
        try:
            return await _loop(builder.compile(checkpointer=saver), store, thread_id, ctx, payload, progress, on_review)
        finally:
            await settle_writes(writes)


async def _loop(
    graph: Any,
    store: RunStore,
    thread_id: str,
    ctx: Context,
    payload: Any,
    progress: ProgressFn | None,
    on_review: ReviewFn | None,
) -> RunOutcome:
    cfg = config(thread_id, ctx)
    while True:
        # Only the progress events: "updates" would copy every node's output (all examples) through the stream.
        async for chunk in graph.astream(payload, cfg, context=ctx, stream_mode="custom"):
            if progress is not None and isinstance(chunk, dict):
                progress(chunk)
        snapshot = await graph.aget_state(cfg)
        rescued = pending_rescues(store, snapshot.values) if not snapshot.tasks else []
        if rescued:  # a reviewer brought pruned tasks back after the run ended: enrich them, then end again
            await graph.aupdate_state(cfg, rescue_update(rescued), as_node="dedup")
            payload = None
            continue
        outcome = done_outcome(store, thread_id, snapshot.values)
        if snapshot.tasks:
            outcome.status = "interrupted"
        pending = [i.value for i in snapshot.interrupts]
        if not pending:
            return outcome
        first = pending[0] if isinstance(pending[0], dict) else {"value": pending[0]}
        outcome.interrupt = first
        if first.get("kind") == "review_subtasks" and on_review is not None:
            payload = Command(resume=on_review(first))
            continue
        outcome.status = {"budget": "budget", "provider": "provider"}.get(str(first.get("kind")), "review")
        return outcome


def pending_rescues(store: RunStore, values: dict[str, Any]) -> list[str]:
    """Tasks a reviewer rescued (curation.jsonl) that the run still holds as pruned."""
    from explore_instruct.tools.dataset import curation

    if not values or not store.path(curation.CURATION).is_file():
        return []
    nodes = values.get("nodes", {})
    rescued = curation.load(store.root).tasks
    return [t for t, s in rescued.items() if s.rescued and nodes.get(t, {}).get("status") == NodeStatus.PRUNED]


def rescue_update(task_ids: list[str]) -> dict[str, Any]:
    """The state update that makes rescued tasks accepted tasks with no examples yet: the enrichment that follows
    (as if the run's last `dedup` had just ended) gives them theirs."""
    reason = "rescued by a reviewer (curation.jsonl)"
    return {"nodes": {t: {"status": NodeStatus.ACCEPTED.value, "status_reason": reason} for t in task_ids}}


def describe(store: RunStore, thread_id: str, snapshot: StateSnapshot) -> dict[str, Any]:
    """Where a run stands, from its state: status, the step's tasks, pauses, counts."""
    values = snapshot.values or {}
    return {
        "run_dir": str(store.root),
        "thread_id": thread_id,
        "status": values.get("status", "not started") if snapshot.tasks or not values else "done",
        "next": list(snapshot.next),  # the step's tasks whose writes are not all saved yet
        "step": [t.name for t in snapshot.tasks],  # all of the step's tasks: a kill can land after every write
        "interrupt": [i.value for i in snapshot.interrupts],
        "nodes": len(values.get("nodes", {})),
        "examples": values.get("examples_total", 0),
        "stats": values.get("stats", {}),
    }
