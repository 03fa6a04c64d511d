"""A chat graph a person talks to (Studio chat, Agent Chat UI, any LangGraph client) to build a dataset.

Two paths, one state:
- **commands** (`/explore`, `/status`, `/resume`, `/runs`, `/export`, `/stats`, `/approve`, `/reject`, `/help`)
  are parsed deterministically, so the chat works on any model, the 135M embedded one included;
- **free text** goes to a tool-calling agent (`create_agent`) when the model can call tools; otherwise the
  reply explains the commands and suggests one for what was asked.

A review pause of the exploration becomes a chat message listing the proposals; the next `/approve` or
`/reject 1,3` resumes the run. Replies are compact summaries (counts, ids, paths), never the data.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from pydantic import ValidationError

from explore_instruct.agent.chat.agent import agent_turn
from explore_instruct.agent.chat.commands import CommandError, parse_command, run_command, suggest
from explore_instruct.agent.chat.context import ChatContext, ChatInput, ChatState
from explore_instruct.agent.chat.replies import HELP
from explore_instruct.agent.errors import one_line
from explore_instruct.agent.runs.limits import LimitError


def _text(message: AnyMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    # Agent Chat UI sends content blocks: keep the text ones.
    parts = [p if isinstance(p, str) else str(p.get("text", "")) for p in content if isinstance(p, str | dict)]
    return " ".join(parts)


def _last_human(state: ChatState) -> str:
    for m in reversed(state.get("messages", [])):
        if isinstance(m, HumanMessage):
            return _text(m).strip()
    return ""


def route(state: ChatState, runtime: Runtime[ChatContext]) -> Literal["command", "agent", "guide"]:
    text = _last_human(state)
    if text.startswith("/"):
        return "command"
    return "agent" if runtime.context.can_call_tools() else "guide"


async def command(state: ChatState, runtime: Runtime[ChatContext]) -> dict[str, Any]:
    """The deterministic path: every failure is a one-line reply, the chat goes on."""
    cmd = parse_command(_last_human(state))
    assert cmd is not None
    try:
        reply, update = await run_command(cmd, state, runtime.context)
    except Exception as e:
        hint = " `/help` lists the commands." if isinstance(e, CommandError | LimitError | ValidationError) else ""
        reply, update = f"Error: {one_line(e).rstrip('.')}.{hint}", {}
    return {"messages": [AIMessage(reply)], **update}


async def agent(state: ChatState, runtime: Runtime[ChatContext]) -> dict[str, Any]:
    try:
        return await agent_turn(state, runtime.context)
    except Exception as e:
        return {"messages": [AIMessage(f"Error: {one_line(e)}. The commands still work: `/help`.")]}


def guide(state: ChatState) -> dict[str, Any]:
    """Models without tool calling (the embedded one): explain the commands and suggest one."""
    text = _last_human(state)
    idea = suggest(text) if text else None
    lead = f"This model cannot call tools, so I work by commands. Did you mean:\n`{idea}`\n\n" if idea else ""
    return {"messages": [AIMessage(lead + HELP)]}


builder = StateGraph(ChatState, context_schema=ChatContext, input_schema=ChatInput)
builder.add_node("command", command)
builder.add_node("agent", agent)
builder.add_node("guide", guide)
builder.add_conditional_edges(START, route)
builder.add_edge("command", END)
builder.add_edge("agent", END)
builder.add_edge("guide", END)

graph = builder.compile(name="chat")
