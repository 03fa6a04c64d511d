"""One run's life, for every face: start it, resume it, drive it, read where it stands; cancelling is cancelling
the task that awaits `Runner.drive`.

The CLI, `Runs` (the tool, MCP, the chat, the web chat), background runs (agent/runs/background.py) and batch
jobs (agent/batch/jobs.py) all go through a `Runner`, so a run starts, resumes and ends one way:
- the model a run talks to is chosen in `Runner.model_for` and nowhere else (the judge's beside it);
- the run directory is made and checked once (`begin`), and `begin` is the one writer of run.json (and of
  plan.json, when the caller planned); the graph writes run.json only for runs no Runner began (the Agent Server);
- everything a run holds in this process (its HTTP clients, its Chroma clients and similarity indexes,
  its ledger snapshot) is released when its drive ends: done, paused, failed or cancelled. A server that drives
  thousands of runs holds nothing of the ones that ended (tests/agent/runs/test_soak.py, bench/soak.py).

Entry points: `model_for`, `begin` and `open` (a run ready to drive: new, or stored), `drive`, `status`, and
`start` / `resume` (begin or open, then drive). Starting and driving are apart so a background run can answer
between the two.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from langgraph.types import Command

from explore_instruct.agent.runs.checkpoints import CHECKPOINT_URL_ENV, open_checkpointer
from explore_instruct.agent.runs.clients import own_http_client
from explore_instruct.agent.runs.driver import (
    ProgressFn,
    ReviewFn,
    RunOutcome,
    describe,
    done_outcome,
    pending_rescues,
    read_state,
    steps,
)
from explore_instruct.agent.runs.event_loops import isolated
from explore_instruct.graphs.context import Context
from explore_instruct.graphs.indexes import release as release_indexes
from explore_instruct.tools.dataset.runstore import CHECKPOINTS, RUN_META, RunDirError, RunStore, forget_snapshot
from explore_instruct.tools.fileio import write_text_atomic
from explore_instruct.tools.llm.models import shared_chat_model
from explore_instruct.tools.plan.estimate import PLAN_FILE, Plan

__all__ = ["RunHandle", "RunOutcome", "Runner", "StoredRun", "load_stored_run"]


@dataclass
class RunHandle:
    """A run ready to drive: its directory, thread, parameters and what the graph gets next."""

    store: RunStore
    thread_id: str
    ctx: Context
    payload: Any  # the run's input (a new run), a pause's answer (a `Command`), or None (go on where it was)
    model: Any = None  # the model chosen for it (`Runner.model_for`), else chosen when it is driven
    plan: dict[str, int] = field(default_factory=dict)  # its planned size (agent/runs/progress.py), for status
    finished: RunOutcome | None = None  # a run that is done already: driving it answers this and calls nothing


class StoredRun(NamedTuple):
    store: RunStore
    thread_id: str
    ctx: Context


def load_stored_run(run_dir: str | Path, **overrides: Any) -> StoredRun:
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


def new_run_dir(ctx: Context) -> RunStore:
    """The run's directory, made and checked writable (the one `ensure` of a run); never one that holds a run."""
    if not ctx.run_dir:
        raise RunDirError("run: an output directory is required")
    store = RunStore(ctx.run_dir)
    if store.path(RUN_META).exists() or store.path(CHECKPOINTS).exists():
        raise RunDirError(f"{store.root}: already holds a run; use `explore-instruct resume {store.root}`")
    return store.ensure()


def _with_models(ctx: Context, model: Any, judge: Any) -> Context:
    """A copy of the context holding the run's live models (the caller's context is never written to)."""
    return dataclasses.replace(ctx, chat_model=model, judge_chat_model=judge)


