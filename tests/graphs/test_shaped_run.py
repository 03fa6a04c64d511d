"""A run in the `reasoning` shape end to end (scripted model): the tree is explored as for any shape, and every
kept example carries its reasoning; a degenerate reasoning is a recorded drop, refilled like any other."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support.graph_run import read_rows, run_graph, small_context
from support.scripted import Script, parse_generate

from explore_instruct.graphs.lifecycle import has_shape
from explore_instruct.tools.shapes.base import parse_shape
from explore_instruct.tools.tree.model import Example


class ReasoningScript(Script):
    """The scripted model, answering a prompt that asks for reasoning with a reasoning per example; the first
    example of a reply of several has an empty one."""

    def reply(self, prompt: str) -> str:
        text = super().reply(prompt)
        if parse_generate(prompt) is None or '"reasoning": ...' not in prompt:
            return text
        examples = json.loads(text)["examples"]
        for j, e in enumerate(examples):
            empty = j == 0 and len(examples) > 1
            e["reasoning"] = "" if empty else f"The user wants help with this case; step {j}: name the key point first."
        return json.dumps({"examples": examples})


async def test_a_reasoning_run_writes_examples_with_reasoning(tmp_path: Path) -> None:
    model = ReasoningScript().chat_model()
    ctx = small_context(tmp_path, model, prompt_profile="full", shape="reasoning")
    await run_graph({"domain": "Email writing for work"}, ctx)
    examples = read_rows(tmp_path / "run" / "examples.jsonl")
    assert len(examples) == 2 * 3  # the root and its two subtasks, two each
    for e in examples:
        assert e["shape"] == "reasoning" and e["reasoning"].startswith("The user wants help") and e["output"]
    dropped = [r for r in read_rows(tmp_path / "run" / "dropped.jsonl") if r.get("rule") == "empty_reasoning"]
    assert dropped, "the empty reasonings are recorded drops"
    generate = [p for p in model.prompts if parse_generate(p)]
    assert generate and all('"reasoning": ...' in p for p in generate)


SEED = """name: Email writing for work
examples:
  - instruction: Write a two-line reminder about tomorrow's stand-up.
    output: Reminder - stand-up at 9:30 tomorrow. Bring one blocker.
children:
  - name: Declining a meeting politely
    examples:
      - instruction: Decline a meeting invitation because of a deadline.
        output: Thank you for the invite; I have to miss it to meet a deadline.
"""


async def test_a_seed_in_a_reasoning_run_only_shows_its_plain_examples(tmp_path: Path) -> None:
    """A seed's pairs carry no reasoning: they show each task (they reach the prompts) but are not data, so every
    task still gets its full quota, all with reasoning."""
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED, encoding="utf-8")
    model = ReasoningScript().chat_model()
    ctx = small_context(tmp_path, model, prompt_profile="full", breadth=[1], shape="reasoning")
    _, out = await run_graph({"seed": str(seed)}, ctx)
    examples = read_rows(tmp_path / "run" / "examples.jsonl")
    per_task = Counter(e["node_id"] for e in examples)
    assert {"email_writing_for_work", "declining_a_meeting_politely"} <= set(per_task)
    assert set(per_task.values()) == {2} and out["summary"]["shortfall"] == {}
    assert all(e["shape"] == "reasoning" and e["reasoning"] for e in examples)
    assert not {e["instruction"] for e in examples} & {
        "Write a two-line reminder about tomorrow's stand-up.",
        "Decline a meeting invitation because of a deadline.",
    }
    generate = [p for p in model.prompts if parse_generate(p)]
    assert any("Decline a meeting invitation because of a deadline." in p for p in generate), "shown as a demo"


@pytest.mark.parametrize("shape", ["single"])
async def test_a_single_run_writes_no_shape_field(tmp_path: Path, shape: str) -> None:
    ctx = small_context(tmp_path, Script().chat_model(), prompt_profile="full", max_depth=0, shape=shape)
    await run_graph({"domain": "Email writing for work"}, ctx)
    examples = read_rows(tmp_path / "run" / "examples.jsonl")
    assert len(examples) == 2 and not any("shape" in e or "reasoning" in e for e in examples)


async def test_a_tool_calls_run_lists_its_tools_once_and_writes_conversations(tmp_path: Path) -> None:
    from support.tool_script import ToolScriptModel

    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps([WEATHER]))
    ctx = small_context(
        tmp_path, ToolScriptModel(), prompt_profile="compact", shape="tool_calls", tools=str(tools), no_tool_share=0.0
    )
    await run_graph({"domain": "Travel planning"}, ctx)
    saved = json.loads((tmp_path / "run" / "tools.json").read_text())
    assert [t["function"]["name"] for t in saved["tools"]] == ["get_weather"]  # saved for a resume
    examples = read_rows(tmp_path / "run" / "examples.jsonl")
    assert examples and all(e["shape"] == "tool_calls" and e["tools"] == [WEATHER] for e in examples)
    for e in examples:
        calls = [c for m in e["messages"] for c in m.get("tool_calls", [])]
        answered = {m["tool_call_id"] for m in e["messages"] if m["role"] == "tool"}
        assert calls and {c["id"] for c in calls} == answered
        assert e["messages"][-1]["role"] == "assistant" and e["messages"][-1]["content"] == e["output"]


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


CHAT = [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello.", "reasoning": "Greet back."}]


@pytest.mark.parametrize(
    ("extra", "shape", "fits"),
    [
        ({}, "reasoning", False),
        ({"reasoning": "Think of the reader first."}, "reasoning", True),
        ({"messages": CHAT}, "multi_turn", True),
        ({"messages": []}, "multi_turn", False),
        ({"messages": CHAT}, "reasoning,multi_turn", True),
        ({"messages": [{**CHAT[1], "reasoning": ""}]}, "reasoning,multi_turn", False),
        ({"messages": CHAT, "shape": "tool_calls"}, "multi_turn", False),  # its own label decides
        ({"messages": CHAT, "shape": "multi_turn, reasoning"}, "reasoning,multi_turn", True),
        ({"shape": "sonnet"}, "multi_turn", False),
        ({"reasoning": "Think."}, "multi_turn", False),
    ],
)
def test_has_shape_tells_a_seed_example_of_the_runs_shape(extra: dict[str, Any], shape: str, fits: bool) -> None:
    example = Example.model_validate({"instruction": "Hi?", "output": "Hello.", **extra})
    assert has_shape(example, parse_shape(shape)) is fits
