"""Rows of every export format for every example shape: single, reasoning, multi-turn, tool calls.

Every example is first read as one conversation in the OpenAI chat layout (`conversation`): a single example is a
user turn (instruction, then input) and an assistant turn; a multi-turn or tool-calling example carries its own
`messages` (tools/shapes/, the contract: user / assistant with `reasoning` and `tool_calls` whose `arguments` are
JSON text / tool with `tool_call_id`). Each format then writes that conversation the way its trainers read it:

- `openai` (OpenAI chat fine-tuning JSONL): `messages` and `tools` only; `tool_calls[].function.arguments` stay
  JSON text and each result is a `tool` message with its `tool_call_id`. OpenAI's format has no place for a
  reasoning, so it is left out (`include_reasoning`: a `<think>` block before the answer);
- `messages` (HF/TRL conversational JSONL): the same messages, the reasoning as `reasoning_content` (the field the
  chat templates of Qwen3 and DeepSeek-R1 read), `arguments` as objects (what transformers' templates expect),
  `tools` per row, our metadata;
- `sharegpt` (LLaMA-Factory): `conversations` of human / gpt / function_call / observation turns, `tools` as JSON
  text of the functions; a reasoning goes in `<think>` tags at the start of the gpt turn, as LLaMA-Factory's
  reasoning templates train it;
- `alpaca` / `jsonl`: instruction, input, output; a conversation's earlier turns as LLaMA-Factory's `history`
  pairs; the reasoning only with `include_reasoning` (a `<think>` block at the start of the output). Tool calls
  have no Alpaca form: such an export is refused in one line;
- `hf`: the Alpaca columns and the `messages` column, with `tools` and each call's `arguments` as JSON text so
  rows of different tools share one Arrow schema.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from explore_instruct.tools.dataset.sampling import SampledExample

__all__ = [
    "THINK",
    "chat_rows",
    "conversation",
    "example_shape",
    "reasoning_note",
    "shape_lines",
    "shapes_of",
    "think",
]

THINK = ("<think>\n", "\n</think>\n\n")


class ShapeExportError(ValueError):
    """A shape the chosen format cannot hold; one line."""


def think(reasoning: str | None, answer: str) -> str:
    """The answer with its reasoning before it in `<think>` tags (the DeepSeek-R1 / Qwen3 convention)."""
    return f"{THINK[0]}{reasoning.strip()}{THINK[1]}{answer}" if reasoning and reasoning.strip() else answer


def prompt_text(instruction: str, inp: str) -> str:
    """The user turn of a single example: the instruction, then the input after a blank line if there is one."""
    return f"{instruction}\n\n{inp}" if inp.strip() else instruction


def _extra(s: SampledExample) -> dict[str, Any]:
    return s.example.model_extra or {}


def example_shape(s: SampledExample) -> str:
    """The example's shape (`single` when it states none)."""
    return str(_extra(s).get("shape") or "single")


def shapes_of(examples: Iterable[SampledExample]) -> Counter[str]:
    return Counter(example_shape(s) for s in examples)


def conversation(s: SampledExample) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(messages, tools) of an example in the OpenAI layout; the assistant's thinking under `reasoning`."""
    extra = _extra(s)
    tools = [t for t in extra.get("tools") or [] if isinstance(t, dict)]
    messages = extra.get("messages")
    if isinstance(messages, list) and messages:
        return [dict(m) for m in messages if isinstance(m, dict)], tools
    answer: dict[str, Any] = {"role": "assistant", "content": s.example.output}
    if isinstance(extra.get("reasoning"), str) and extra["reasoning"].strip():
        answer["reasoning"] = extra["reasoning"]
    return [{"role": "user", "content": prompt_text(s.example.instruction, s.example.input)}, answer], tools


