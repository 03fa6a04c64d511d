"""The exploration workflow as LangChain tools, for ReAct agents and any tool-calling LLM.

Tools answer with compact dicts (run id, counts, paths, cost), never the examples, because their output goes
into a model's context. Callers are held to the operator's `Limits` (caps, output root); a request that cannot
run comes back as `{"error": "..."}` in one line instead of raising into the agent loop. `explore` starts the
run in the background and answers at once (`wait=true` blocks until it ends), so an agent can go on while it
runs; `make_explore_tools` adds the `status` and `cancel` tools that follow and stop it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.tools import StructuredTool, ToolException
from pydantic import BaseModel, ConfigDict, Field

from explore_instruct.agent.errors import flat, one_line
from explore_instruct.agent.request import ExploreRequest
from explore_instruct.agent.runs.background import Background
from explore_instruct.agent.runs.event_loops import run_sync
from explore_instruct.agent.runs.limits import Limits
from explore_instruct.agent.runs.service import Runs
from explore_instruct.agent.runs.sizing import CALLER_NOTE

NAME = "explore_instruct"
DESCRIPTION = (
    "Build instruction-tuning data for a domain: explore it as a tree of tasks (depth levels, breadth subtasks "
    "per task) and generate examples for every task. Give `domain` (one sentence) or `seed` (a seed file). "
    "Returns run_id, status ('running' until it ends), counts, file paths and cost; the examples stay on disk. "
    "status 'budget' means a budget cap stopped the run (it is resumable). " + CALLER_NOTE
)
STATUS_DESCRIPTION = (
    "Where a run stands: 'running' with phase, counts, calls, cost and ETA; then its summary (status 'done'), or "
    "what it waits for. wait_s waits up to that many seconds for it to end."
)
CANCEL_DESCRIPTION = "Stop a running run at the step it is in; it stays resumable."


class StatusArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run: str = Field(description="A run id (its directory name under the output root).")
    wait_s: float = Field(default=0, ge=0, le=600, description="Wait up to this many seconds for it to end.")


class CancelArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run: str = Field(description="A run id.")


def _error(e: ToolException) -> str:
    return json.dumps({"error": str(e)})


def _validation_error(e: Any) -> str:
    """LangChain hands over the ValidationError of the arguments (or, configured otherwise, a string)."""
    return json.dumps({"error": one_line(e) if isinstance(e, BaseException) else flat(str(e))})


def as_tool(
    name: str, description: str, schema: type[BaseModel], call: Callable[..., Awaitable[Any]]
) -> StructuredTool:
    """A structured tool with async and sync entry points whose failures come back as `{"error": one line}`."""

    async def coroutine(**kwargs: Any) -> Any:
        try:
            return await call(**kwargs)
        except Exception as e:  # an agent gets one line back, never a traceback in its loop
            raise ToolException(one_line(e)) from None

    def func(**kwargs: Any) -> Any:
        return run_sync(lambda: coroutine(**kwargs))

    return StructuredTool.from_function(
        func=func,
        coroutine=coroutine,
        name=name,
        description=description,
        args_schema=schema,
        handle_tool_error=_error,
        handle_validation_error=_validation_error,
    )


def make_explore_tools(
    *,
    limits: Limits | None = None,
    defaults: dict[str, Any] | None = None,
    chat_model: Any = None,
    name: str = NAME,
) -> list[StructuredTool]:
    """`explore` (named `name`), `status` and `cancel`, bound to an operator's caps and run defaults (e.g.
    `{"base_url": ..., "similarity": "exact"}`)."""
    runs = Runs(limits=limits or Limits(), defaults=dict(defaults or {}), chat_model=chat_model)
    background = Background(runs)

    async def explore(**kwargs: Any) -> dict[str, Any]:
        return await background.explore(ExploreRequest(**kwargs))

    async def status(run: str, wait_s: float = 0) -> dict[str, Any]:
        return await background.status(run, wait_s=wait_s)

    async def cancel(run: str) -> dict[str, Any]:
        return await background.cancel(run)

    return [
        as_tool(name, DESCRIPTION, ExploreRequest, explore),
        as_tool(f"{name}_status", STATUS_DESCRIPTION, StatusArgs, status),
        as_tool(f"{name}_cancel", CANCEL_DESCRIPTION, CancelArgs, cancel),
    ]


def make_explore_tool(
    *,
    limits: Limits | None = None,
    defaults: dict[str, Any] | None = None,
    chat_model: Any = None,
    name: str = NAME,
) -> StructuredTool:
    """The `explore` tool alone (its runs are followed by `make_explore_tools`' status, or on disk)."""
    return make_explore_tools(limits=limits, defaults=defaults, chat_model=chat_model, name=name)[0]


def __getattr__(attr: str) -> Any:
    """`explore_tool`: built on first use from the environment (EXPLORE_INSTRUCT_HARD_*, _OUTPUT_ROOT, ...)."""
    if attr == "explore_tool":
        tool = make_explore_tool()
        globals()["explore_tool"] = tool
        return tool
    raise AttributeError(attr)
