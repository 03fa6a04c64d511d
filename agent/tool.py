"""The exploration workflow as LangChain tools, for ReAct agents and any tool-calling LLM.

Each tool is an operation of the catalogue (agent/operations/catalogue.py): its name, description and argument
schema come from there, so this face only binds them to a runner. Tools answer with compact dicts (run id,
counts, paths, cost), never the examples, because their output goes into a model's context. Callers are held to
the operator's `Limits` (caps, output root); a request that cannot run comes back as `{"error": "..."}` in one
line instead of raising into the agent loop. `explore` starts the run in the background and answers at once
(`wait=true` blocks until it ends), so an agent can go on while it runs; `make_explore_tools` adds the
`status` and `cancel` tools that follow and stop it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from langchain_core.tools import StructuredTool, ToolException

from explore_instruct.agent.errors import flat, one_line
from explore_instruct.agent.operations.catalogue import CATALOGUE, Call, Operation
from explore_instruct.agent.operations.runner import Runner, runner_of
from explore_instruct.agent.runs.background import Background
from explore_instruct.agent.runs.event_loops import run_sync
from explore_instruct.agent.runs.limits import Limits
from explore_instruct.agent.runs.service import Runs

NAME = "explore_instruct"
Observe = Callable[[str, Any], None]


def _error(e: ToolException) -> str:
    return json.dumps({"error": str(e)})


def _validation_error(e: Any) -> str:
    """LangChain hands over the ValidationError of the arguments (or, configured otherwise, a string)."""
    return json.dumps({"error": one_line(e) if isinstance(e, BaseException) else flat(str(e))})


def as_tool(
    op: Operation,
    runner: Runner,
    *,
    name: str | None = None,
    call: Callable[[], Call] = Call,
    observe: Observe | None = None,
) -> StructuredTool:
    """`op` as a structured tool with async and sync entry points whose failures come back as `{"error": one
    line}`. `call` makes each call's `Call` when it happens (a chat's progress stream exists only then);
    `observe` sees each answer (the chat remembers the last run)."""

    async def coroutine(**kwargs: Any) -> Any:
        try:
            result = await op(runner, kwargs, call())
        except Exception as e:  # an agent gets one line back, never a traceback in its loop
            raise ToolException(one_line(e)) from None
        if observe is not None:
            observe(op.name, result)
        return result

    def func(**kwargs: Any) -> Any:
        return run_sync(lambda: coroutine(**kwargs))

    return StructuredTool.from_function(
        func=func,
        coroutine=coroutine,
        name=name or op.name,
        description=op.description,
        args_schema=op.args,
        handle_tool_error=_error,
        handle_validation_error=_validation_error,
    )


def catalogue_tools(
    runner: Runner,
    names: Iterable[str] = CATALOGUE,
    *,
    rename: Callable[[str], str] = str,
    call: Callable[[], Call] = Call,
    observe: Observe | None = None,
) -> list[StructuredTool]:
    """The named operations of the catalogue as tools, in the catalogue's order (`rename`: a tool's name from
    the operation's)."""
    wanted = set(names)
    return [
        as_tool(op, runner, name=rename(op.name), call=call, observe=observe)
        for op in CATALOGUE.values()
        if op.name in wanted
    ]


def make_explore_tools(
    *,
    limits: Limits | None = None,
    defaults: dict[str, Any] | None = None,
    chat_model: Any = None,
    name: str = NAME,
) -> list[StructuredTool]:
    """`explore` (named `name`), `status` and `cancel` (`<name>_status`, `<name>_cancel`), bound to an
    operator's caps and run defaults (e.g. `{"base_url": ..., "similarity": "exact"}`)."""
    runs = Runs(limits=limits or Limits(), defaults=dict(defaults or {}), chat_model=chat_model)
    runner = runner_of(Background(runs))
    return catalogue_tools(
        runner, ("explore", "status", "cancel"), rename=lambda op: name if op == "explore" else f"{name}_{op}"
    )


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
