"""Start and resume exploration runs on disk: one run directory = one thread = one SQLite checkpoint.

Shared by the CLI and (later) the LangChain tool and MCP server, so every face resumes the same way.
"""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Command

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.explore import builder
from explore_instruct.tools.llm import shared_chat_model
from explore_instruct.tools.runstore import CHECKPOINTS, RUN_META, RunDirError, RunStore

RECURSION_LIMIT = 1_000_000
# A Postgres URL here puts checkpoints in a shared database (many workers, one state store). It is read
# from the environment on every start and resume and never written to the run directory: it may hold a password.
CHECKPOINT_URL_ENV = "EXPLORE_INSTRUCT_CHECKPOINT_URL"


@asynccontextmanager
async def open_checkpointer(store: RunStore) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """SQLite in the run directory by default; Postgres when EXPLORE_INSTRUCT_CHECKPOINT_URL says so."""
    url = os.environ.get(CHECKPOINT_URL_ENV, "").strip()
    async with AsyncExitStack() as stack:
        if not url:
            yield await stack.enter_async_context(AsyncSqliteSaver.from_conn_string(str(store.path(CHECKPOINTS))))
            return
        if not url.startswith(("postgres://", "postgresql://")):
            raise RunDirError(f"{CHECKPOINT_URL_ENV}: only postgres:// URLs are supported")
        from urllib.parse import urlparse

        import psycopg
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        where = f"{urlparse(url).hostname or 'localhost'}:{urlparse(url).port or 5432}"
        try:
            saver = await stack.enter_async_context(AsyncPostgresSaver.from_conn_string(url))
            await saver.setup()
        except psycopg.Error as e:
            first = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
            raise RunDirError(f"Postgres checkpointer at {where}: {first}") from None
        yield saver


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


def _eager_writes(saver: BaseCheckpointSaver[Any]) -> None:
    """Save each finished task's writes at once, not when its turn comes under max_concurrency.

    LangGraph queues the checkpointer's writes behind the tasks waiting on the max_concurrency semaphore
    (first in, first out), so in a fan-out larger than the limit nothing a finished call returned was saved
    until every call of the step had started: a kill mid-round lost, and paid again for, all of them. The
    write starts when LangGraph submits it; LangGraph still awaits it under its semaphore as before.
    """
    put = saver.aput_writes

    @functools.wraps(put)
    def aput_writes(*args: Any, **kwargs: Any) -> Any:
        coro = put(*args, **kwargs)
        try:
            return asyncio.get_running_loop().create_task(coro)
        except RuntimeError:  # not on the event loop's thread: leave it to the caller, as before
            return coro

    saver.aput_writes = aput_writes  # type: ignore[method-assign]


@functools.cache
def _tls_context() -> Any:
    """One TLS context per process: building one (loading the CA bundle) cost ~50 ms for every run's client."""
    import httpx2  # the openai client's HTTP library

    return httpx2.create_ssl_context()


def own_http_client(model: Any) -> tuple[Any, Any]:
    """A copy of an OpenAI-compatible model with an async HTTP client of its own, and that client.

    langchain-openai shares one pooled client per endpoint across the process, and pooled connections belong
    to the event loop that opened them: a second `asyncio.run(start_run(...))` or `resume_run` in the same
    process (a script, a notebook, the CLI invoked in process) failed with "Event loop is closed".
    """
    root = getattr(model, "root_async_client", None)
    if root is None or not hasattr(root, "copy") or not hasattr(model, "model_copy"):
        return model, None
    import openai

    http = openai.DefaultAsyncHttpxClient(verify=_tls_context())
    client = root.copy(http_client=http)
    return model.model_copy(update={"root_async_client": client, "async_client": client.chat.completions}), http


async def drive(
    store: RunStore,
    thread_id: str,
    ctx: Context,
    payload: Any,
    progress: ProgressFn | None,
    on_review: Callable[[dict[str, Any]], dict[str, Any]] | None,
) -> RunOutcome:
    if ctx.chat_model is None:  # the run's own model and HTTP client, closed when this drive ends
        ctx.chat_model, http = own_http_client(shared_chat_model(ctx.model_spec()))
        try:
            return await drive(store, thread_id, ctx, payload, progress, on_review)
        finally:
            ctx.chat_model = None
            if http is not None:
                await http.aclose()
    async with open_checkpointer(store) as saver:
        _eager_writes(saver)
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
    if kind == "postgres":  # an unreachable database fails before the run directory holds a half-made run
        async with open_checkpointer(store):
            pass
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
    on_review: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> RunOutcome:
    store = await asyncio.to_thread(new_run_dir, ctx)
    inputs = {k: v for k, v in (("domain", domain), ("seed", seed)) if v}
    if seed:
        inputs["seed"] = str(Path(seed).resolve())
    thread_id = await begin_run(store, ctx, inputs)
    return await drive(store, thread_id, ctx, inputs, progress, on_review)


def load_run(run_dir: str, **overrides: Any) -> tuple[RunStore, str, Context]:
    """The stored parameters of a run, with caller overrides (budgets, concurrency) applied."""
    store = RunStore(run_dir)
    meta = store.read_meta()
    thread_id = meta.get("thread_id")
    if not isinstance(thread_id, str):
        raise RunDirError(f"{store.root}: run.json has no thread_id")
    if meta.get("checkpointer") == "postgres" and not os.environ.get(CHECKPOINT_URL_ENV, "").strip():
        raise RunDirError(f"{store.root}: this run keeps its checkpoints in Postgres; set {CHECKPOINT_URL_ENV}")
    params = dict(meta.get("context", {}))
    params.update({k: v for k, v in overrides.items() if v is not None})
    params["run_dir"] = str(store.root)
    known = set(Context.__dataclass_fields__)
    ctx = Context(**{k: v for k, v in params.items() if k in known})
    return store, thread_id, ctx


async def resume_run(
    run_dir: str,
    *,
    progress: ProgressFn | None = None,
    on_review: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    chat_model: Any = None,
    decision: dict[str, Any] | None = None,
    **overrides: Any,
) -> RunOutcome:
    """Continue a run; at a pause, `decision` answers it (a review: {"reject": [names], "rename": {...}})."""
    store, thread_id, ctx = load_run(run_dir, **overrides)
    if chat_model is not None:
        ctx.chat_model = chat_model
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
    return await drive(store, thread_id, ctx, payload, progress, on_review)


async def run_status(run_dir: str) -> dict[str, Any]:
    store, thread_id, ctx = load_run(run_dir)
    async with open_checkpointer(store) as saver:
        snapshot = await builder.compile(checkpointer=saver).aget_state(_config(thread_id, ctx))
    values = snapshot.values or {}
    return {
        "run_dir": str(store.root),
        "thread_id": thread_id,
        "status": values.get("status", "not started") if snapshot.tasks or not values else "done",
        "next": list(snapshot.next),
        "interrupt": [i.value for i in snapshot.interrupts],
        "nodes": len(values.get("nodes", {})),
        "examples": values.get("examples_total", 0),
        "stats": values.get("stats", {}),
    }
