"""The exploration workflow as LangChain tools, for ReAct agents and any tool-calling LLM.

Tools answer with compact dicts (run id, counts, paths, cost), never the examples, because their output goes
into a model's context. Callers are held to the operator's `Limits` (caps, output root); a request that cannot
run comes back as `{"error": "..."}` in one line instead of raising into the agent loop.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.tools import StructuredTool, ToolException
from pydantic import BaseModel

from explore_instruct.agent.errors import flat, one_line
from explore_instruct.agent.limits import Limits
from explore_instruct.agent.loops import run_sync
from explore_instruct.agent.request import ExploreRequest
from explore_instruct.agent.service import Runs

NAME = "explore_instruct"
DESCRIPTION = (
    "Build instruction-tuning data for a domain: explore it as a tree of tasks (depth levels, breadth subtasks "
    "per task) and generate examples for every task. Give `domain` (one sentence) or `seed` (a seed file). "
    "Returns run_id, status, counts, file paths and cost; the examples stay on disk. status 'budget' means a "
    "budget cap stopped the run (it is resumable)."
)


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


def make_explore_tool(
    *,
    limits: Limits | None = None,
    defaults: dict[str, Any] | None = None,
    chat_model: Any = None,
    name: str = NAME,
) -> StructuredTool:
    """A tool bound to an operator's caps and run defaults (e.g. `{"base_url": ..., "similarity": "exact"}`)."""
    runs = Runs(limits=limits or Limits(), defaults=dict(defaults or {}), chat_model=chat_model)

    async def explore(**kwargs: Any) -> dict[str, Any]:
        return await runs.explore(ExploreRequest(**kwargs))

    return as_tool(name, DESCRIPTION, ExploreRequest, explore)


def __getattr__(attr: str) -> Any:
    """`explore_tool`: built on first use from the environment (EXPLORE_INSTRUCT_HARD_*, _OUTPUT_ROOT, ...)."""
    if attr == "explore_tool":
        tool = make_explore_tool()
        globals()["explore_tool"] = tool
        return tool
    raise AttributeError(attr)
