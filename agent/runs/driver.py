"""The driver of one run directory: start, drive, resume and inspect it (one directory = one thread = one checkpoint).

Shared by the CLI and, through `service.Runs`, by the LangChain tool, MCP and the chat, so every face starts and
resumes the same way. The model a run talks to is passed in (`model=`), never written into the caller's
`Context`: the graph gets a copy of the context holding it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from explore_instruct.agent.runs.checkpoints import CHECKPOINT_URL_ENV, eager_writes, open_checkpointer, settle_writes
from explore_instruct.agent.runs.clients import own_http_client
from explore_instruct.graphs.context import Context
from explore_instruct.graphs.explore import builder
from explore_instruct.tools.llm.models import shared_chat_model
from explore_instruct.tools.dataset.runstore import CHECKPOINTS, RUN_META, RunDirError, RunStore

RECURSION_LIMIT = 1_000_000
ProgressFn = Callable[[dict[str, Any]], None]


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


def _config(thread_id: str, ctx: Context) -> RunnableConfig:
    return {
        "configurable": {"thread_id": thread_id},
        "max_concurrency": ctx.max_concurrency,
        "recursion_limit": RECURSION_LIMIT,
    }


ReviewFn = Callable[[dict[str, Any]], dict[str, Any]]


async def drive(
    store: RunStore,
    thread_id: str,
    ctx: Context,
    payload: Any,
    progress: ProgressFn | None,
    on_review: ReviewFn | None,
    *,
    model: Any = None,
) -> RunOutcome:
    """Run the graph from `payload` until it ends or pauses; `model` (else `ctx.chat_model`, else the process's
    shared model for `ctx.model_spec()` with an HTTP client of its own) answers the run's calls."""
    model = model if model is not None else ctx.chat_model
    clients = []
    if model is None:  # the run's own model and HTTP client, closed when this drive ends
        model, http = own_http_client(shared_chat_model(ctx.model_spec()))
        clients.append(http)
    judge = ctx.judge_chat_model
    if ctx.judge and judge is None and (ctx.judge_model is not None or ctx.chat_model is None):
        judge, http = own_http_client(shared_chat_model(ctx.judge_spec()))  # the judge's own client too
        clients.append(http)
    try:
        run_ctx = dataclasses.replace(ctx, chat_model=model, judge_chat_model=judge)
        return await _drive(store, thread_id, run_ctx, payload, progress, on_review)
    finally:
        for http in clients:
            if http is not None:
                await http.aclose()


async def _drive(
    store: RunStore,
    thread_id: str,
    ctx: Context,
    payload: Any,
    progress: ProgressFn | None,
    on_review: ReviewFn | None,
) -> RunOutcome:
    async with open_checkpointer(store) as saver:
        writes = eager_writes(saver)
        try:
            return await _steps(saver, thread_id, ctx, payload, progress, on_review, store)
        finally:
            await settle_writes(writes)


async def _steps(
    saver: Any,
    thread_id: str,
    ctx: Context,
    payload: Any,
    progress: ProgressFn | None,
    on_review: ReviewFn | None,
    store: RunStore,
) -> RunOutcome:
    graph = builder.compile(checkpointer=saver)
    config = _config(thread_id, ctx)
    while True:
        # Only the progress events: "updates" would copy every node's output (all examples) through the stream.
        async for chunk in graph.astream(payload, config, context=ctx, stream_mode="custom"):
            if progress is not None and isinstance(chunk, dict):
                progress(chunk)
        snapshot = await graph.aget_state(config)
        values = snapshot.values
        pending = [i.value for i in snapshot.interrupts]
        outcome = RunOutcome(
            run_dir=str(store.root),
            thread_id=thread_id,
            status="done" if not snapshot.tasks else "interrupted",
            summary=values.get("summary", {}),
            stats=values.get("stats", {}),
        )
        if not pending:
            return outcome
        first = pending[0] if isinstance(pending[0], dict) else {"value": pending[0]}
        outcome.interrupt = first
        if first.get("kind") == "review_subtasks" and on_review is not None:
            payload = Command(resume=on_review(first))
            continue
        outcome.status = {"budget": "budget", "provider": "provider"}.get(str(first.get("kind")), "review")
        return outcome