@dataclass
class Runner:
    """Starts, resumes, drives and reads runs. `chat_model`: one model object for every run it drives (tests, apps
    embedding a model); without it each run gets the process's shared model for its parameters."""

    chat_model: Any = None

    def model_for(self, ctx: Context) -> Any:
        """The model a run talks to: the Runner's, else the context's, else the shared one for its parameters (a
        bad model string or a missing key fails here, before anything is written when called first)."""
        if self.chat_model is not None:
            return self.chat_model
        return ctx.chat_model if ctx.chat_model is not None else shared_chat_model(ctx.model_spec())

    def _judge_for(self, ctx: Context) -> Any:
        """The judge's model when it is not the generator (graphs/judging.py: an injected generator judges its own
        work unless a judge model is named)."""
        if not ctx.judge or ctx.judge_chat_model is not None:
            return ctx.judge_chat_model
        if ctx.judge_model is not None or ctx.chat_model is None:
            return shared_chat_model(ctx.judge_spec())
        return None

    async def begin(
        self,
        ctx: Context,
        inputs: dict[str, str],
        *,
        model: Any = None,
        planned: dict[str, int] | None = None,
        plan_file: Plan | None = None,
    ) -> RunHandle:
        """Make the run directory and write run.json (its run id, input and parameters) once the checkpointer is
        known to work; nothing is asked of the model yet. `plan_file`: the plan the person saw, kept as plan.json
        for the dataset card."""
        store = await asyncio.to_thread(new_run_dir, ctx)
        if plan_file is not None:
            text = json.dumps(plan_file.as_dict(), indent=2) + "\n"
            await asyncio.to_thread(write_text_atomic, store.path(PLAN_FILE), text)
        kind = "postgres" if os.environ.get(CHECKPOINT_URL_ENV, "").strip() else "sqlite"
        # Postgres: an unreachable database fails before the run directory holds a half-made run. SQLite: the file,
        # its tables and WAL mode are made here, before anyone can look. A `status` that opened it first raced the
        # run's own setup (switching to WAL needs the file to itself) and the run failed with "database is locked".
        async with open_checkpointer(store) as saver:
            if kind == "sqlite":
                await saver.setup()  # type: ignore[attr-defined]
        thread_id = f"run-{secrets.token_hex(6)}"
        meta = {"thread_id": thread_id, "input": inputs, "context": ctx.public(), "checkpointer": kind}
        await asyncio.to_thread(store.write_meta, meta)
        return RunHandle(store, thread_id, ctx, inputs, model, dict(planned or {}))

    async def open(self, run_dir: str | Path, *, decision: dict[str, Any] | None = None, **overrides: Any) -> RunHandle:
        """A stored run ready to go on, with caller overrides (budgets, concurrency); at a pause, `decision` answers
        it (a review: {"reject": [names], "rename": {...}}; none: go on, accepting what was proposed)."""
        store, thread_id, ctx = await asyncio.to_thread(load_stored_run, run_dir, **overrides)
        snapshot = await read_state(store, thread_id, ctx)
        payload: Any = None
        finished = None
        if not snapshot.values:  # killed before the first checkpoint: start over from the stored input
            payload = (await asyncio.to_thread(store.read_meta)).get("input", {})
        elif snapshot.interrupts:
            # Not `{}`: LangGraph reads a dict as a map of interrupt ids, and an empty map answers no interrupt,
            # so a review pause would never move. This continues a budget pause and accepts a review as proposed.
            payload = Command(resume=decision or {"reject": []})
        elif not snapshot.tasks and not pending_rescues(store, snapshot.values):
            # not `next`: it leaves out tasks whose writes landed before a kill; a done run whose reviewers
            # rescued pruned tasks goes on (the drive enriches them)
            finished = done_outcome(store, thread_id, snapshot.values)
        return RunHandle(store, thread_id, ctx, payload, finished=finished)

    async def drive(
        self, run: RunHandle, progress: ProgressFn | None = None, on_review: ReviewFn | None = None
    ) -> RunOutcome:
        """Drive the run until it ends or pauses (a review pause goes to `on_review` when given). The run gets HTTP
        clients of its own and a fresh contextvars context (a caller's graph config must not leak into it); they,
        its similarity indexes and its snapshot cache are released however the drive ends, cancel included."""
        if run.finished is not None:
            return run.finished
        model, http = own_http_client(run.model if run.model is not None else self.model_for(run.ctx))
        clients = [http]
        judge = self._judge_for(run.ctx)
        if judge is not None and judge is not run.ctx.judge_chat_model:
            judge, judge_http = own_http_client(judge)
            clients.append(judge_http)
        ctx = _with_models(run.ctx, model, judge)
        try:
            return await isolated(lambda: steps(run.store, run.thread_id, ctx, run.payload, progress, on_review))
        finally:
            for client in clients:
                if client is not None:
                    await client.aclose()
            release_indexes(run.store.root)
            forget_snapshot(run.store.root)

    async def status(self, run_dir: str | Path) -> dict[str, Any]:
        """Where a run stands, from its last checkpoint: status, the step's tasks, pauses, counts and stats."""
        store, thread_id, ctx = await asyncio.to_thread(load_stored_run, run_dir)
        return describe(store, thread_id, await read_state(store, thread_id, ctx))

    async def start(
        self,
        ctx: Context,
        *,
        domain: str | None = None,
        seed: str | None = None,
        progress: ProgressFn | None = None,
        on_review: ReviewFn | None = None,
        plan_file: Plan | None = None,
    ) -> RunOutcome:
        """Begin a run from a domain sentence or a seed file and drive it (the CLI, batch, scripts, tests)."""
        inputs = {k: v for k, v in (("domain", domain), ("seed", seed)) if v}
        if seed:
            inputs["seed"] = str(Path(seed).resolve())
        return await self.drive(await self.begin(ctx, inputs, plan_file=plan_file), progress, on_review)

    async def resume(
        self,
        run_dir: str | Path,
        *,
        progress: ProgressFn | None = None,
        on_review: ReviewFn | None = None,
        decision: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> RunOutcome:
        """Continue a stopped, paused or killed run where it was (a done run answers its outcome, calling nothing)."""
        return await self.drive(await self.open(run_dir, decision=decision, **overrides), progress, on_review)
