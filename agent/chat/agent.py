"""The chat's tool-calling path: free text goes to a `create_agent` loop over the run operations.

Used only when the chat's model can call tools; the tools answer with the same compact dicts as the LangChain
tool and MCP, and what they learn (the last run, a review pause) goes into the chat's state, so a command can
follow up on what the agent started. Runs go on in the background, as from the commands.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from explore_instruct.agent.chat.context import ChatContext, ChatState, after_run, progress_writer
from explore_instruct.agent.chat.replies import HELP
from explore_instruct.agent.request import ExploreRequest
from explore_instruct.agent.runs.background import Background
from explore_instruct.agent.runs.clients import own_http_client
from explore_instruct.agent.tool import (
    CANCEL_DESCRIPTION,
    DESCRIPTION,
    STATUS_DESCRIPTION,
    CancelArgs,
    StatusArgs,
    as_tool,
)
from explore_instruct.tools.llm.models import ModelSpec, make_chat_model

SYSTEM = f"""You help a person build instruction-tuning datasets with the explore_instruct tools.
Start runs with `explore`; keep them small unless asked (depth 1-2, breadth 2-4, examples 5-20).
Runs go on in the background: `status` follows one (it may wait with wait_s), `cancel` stops one.
Answer briefly with run ids, counts, paths and cost; never paste examples or whole files.
When a run waits for review, list its proposals by number and ask which to reject, then call `review`.
The person may also type commands:
{HELP}"""


class RunRef(BaseModel):
    run: str = Field(description="A run id (its directory name under the output root).")


class ReviewArgs(BaseModel):
    run: str = Field(description="The run waiting for a review.")
    reject: list[int] = Field(default_factory=list, description="Numbers of the proposals to drop; [] keeps all.")


class ResumeArgs(BaseModel):
    run: str = Field(description="A run id.")
    max_calls: int | None = Field(default=None, gt=0, description="New budget: LLM calls.")
    max_tokens: int | None = Field(default=None, gt=0, description="New budget: tokens.")
    max_cost_usd: float | None = Field(default=None, gt=0, description="New budget: USD.")


class ExportArgs(BaseModel):
    run: str = Field(description="A run id.")
    format: Literal["alpaca", "jsonl", "sharegpt", "messages", "hf"] = Field(default="jsonl")
    n: int | None = Field(default=None, gt=0, description="Examples to sample (default: all).")


class NoArgs(BaseModel):
    pass


def chat_tools(runs: Background, ctx: ChatContext, seen: dict[str, Any]) -> list[BaseTool]:
    """The agent's tools; `seen` records the last run and any review pause so commands can follow up."""

    def note(result: dict[str, Any]) -> dict[str, Any]:
        seen.update(after_run(result))
        return result

    async def explore(**kw: Any) -> dict[str, Any]:
        return note(await runs.explore(ExploreRequest(**kw), review=ctx.review, progress=progress_writer()))

    async def status(run: str, wait_s: float = 0) -> dict[str, Any]:
        return note(await runs.status(run, wait_s=wait_s))

    async def cancel(run: str) -> dict[str, Any]:
        return note(await runs.cancel(run))

    async def list_runs() -> list[dict[str, Any]]:
        return await runs.runs.list_runs(limit=20)

    async def review(run: str, reject: list[int]) -> dict[str, Any]:
        return note(await runs.resume(run, reject=reject, progress=progress_writer()))

    async def resume(run: str, **budgets: Any) -> dict[str, Any]:
        return note(await runs.resume(run, progress=progress_writer(), **budgets))

    async def export(run: str, format: str = "jsonl", n: int | None = None) -> dict[str, Any]:
        return await runs.runs.export(run, format, n=n)

    async def stats(run: str) -> dict[str, Any]:
        return await runs.runs.stats(run)

    return [
        as_tool("explore", DESCRIPTION, ExploreRequest, explore),
        as_tool("status", STATUS_DESCRIPTION, StatusArgs, status),
        as_tool("cancel", CANCEL_DESCRIPTION, CancelArgs, cancel),
        as_tool("list_runs", "The newest runs with status and counts.", NoArgs, list_runs),
        as_tool(
            "review", "Answer a run's review pause: reject proposals by number, keep the rest.", ReviewArgs, review
        ),
        as_tool("resume", "Continue a stopped run, optionally with a larger budget.", ResumeArgs, resume),
        as_tool("export", "Write a run's examples as a training file; returns the file paths.", ExportArgs, export),
        as_tool("stats", "Shape and diversity of a run's dataset.", RunRef, stats),
    ]


async def agent_turn(state: ChatState, ctx: ChatContext) -> dict[str, Any]:
    from langchain.agents import create_agent

    http = None
    model = ctx.chat_model
    if model is None:
        spec = ModelSpec(model=ctx.model, temperature=0.0)
        if ctx.base_url:
            spec.base_url = ctx.base_url
        model, http = own_http_client(await asyncio.to_thread(make_chat_model, spec))
    seen: dict[str, Any] = {}
    try:
        agent = create_agent(model, tools=chat_tools(ctx.background(), ctx, seen), system_prompt=SYSTEM)
        result = await agent.ainvoke({"messages": list(state["messages"])})
    finally:
        if http is not None:
            await http.aclose()
    known = {m.id for m in state["messages"]}
    update: dict[str, Any] = {"messages": [m for m in result["messages"] if m.id not in known]}
    if seen:
        update.update(seen)
    return update
