"""Every use of a library's private or undocumented API, in one place.

Each function here leans on something a library does not promise to keep: a private module, a field that is
not part of its documented interface, or a method we intercept. An upgrade can break any of them silently, so
each has a test in tests/tools/test_compat.py named after it, which fails by name when the library changes.
Code elsewhere calls these functions, never the private API itself.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

# ---- openai ------------------------------------------------------------------------------------------------


def openai_response_format(schema: type[BaseModel]) -> dict[str, Any]:
    """The strict JSON-schema `response_format` the openai client builds for a pydantic model.

    Private: `openai.lib._parsing._completions.type_to_response_format_param` is what `client.chat.completions.
    parse` uses; we call it to send the same schema through the documented `post` (tools/llm/openai_direct.py).
    """
    from openai.lib._parsing._completions import type_to_response_format_param

    return dict(type_to_response_format_param(schema))  # type: ignore[arg-type]


# ---- langchain-openai ----------------------------------------------------------------------------------------


def openai_client_of(model: Any) -> Any | None:
    """The `openai.AsyncOpenAI` client inside a `ChatOpenAI`, or None for any other model.

    Undocumented: `root_async_client` is a field of ChatOpenAI excluded from its public settings.
    """
    return getattr(model, "root_async_client", None)


def with_openai_client(model: Any, client: Any) -> Any:
    """A copy of a `ChatOpenAI` that sends its requests through `client` (an `openai.AsyncOpenAI`).

    Undocumented: both `root_async_client` and `async_client` (its `chat.completions`) must be swapped, since
    langchain-openai calls the latter and we call the former directly.
    """
    return model.model_copy(update={"root_async_client": client, "async_client": client.chat.completions})


# ---- langgraph ----------------------------------------------------------------------------------------------


def start_writes_at_once(saver: Any) -> set[asyncio.Task[Any]]:
    """Make `saver.aput_writes` start each write as a task at once; return the set of writes still going on.

    Intercepted: LangGraph calls `checkpointer.aput_writes(...)` and awaits the result later, under its
    concurrency semaphore. Replacing the bound method on the instance relies on LangGraph looking it up on each
    call (agent/runs/checkpoints.py says why we want the writes started early).
    """
    put: Callable[..., Any] = saver.aput_writes
    pending: set[asyncio.Task[Any]] = set()

    @functools.wraps(put)
    def aput_writes(*args: Any, **kwargs: Any) -> Any:
        coro = put(*args, **kwargs)
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:  # not on the event loop's thread: leave it to the caller, as before
            return coro
        pending.add(task)
        task.add_done_callback(pending.discard)
        return task

    saver.aput_writes = aput_writes
    return pending


# ---- mcp ------------------------------------------------------------------------------------------------------


def lowlevel_server(server: Any) -> Any:
    """The low-level `mcp.server.lowlevel.Server` inside a `FastMCP`, to serve it on streams we give.

    Private: `FastMCP._mcp_server`. `FastMCP.run_stdio_async` serves on `sys.stdout` only, and agent/mcp/server.py
    must keep the protocol on a duplicate of fd 1 while fd 1 itself goes to stderr (native libraries print).
    """
    return server._mcp_server