def _arguments(text: Any) -> Any:
    """A call's arguments as an object (they are JSON text in the contract); text that is not JSON stays text."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _as_text(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)


def _calls(message: dict[str, Any], *, text_arguments: bool) -> list[dict[str, Any]]:
    out = []
    for call in message.get("tool_calls") or []:
        fn = call.get("function", {})
        args = _as_text(fn.get("arguments", "{}")) if text_arguments else _arguments(fn.get("arguments", "{}"))
        out.append({"id": call.get("id"), "type": "function", "function": {"name": fn.get("name"), "arguments": args}})
    return out


def openai_messages(messages: list[dict[str, Any]], *, include_reasoning: bool) -> list[dict[str, Any]]:
    """OpenAI's chat layout: no reasoning field (in `<think>` tags with `include_reasoning`), JSON-text arguments,
    an assistant turn that only calls tools without a `content`."""
    out: list[dict[str, Any]] = []
    for m in messages:
        role = m.get("role")
        if role == "assistant":
            text = str(m.get("content") or "")
            if include_reasoning:
                text = think(m.get("reasoning"), text)
            turn: dict[str, Any] = {"role": "assistant"}
            if text or not m.get("tool_calls"):
                turn["content"] = text
            if m.get("tool_calls"):
                turn["tool_calls"] = _calls(m, text_arguments=True)
            out.append(turn)
        elif role == "tool":
            out.append({"role": "tool", "tool_call_id": m.get("tool_call_id"), "content": str(m.get("content", ""))})
        else:
            out.append({"role": role, "content": str(m.get("content", ""))})
    return out


def hf_messages(messages: list[dict[str, Any]], *, text_arguments: bool = False) -> list[dict[str, Any]]:
    """The HF/TRL layout: `reasoning_content` on assistant turns, arguments as objects (or text for Arrow)."""
    out: list[dict[str, Any]] = []
    for m in messages:
        turn = {k: v for k, v in m.items() if k not in ("reasoning", "tool_calls")}
        if m.get("role") == "assistant":
            turn["content"] = str(m.get("content") or "")
            if m.get("reasoning"):
                turn["reasoning_content"] = m["reasoning"]
            if m.get("tool_calls"):
                turn["tool_calls"] = _calls(m, text_arguments=text_arguments)
        out.append(turn)
    return out


def sharegpt_turns(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """LLaMA-Factory's ShareGPT: human / gpt / function_call / observation. A turn's calls are one function_call
    (a list when there are several) and their results one observation (a JSON list when there are several)."""
    turns: list[dict[str, str]] = []
    results: list[str] = []
    for m in messages:
        role = m.get("role")
        if role != "tool" and results:
            turns.append({"from": "observation", "value": results[0] if len(results) == 1 else json.dumps(results)})
            results = []
        if role == "user":
            turns.append({"from": "human", "value": str(m.get("content", ""))})
        elif role == "assistant" and m.get("tool_calls"):
            calls = [
                {"name": c["function"]["name"], "arguments": c["function"]["arguments"]}
                for c in _calls(m, text_arguments=False)
            ]
            value = calls[0] if len(calls) == 1 else calls
            turns.append({"from": "function_call", "value": json.dumps(value, ensure_ascii=False)})
        elif role == "assistant":
            turns.append({"from": "gpt", "value": think(m.get("reasoning"), str(m.get("content") or ""))})
        elif role == "tool":
            results.append(str(m.get("content", "")))
    if results:
        turns.append({"from": "observation", "value": results[0] if len(results) == 1 else json.dumps(results)})
    return turns


def alpaca_fields(s: SampledExample, *, include_reasoning: bool, fmt: str) -> dict[str, Any]:
    """instruction/input/output (+ `history` of earlier turns) of any shape but tool calls."""
    messages, _ = conversation(s)
    if any(m.get("role") == "tool" or m.get("tool_calls") for m in messages):
        raise ShapeExportError(
            f"--format {fmt}: example {s.id} calls tools, which Alpaca rows cannot hold; use openai, messages or "
            "sharegpt"
        )
    if not _extra(s).get("messages"):  # a single example keeps its own instruction and input
        out = think(_extra(s).get("reasoning"), s.example.output) if include_reasoning else s.example.output
        return {"instruction": s.example.instruction, "input": s.example.input, "output": out}
    pairs: list[list[str]] = []
    for m in messages:
        if m.get("role") == "user":
            pairs.append([str(m.get("content", "")), ""])
        elif m.get("role") == "assistant" and pairs:
            text = str(m.get("content") or "")
            pairs[-1][1] = think(m.get("reasoning"), text) if include_reasoning else text
    last = pairs[-1] if pairs else [s.example.instruction, s.example.output]
    row: dict[str, Any] = {"instruction": last[0], "input": "", "output": last[1]}
    if len(pairs) > 1:
        row["history"] = pairs[:-1]
    return row


def chat_rows(fmt: str, s: SampledExample, *, include_reasoning: bool) -> dict[str, Any]:
    """The format's fields for one example (metadata added by the caller, except for `openai`)."""
    messages, tools = conversation(s)
    if fmt == "openai":
        return {"messages": openai_messages(messages, include_reasoning=include_reasoning)} | (
            {"tools": copy.deepcopy(tools)} if tools else {}
        )
    if fmt == "messages":
        return {"messages": hf_messages(messages)} | ({"tools": copy.deepcopy(tools)} if tools else {})
    if fmt == "sharegpt":
        functions = [t.get("function", t) for t in tools]
        return {"conversations": sharegpt_turns(messages)} | (
            {"tools": json.dumps(functions, ensure_ascii=False)} if tools else {}
        )
    if fmt == "hf":
        row = alpaca_fields(s, include_reasoning=False, fmt=fmt) if not tools else _tool_alpaca(s)
        row["messages"] = hf_messages(messages, text_arguments=True)
        if isinstance(_extra(s).get("reasoning"), str):
            row["reasoning"] = _extra(s)["reasoning"]
        return row | ({"tools": json.dumps(tools, ensure_ascii=False)} if tools else {})
    return alpaca_fields(s, include_reasoning=include_reasoning, fmt=fmt)


