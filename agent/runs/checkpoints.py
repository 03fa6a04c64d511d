"""Where a run's checkpoints live: SQLite in the run directory, or a shared PostgreSQL named by the environment."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from explore_instruct.tools.compat import start_writes_at_once
from explore_instruct.tools.dataset.runstore import CHECKPOINTS, RunDirError, RunStore
from explore_instruct.tools.params import env_name

# A Postgres URL here puts checkpoints in a shared database (many workers, one state store). It is read
# from the environment on every start and resume and never written to the run directory: it may hold a password.
CHECKPOINT_URL_ENV = env_name("checkpoint_url")


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


def eager_writes(saver: BaseCheckpointSaver[Any]) -> set[asyncio.Task[Any]]:
    """Save each finished task's writes at once, not when its turn comes under max_concurrency.

    LangGraph queues the checkpointer's writes behind the tasks waiting on the max_concurrency semaphore
    (first in, first out), so in a fan-out larger than the limit nothing a finished call returned was saved
    until every call of the step had started: a kill mid-round lost, and paid again for, all of them. The
    write starts when LangGraph submits it; LangGraph still awaits it under its semaphore as before.
    """
    return start_writes_at_once(saver)  # the writes still going on, for `settle_writes`


async def settle_writes(pending: set[asyncio.Task[Any]]) -> None:
    """Let the writes `eager_writes` started finish before the checkpointer closes.

    A cancelled run (a background run's `cancel`) stops its graph at once, but the writes it started are tasks
    of their own: closed under one mid-statement, SQLite's connection was left holding the write lock, and the
    `resume` that followed waited on it forever (tests/agent/runs/test_background.py, about one run in four here).
    """
    while pending:
        await asyncio.wait(set(pending))
