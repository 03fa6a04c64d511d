"""Checks and shapes for tool-calling examples: a pydantic model from a tool's JSON Schema (what a grammar needs to
hold a small model to the tool's parameter types), argument validation against the real schema (`jsonschema`),
whether an answer uses the tool's result, and the conversation record the contract fixes.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from jsonschema.validators import validator_for
from pydantic import BaseModel, ConfigDict, Field, create_model

from explore_instruct.tools.prompts import tool_calls as prompts
from explore_instruct.tools.quality.degeneracy import degenerate
from explore_instruct.tools.quality.filters import DEFAULT_QUALITY, MAX_WORDS, MIN_WORDS
from explore_instruct.tools.shapes.toolsets import Toolset
from explore_instruct.tools.tree.model import Example

# Words too common to tell that an answer used a result.
_STOP = frozenset({
    "the", "and", "for", "with", "that", "this", "are", "was", "were", "from", "you", "your", "has", "have", "had",
    "not", "but", "all", "any", "can", "its", "our", "out", "one", "into", "about", "will", "would", "there",
    "their", "them", "they", "what", "when", "where", "which", "who", "how",
})  # fmt: skip
_TOKEN = re.compile(r"[a-z0-9]+")

# ---------------------------------------------------------------- schemas from a tool's JSON Schema


def _simple_type(schema: Any, name: str, depth: int = 0) -> Any:
    """A Python type for one JSON-Schema node, as far as a grammar needs it; anything richer is a string, and
    the real schema (validated afterwards) decides whether the value fits."""
    if not isinstance(schema, dict):
        return str
    for key in ("anyOf", "oneOf"):
        options = [s for s in schema.get(key) or [] if isinstance(s, dict) and s.get("type") != "null"]
        if options:
            return _simple_type(options[0], name, depth)
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and all(isinstance(v, str | int) and not isinstance(v, bool) for v in enum):
        return Literal[tuple(enum)]
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "integer":
        return int
    if kind == "number":
        return float
    if kind == "boolean":
        return bool
    if kind == "array":
        return list[_simple_type(schema.get("items"), name, depth + 1)]  # type: ignore[misc]
    if kind == "object" and schema.get("properties") and depth < 3:
        return object_model(f"{name}_obj", schema, depth + 1)
    if kind == "object":
        return dict[str, str]
    return str


def object_model(name: str, schema: dict[str, Any], depth: int = 0) -> type[BaseModel]:
    """A pydantic model for an object schema: required properties required, the others optional (None, dropped
    from the arguments). Fields get safe Python names and keep the schema's names as aliases."""
    props: dict[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    fields: dict[str, Any] = {}
    for i, (key, sub) in enumerate(props.items()):
        typ = _simple_type(sub, f"{name}_{i}", depth)
        desc = str(sub.get("description", ""))[:200] if isinstance(sub, dict) else ""
        if key in required:
            fields[f"f{i}"] = (typ, Field(alias=key, description=desc))
        else:
            fields[f"f{i}"] = (typ | None, Field(default=None, alias=key, description=desc))
    safe = re.sub(r"\W", "_", name)[:60] or "Args"
    return create_model(safe, __config__=ConfigDict(populate_by_name=True), **fields)


def call_schema(
    name: str, parameters: dict[str, Any], output: dict[str, Any] | None, simulate: bool
) -> type[BaseModel]:
    """The compact first call: the request, THIS tool's arguments and, when simulated, its result."""
    fields: dict[str, Any] = {
        "request": (str, Field(min_length=8, description="What the user asks, one or two sentences")),
        "arguments": (object_model(f"{name}_args", parameters), Field(description=f"The arguments of {name}")),
    }
    if simulate:
        result: Any = object_model(f"{name}_result", output) if output and output.get("properties") else str
        fields["result"] = (result, Field(description=f"What {name} returns for these arguments"))
    return create_model("ToolCall", **fields)


class Answer(BaseModel):
    answer: str = Field(min_length=1, description="The assistant's answer to the user, from the tool's result")


class ReasonedAnswer(BaseModel):
    """Reasoning first: a grammar writes fields in order, so the thinking comes before the answer it leads to."""

    reasoning: str = Field(min_length=1, description="Thinking before the answer")
    answer: str = Field(min_length=1, description="The assistant's answer to the user, from the tool's result")


class Requests(BaseModel):
    requests: list[str] = Field(min_length=1, description="User requests, one or two sentences each")


# ---------------------------------------------------------------- checks


def argument_error(arguments: Any, parameters: dict[str, Any]) -> str | None:
    """The first way `arguments` break the tool's input schema, or None."""
    if not isinstance(arguments, dict):
        return f"arguments are a {type(arguments).__name__}, not an object"
    validator = validator_for(parameters)(parameters)
    error = next(iter(validator.iter_errors(arguments)), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return (f"{where}: " if where else "") + error.message[:200]


def _leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [t for v in value.values() for t in _leaves(v)]
    if isinstance(value, list):
        return [t for v in value for t in _leaves(v)]
    return [str(value)]


def _tokens(text: str) -> set[str]:
    return {t for t in _TOKEN.findall(text.lower()) if (len(t) >= 3 or t.isdigit()) and t not in _STOP}


def uses_result(answer: str, result: str) -> bool:
    """Whether the answer shares a word or a number with the result's values (its JSON keys do not count)."""
    try:
        values = " ".join(_leaves(json.loads(result)))
    except ValueError:
        values = result
    return bool(_tokens(values) & _tokens(answer))


def normalise(text: str) -> str:
    return " ".join(str(text).split())


def final_check(request: str, answer: str, result: str | None, truncated: bool = False) -> tuple[str, str] | None:
    """(rule, detail) for a conversation we must not keep, else None."""
    words = len(request.split())
    if words < MIN_WORDS or words > MAX_WORDS:
        return "instruction_length", f"{words} words, want {MIN_WORDS}-{MAX_WORDS}"
    if not answer:
        return "empty_output", ""
    shown = prompts.shot_texts()
    if request.lower() in shown or answer.lower() in shown:
        return "copied_worked_example", ""
    bad = degenerate(Example(instruction=request, output=answer), DEFAULT_QUALITY, truncated=truncated)
    if bad is not None:
        return bad
    if result is not None and not uses_result(answer, result):
        return "tool_result_ignored", answer[:80]
    return None


# ---------------------------------------------------------------- records


def conversation(
    request: str,
    calls: list[tuple[str, dict[str, Any], str]],
    answer: str,
    toolset: Toolset,
    *,
    executed: bool,
    reasoning: str | None = None,
) -> Example:
    """The contract's record: messages (tool_call ids answered by tool messages, arguments as JSON text), tools."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": request}]
    if calls:
        tool_calls = [
            {
                "id": f"call_{i}",
                "type": "function",
                "function": {"name": n, "arguments": json.dumps(a, ensure_ascii=False)},
            }
            for i, (n, a, _r) in enumerate(calls, 1)
        ]
        messages.append({"role": "assistant", "content": "", "tool_calls": tool_calls})
        messages += [
            {"role": "tool", "tool_call_id": f"call_{i}", "name": n, "content": r}
            for i, (n, _a, r) in enumerate(calls, 1)
        ]
    final: dict[str, Any] = {"role": "assistant", "content": answer}
    if reasoning:
        final["reasoning"] = reasoning
    messages.append(final)
    extra: dict[str, Any] = {"messages": messages, "tools": toolset.tools, "tool_executed": executed and bool(calls)}
    return Example(instruction=request, input="", output=answer, **extra)
