"""A ReAct agent (LangChain `create_agent`) that builds a dataset through the `explore_instruct` tools.

    python examples/react_agent_tool.py                                  # offline: a fake tool-calling agent
    python examples/react_agent_tool.py --agent-model openai:gpt-4o-mini  # a real agent (OPENAI_API_KEY)

The runs use --model (default: the embedded model). `explore_instruct` starts a run in the background and
answers at once, so the agent can do other work; `explore_instruct_status` follows the run (here it waits for
the end with wait_s) and `explore_instruct_cancel` stops it. The tools hold the agent to hard caps: ask for
depth 5 and it gets a one-line error back instead of a run.
"""

from __future__ import annotations

import asyncio
from typing import Any

from _common import parser, run_defaults
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, HumanMessage

from explore_instruct.agent.runs.limits import Limits
from explore_instruct.agent.tool import make_explore_tools
from explore_instruct.tools.llm.models import ModelSpec, make_chat_model


class FakeToolCaller(FakeMessagesListChatModel):
    """Replays a fixed conversation: one explore call, then a closing sentence."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> FakeToolCaller:
        return self


RUN = "react-demo"


def fake_agent_model(domain: str) -> FakeToolCaller:
    args = {"domain": domain, "depth": 1, "breadth": [2], "examples": [2], "output_dir": RUN}
    explore = {"name": "explore_instruct", "args": args, "id": "call-1", "type": "tool_call"}
    status = {
        "name": "explore_instruct_status",
        "args": {"run": RUN, "wait_s": 120},
        "id": "call-2",
        "type": "tool_call",
    }
    return FakeToolCaller(
        responses=[
            AIMessage("", tool_calls=[explore]),
            AIMessage("", tool_calls=[status]),
            AIMessage("The dataset is ready; the tool result above has the run id and file paths."),
        ]
    )


async def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--agent-model", default="fake", help="'fake' (offline) or provider:model for the agent")
    args = p.parse_args()
    # The operator's side: caps and an output root no caller can leave; the run model and endpoint.
    tools = make_explore_tools(
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
        tools=tools,
        system_prompt="Build small datasets (depth 1, breadth 2, 2 examples per task) with the explore tool, "
        "then follow the run with the status tool until it is done.",
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