def _tool_alpaca(s: SampledExample) -> dict[str, Any]:
    """The hf format's Alpaca columns for a tool-calling example: the request and the final answer (the calls are
    in `messages`)."""
    return {"instruction": s.example.instruction, "input": s.example.input, "output": s.example.output}


def reasoning_note(fmt: str, *, include_reasoning: bool) -> str:
    """Where this format puts an example's reasoning, for the card."""
    where = {
        "openai": "left out (OpenAI's format has no field for it)",
        "messages": "`reasoning_content` on assistant messages",
        "hf": "`reasoning_content` on assistant messages and a `reasoning` column",
        "sharegpt": "`<think>` tags at the start of each gpt turn",
    }.get(fmt, "left out (pass --include-reasoning to keep it)")
    if include_reasoning and fmt in ("openai", "alpaca", "jsonl"):
        where = "`<think>` tags at the start of each answer"
    return where


_SHAPE_WORDS = {
    "single": "instruction, input and output",
    "reasoning": "instruction, input, the reasoning before the answer, and the answer",
    "multi_turn": "a conversation: the user follows up on the assistant's answers",
    "tool_calls": "a tool-calling exchange: request, the assistant's calls, the tools' results, the answer",
}


def shape_lines(examples: Iterable[SampledExample], fmt: str, *, include_reasoning: bool) -> list[str]:
    """The card's lines on the examples' shape and where this format puts its parts."""
    counts = shapes_of(examples)
    if not counts:
        return []
    parts = [
        f"`{shape}` ({n}: {'; '.join(_SHAPE_WORDS[w] for w in shape.split(',') if w in _SHAPE_WORDS)})"
        for shape, n in counts.most_common()
    ]
    lines = [f"- shape: {', '.join(parts)}"]
    if any("reasoning" in shape for shape in counts):
        lines.append(f"- reasoning: {reasoning_note(fmt, include_reasoning=include_reasoning)}")
    if any("tool_calls" in shape for shape in counts):
        where = {
            "openai": "assistant `tool_calls` (arguments as JSON text), `tool` messages, `tools` per line",
            "messages": "assistant `tool_calls` (arguments as objects), `tool` messages, `tools` per row",
            "hf": "`messages` with `tool_calls` (arguments as JSON text) and a `tools` column of JSON text",
            "sharegpt": "`function_call` and `observation` turns, `tools` as JSON text (LLaMA-Factory)",
        }.get(fmt, "")
        lines.append(f"- tool calls: {where}")
    return lines