async def begin_run(store: RunStore, ctx: Context, inputs: dict[str, str]) -> str:
    """Write run.json (the run id, its input and parameters) once the checkpointer is known to work."""
    kind = "postgres" if os.environ.get(CHECKPOINT_URL_ENV, "").strip() else "sqlite"
    # Postgres: an unreachable database fails before the run directory holds a half-made run. SQLite: the file,
    # its tables and WAL mode are made here, before anyone can look. A `status` that opened it first raced the run's
    # own setup (switching to WAL needs the file to itself) and the run failed with "database is locked".
    async with open_checkpointer(store) as saver:
        if kind == "sqlite":
            await saver.setup()  # type: ignore[attr-defined]
    thread_id = f"run-{secrets.token_hex(6)}"
    meta = {"thread_id": thread_id, "input": inputs, "context": ctx.public(), "checkpointer": kind}
    await asyncio.to_thread(store.write_meta, meta)
    return thread_id


def new_run_dir(ctx: Context) -> RunStore:
    if not ctx.run_dir:
        raise RunDirError("run: an output directory is required")
    store = RunStore(ctx.run_dir)
    if store.path(RUN_META).exists() or store.path(CHECKPOINTS).exists():
        raise RunDirError(f"{store.root}: already holds a run; use `explore-instruct resume {store.root}`")
    return store.ensure()


async def start_run(
    ctx: Context,
    *,
    domain: str | None = None,
    seed: str | None = None,
    progress: ProgressFn | None = None,
    on_review: ReviewFn | None = None,
    model: Any = None,
) -> RunOutcome:
    store = await asyncio.to_thread(new_run_dir, ctx)
    inputs = {k: v for k, v in (("domain", domain), ("seed", seed)) if v}
    if seed:
        inputs["seed"] = str(Path(seed).resolve())
    thread_id = await begin_run(store, ctx, inputs)
    return await drive(store, thread_id, ctx, inputs, progress, on_review, model=model)


class StoredRun(NamedTuple):
    store: RunStore
    thread_id: str
    ctx: Context


def load_stored_run(run_dir: str, **overrides: Any) -> StoredRun:
    """A run directory's store, thread id and stored parameters, with caller overrides (budgets, concurrency)."""
    store = RunStore(run_dir)
    meta = store.read_meta()
    thread_id = meta.get("thread_id")
    if not isinstance(thread_id, str):
        raise RunDirError(f"{store.root}: run.json has no thread_id")
    if meta.get("checkpointer") == "postgres" and not os.environ.get(CHECKPOINT_URL_ENV, "").strip():
        raise RunDirError(f"{store.root}: this run keeps its checkpoints in Postgres; set {CHECKPOINT_URL_ENV}")
    # The stored parameters as the run began (a run from before a parameter existed keeps its old behaviour).
    ctx = Context.from_stored(dict(meta.get("context", {})), **overrides, run_dir=str(store.root))
    return StoredRun(store, thread_id, ctx)


async def resume_run(
    run_dir: str,
    *,
    progress: ProgressFn | None = None,
    on_review: ReviewFn | None = None,
    chat_model: Any = None,
    decision: dict[str, Any] | None = None,
    **overrides: Any,
) -> RunOutcome:
    """Continue a run; at a pause, `decision` answers it (a review: {"reject": [names], "rename": {...}}).

    `chat_model` answers the run's calls (default: the shared model for the stored parameters)."""
    store, thread_id, ctx = load_stored_run(run_dir, **overrides)
    async with open_checkpointer(store) as saver:
        snapshot = await builder.compile(checkpointer=saver).aget_state(_config(thread_id, ctx))
    if not snapshot.values:  # killed before the first checkpoint: start over from the stored input
        payload: Any = store.read_meta().get("input", {})
    elif snapshot.interrupts:
        # Not `{}`: LangGraph reads a dict as a map of interrupt ids, and an empty map answers no interrupt,
        # so a review pause would never move. This continues a budget pause and accepts a review as proposed.
        payload = Command(resume=decision or {"reject": []})
    elif not snapshot.tasks:  # not `next`: it leaves out tasks whose writes landed before a kill
        return RunOutcome(
            run_dir=str(store.root),
            thread_id=thread_id,
            status="done",
            summary=snapshot.values.get("summary", {}),
            stats=snapshot.values.get("stats", {}),
        )
    else:
        payload = None
    return await drive(store, thread_id, ctx, payload, progress, on_review, model=chat_model)


async def run_status(run_dir: str) -> dict[str, Any]:
    store, thread_id, ctx = load_stored_run(run_dir)
    async with open_checkpointer(store) as saver:
        snapshot = await builder.compile(checkpointer=saver).aget_state(_config(thread_id, ctx))
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
