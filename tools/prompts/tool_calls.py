"""Prompt text for the `tool_calls` shape (tools/shapes/tool_calls.py).

Compact profile (small local models): one job per call, a few lines, one worked turn on a tool far from any
domain (a weather tool). The first call writes a user request for ONE tool we picked, its arguments (the grammar
is built from that tool's parameters) and, unless the call is executed for real, what the tool returns; the
second writes the answer from the result. Full profile (capable models): the model writes requests for the task
in view of every tool, then calls tools natively (`bind_tools`), and answers from the tool messages.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

Shots = list[tuple[str, str]]

CALL_SYSTEM = (
    "You write a request that a user sends to an AI assistant that has a tool, and the tool call that serves it. "
    "Reply with JSON."
)
ANSWER_SYSTEM = (
    "You are an AI assistant. You called a tool for the user; answer the user from its result. Reply with JSON."
)
FULL_SYSTEM = (
    "You are an AI assistant with tools. Call a tool when one can do what the user asks, with arguments that "
    "follow its parameters; otherwise answer directly."
)


def describe_parameters(parameters: dict[str, Any], limit: int = 8) -> str:
    """One line per parameter: name (type, required), description; a small model reads a list, not a schema."""
    props: dict[str, Any] = parameters.get("properties") or {}
    required = set(parameters.get("required") or [])
    lines = []
    for key, sub in list(props.items())[:limit]:
        sub = sub if isinstance(sub, dict) else {}
        kind = sub.get("type", "value")
        if "enum" in sub:
            kind = "one of " + ", ".join(str(v) for v in sub["enum"][:6])
        need = "required" if key in required else "optional"
        desc = " ".join(str(sub.get("description", "")).split())[:160]
        lines.append(f"- {key} ({kind}, {need})" + (f": {desc}" if desc else ""))
    return "\n".join(lines) if lines else "- none"


def call_text(task: str, parent: str | None, name: str, description: str, parameters: dict[str, Any]) -> str:
    lines = [f"Task: {task}"]
    if parent:
        lines.append(f"Part of: {parent}")
    lines.append(f"Tool: {name}: {' '.join(description.split())[:240]}")
    lines.append("Parameters:\n" + describe_parameters(parameters))
    lines.append("Write one new user request for this task that needs the tool, and the tool's arguments for it.")
    return "\n".join(lines)


def answer_text(request: str, name: str, arguments: dict[str, Any], result: str) -> str:
    return (
        f"User request: {request}\n"
        f"You called {name} with {json.dumps(arguments, ensure_ascii=False)}.\n"
        f"The tool returned:\n{result[:1500]}\n"
        "Answer the user in one to three sentences, using what the tool returned."
    )


_WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name"},
        "day": {"type": "string", "description": "today or tomorrow"},
    },
    "required": ["city"],
}
_WEATHER_RESULT = "Lisbon, tomorrow: sunny, 24 C, light wind from the north."


def call_shots(simulated: bool) -> Shots:
    """The worked first call: a request, its arguments and (when simulated) the tool's result."""
    reply: dict[str, Any] = {
        "request": "Will I need an umbrella in Lisbon tomorrow?",
        "arguments": {"city": "Lisbon", "day": "tomorrow"},
    }
    if simulated:
        reply["result"] = _WEATHER_RESULT
    prompt = call_text("planning a day out", "travel", "get_weather", "Weather forecast for a city", _WEATHER)
    return [(prompt, json.dumps(reply))]


def answer_shots() -> Shots:
    prompt = answer_text(
        "Will I need an umbrella in Lisbon tomorrow?", "get_weather", {"city": "Lisbon", "day": "tomorrow"},
        _WEATHER_RESULT,
    )  # fmt: skip
    reply = {"answer": "No umbrella needed: tomorrow in Lisbon is sunny, about 24 C, with a light north wind."}
    return [(prompt, json.dumps(reply))]


def shot_texts() -> set[str]:
    """What the worked turns say, so a copy of them is told apart (and dropped) rather than kept."""
    return {"will i need an umbrella in lisbon tomorrow?", " ".join(_WEATHER_RESULT.lower().split())}


def requests_text(task: str, parent: str | None, tools: Sequence[dict[str, Any]], n: int) -> str:
    """Full profile: n requests for the task that the tools can serve."""
    listing = "\n".join(
        f"- {t['function']['name']}: {' '.join(str(t['function'].get('description', '')).split())[:200]}" for t in tools
    )
    where = f" (part of: {parent})" if parent else ""
    return (
        f"Task: {task}{where}\n"
        f"The assistant has these tools:\n{listing}\n"
        f"Write {n} different, realistic requests a user could send for this task, each one that a tool above "
        "can help with. Give concrete values (names, places, numbers) the tool call needs. Vary the tools."
    )


def simulate_text(name: str, description: str, arguments: dict[str, Any], has_schema: bool) -> str:
    """Full profile, simulated results: what the tool would return for these arguments."""
    shape = "Fill in the tool's result fields." if has_schema else "Write the tool's output as it would print it."
    return (
        f"Tool {name}: {' '.join(description.split())[:300]}\n"
        f"It was called with {json.dumps(arguments, ensure_ascii=False)}.\n"
        f"Write a realistic, specific result of this call. {shape}"
    )
