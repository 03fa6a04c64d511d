"""The chat's tool-calling path: free text goes to a `create_agent` loop over the run operations.

Used only when the chat's model can call tools. The tools are the operations catalogue's
(agent/operations/catalogue.py), so they take and answer what the LangChain tools and MCP do; what they learn
(the last run, a review pause) goes into the chat's state, so a command can follow up on what the agent
started. Runs go on in the background, as from the commands.
"""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.tools import BaseTool

from explore_instruct.agent.chat.context import ChatContext, ChatState, after_run, progress_writer
from explore_instruct.agent.chat.replies import HELP
from explore_instruct.agent.operations.catalogue import CATALOGUE, Call
from explore_instruct.agent.operations.runner import runner_of
from explore_instruct.agent.runs.background import Background
from explore_instruct.agent.runs.clients import own_http_client
from explore_instruct.agent.tool import catalogue_tools
from explore_instruct.tools.llm.models import ModelSpec, make_chat_model

SYSTEM = f"""You help a person build instruction-tuning datasets with the explore_instruct tools.
Start runs with `explore`; keep them small unless asked (depth 1-2, breadth 2-4, examples 5-20).
Runs go on in the background: `status` follows one (it may wait with wait_s), `cancel` stops one.
Answer briefly with run ids, counts, paths and cost; never paste examples or whole files.
When a run waits for review, list its proposals by number and ask which to reject, then call `review`.
The person may also type commands:
{HELP}"""
# Operations whose answer is a run's state: the chat remembers that run (and a review pause).
RUN_ANSWERS = {"explore", "status", "cancel", "review", "resume"}


def chat_tools(runs: Background, ctx: ChatContext, seen: dict[str, Any]) -> list[BaseTool]:
    """Every operation of the catalogue as the agent's tools; `seen` records the last run and any review pause
    so commands can follow up."""

    def observe(op: str, result: Any) -> None:
        if op in RUN_ANSWERS and isinstance(result, dict):
            seen.update(after_run(result))

    def call() -> Call:
        return Call(review=ctx.review, progress=progress_writer())

    return list(catalogue_tools(runner_of(runs), CATALOGUE, call=call, observe=observe))


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
