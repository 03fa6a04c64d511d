"""Running a run's coroutine for a caller: in a context of its own, from sync code, and on the loop that
outlives callers.

A caller's contextvars (a ReAct agent's graph config, callbacks) must not leak into a run that has its own
checkpointer, and a sync tool call may come from a thread that already runs an event loop. A background run
(agent/runs/background.py) must outlive the loop of the call that started it (a sync tool call runs
`asyncio.run` per call, the chat graph per turn), so those runs live on one loop of the process (`LOOP`).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def isolated(make: Callable[[], Awaitable[T]], http: Any = None) -> T:
    """Run in a fresh contextvars context, so a caller's graph config (a ReAct agent's checkpoint namespace,
    callbacks) does not leak into a run that has its own checkpointer; then close the run's HTTP client."""
    try:
        return await asyncio.create_task(_await(make), context=contextvars.Context())
    finally:
        if http is not None:
            await http.aclose()


async def _await(make: Callable[[], Awaitable[T]]) -> T:
    return await make()


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine from sync code; in a worker thread when the caller's thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(make))
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(_await(make))
        except BaseException as e:
            box["error"] = e

    worker = threading.Thread(target=target, name="explore-instruct-sync")
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


class _Loop:
    """One event loop in a daemon thread for every background run of the process, started on first use."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="explore-instruct-runs", daemon=True).start()
                self._loop = loop
            return self._loop

    async def call(self, make: Callable[[], Awaitable[T]]) -> T:
        """Await `make()` on the runs' loop from any other loop; cancelling the caller cancels only this call."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_await(make), self.loop))


LOOP = _Loop()
