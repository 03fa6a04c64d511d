"""A scripted tool-calling "agent model" for the local OpenAI-compatible server.

Requests that offer tools are agent turns: the reply calls the next tool of a fixed plan (one per turn since
the person's last message), then answers in text with the last tool result. Requests without tools are the
exploration's own prompts and go to `Script`, so one server can back an agent and the runs it starts.

    plan = AgentPlan([("explore", {"domain": "Email writing for work", "depth": 1, "breadth": [2]})])
    ScriptedOpenAIServer(responder=plan.responder)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from support.scripted import Script

# What every face (LangChain tool, MCP tool) must offer a caller for `explore`: no more, no less.
EXPLORE_ARGUMENTS = {
    "domain", "seed", "preset", "depth", "breadth", "examples", "model", "max_calls", "max_tokens", "max_cost_usd",
    "prompt_profile", "judge", "judge_model", "output_dir", "plan", "wait", "docs",
    "shape", "turns", "tools", "no_tool_share",
}  # fmt: skip


@dataclass
class AgentPlan:
    steps: list[tuple[str, dict[str, Any]]]
    script: Script = field(default_factory=Script)
    final_prefix: str = "Done."

    def responder(self, request: dict[str, Any]) -> dict[str, Any]:
        if not request.get("tools"):
            return self.script.responder(request)
        messages = request.get("messages", [])
        since_user = []
        for m in reversed(messages):
            if m.get("role") == "user":
                break
            since_user.append(m)
        tool_results = [m for m in reversed(since_user) if m.get("role") == "tool"]
        offered = {t.get("function", {}).get("name") for t in request["tools"]}
        if len(tool_results) < len(self.steps):
            name, args = self.steps[len(tool_results)]
            if name not in offered:
                return {"content": f"I have no tool named {name}."}
            return {"content": "", "tool_calls": [{"name": name, "arguments": json.dumps(args)}]}
        last = tool_results[-1]["content"] if tool_results else ""
        text = last if isinstance(last, str) else json.dumps(last)
        return {"content": f"{self.final_prefix} {text[:400]}"}
