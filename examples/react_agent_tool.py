"""A ReAct agent (LangChain `create_agent`) that builds a dataset through the `explore_instruct` tool.

    python examples/react_agent_tool.py                                  # offline: a fake tool-calling agent
    python examples/react_agent_tool.py --agent-model openai:gpt-4o-mini  # a real agent (OPENAI_API_KEY)

The runs use --model (default: the embedded model). The tool holds the agent to hard caps: ask it for
depth 5 and it gets a one-line error back instead of a run.
"""

from __future__ import annotations

import asyncio
from typing import Any

from _common import parser, run_defaults
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, HumanMessage

from explore_instruct.agent.limits import Limits
from explore_instruct.agent.tool import make_explore_tool
from explore_instruct.tools.llm import ModelSpec, make_chat_model


class FakeToolCaller(FakeMessagesListChatModel):
    """Replays a fixed conversation: one explore call, then a closing sentence."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> FakeToolCaller:
        return self


def fake_agent_model(domain: str) -> FakeToolCaller:
    call = {"name": "explore_instruct", "args": {"domain": domain, "depth": 1, "breadth": [2], "examples": [2]}}
    return FakeToolCaller(
        responses=[
            AIMessage("", tool_calls=[{**call, "id": "call-1", "type": "tool_call"}]),
            AIMessage("The dataset is ready; the tool result above has the run id and file paths."),
        ]
    )


async def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--agent-model", default="fake", help="'fake' (offline) or provider:model for the agent")
    args = p.parse_args()
    # The operator's side: caps and an output root no caller can leave; the run model and endpoint.
    tool = make_explore_tool(
        limits=Limits(output_root=args.out, max_nodes=20, max_calls=50), defaults=run_defaults(args)
    )
    if args.agent_model == "fake":
        model: Any = fake_agent_model(args.domain)
    else:
        spec = ModelSpec(model=args.agent_model, temperature=0.0)
        spec.base_url = args.base_url or spec.base_url
        model = make_chat_model(spec)
    agent = create_agent(
        model,
        tools=[tool],
        system_prompt="Build small datasets (depth 1, breadth 2, 2 examples per task) with the explore tool.",
    )
    question: Any = {"messages": [HumanMessage(f"Build me instruction data for {args.domain}.")]}
    result = await agent.ainvoke(question)
    for message in result["messages"]:
        calls = getattr(message, "tool_calls", None)
        if calls:
            print(f"{message.type}: calls {calls[0]['name']}({calls[0]['args']})")
        else:
            print(f"{message.type}: {str(message.content)[:300]}")


if __name__ == "__main__":
    asyncio.run(main())
