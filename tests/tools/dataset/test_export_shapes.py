"""Every export format for every shape, each file checked against its target's rules.

The examples are built by hand in the layout tools/shapes/ writes (the shapes contract), so these rules hold for
whatever generator made them: OpenAI chat fine-tuning (every `tool_call_id` answered by a `tool` message, arguments
JSON text that parses to an object valid under the tool's schema, legal role order, an assistant last), HF/TRL
messages (`reasoning_content`, arguments as objects), LLaMA-Factory ShareGPT (human/observation at odd positions,
gpt/function_call at even ones, `tools` as JSON text) and Alpaca (no reasoning unless asked, no tool calls).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from explore_instruct.tools.dataset.card import render_card
from explore_instruct.tools.dataset.export import ExportError, rows_for, write_dataset
from explore_instruct.tools.dataset.export_chat import THINK
from explore_instruct.tools.dataset.read_back import read_dataset
from explore_instruct.tools.dataset.sampling import LoadedTree, SampledExample, SampleResult
from explore_instruct.tools.tree.model import DomainTree, Example

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["C", "F"]}},
            "required": ["city"],
        },
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current time in a time zone",
        "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]},
    },
}


def sampled(i: int, example: dict[str, Any]) -> SampledExample:
    return SampledExample(f"t:{i}", "t", 0, ("Trips",), Example.model_validate(example))


def call(id_: str, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"id": id_, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


SINGLE = {"instruction": "Plan a day in Lisbon.", "input": "", "output": "Start at Belém, then Alfama."}
REASONED = {
    **SINGLE,
    "instruction": "Plan a rainy day in Porto.",
    "output": "Visit the Serralves museum and the Livraria Lello.",
    "reasoning": "Rain rules out the river walk, so indoor sights come first.",
    "shape": "reasoning",
}
MULTI = {
    "instruction": "Suggest a weekend trip from Madrid.",
    "input": "",
    "output": "Toledo is 30 minutes by train.",
    "shape": "reasoning,multi_turn",
    "messages": [
        {"role": "user", "content": "Suggest a weekend trip from Madrid."},
        {"role": "assistant", "content": "Segovia: the aqueduct and the castle.", "reasoning": "Close, historic."},
        {"role": "user", "content": "Something reachable by a faster train?"},
        {"role": "assistant", "content": "Toledo is 30 minutes by train.", "reasoning": "AVE to Toledo is short."},
    ],
}
TOOLS = {
    "instruction": "What is the weather in Oslo and Rome, and the time in Tokyo?",
    "input": "",
    "output": "Oslo is 3 °C, Rome 18 °C, and it is 21:00 in Tokyo.",
    "shape": "reasoning,tool_calls",
    "tools": [WEATHER, TIME],
    "tool_executed": False,
    "messages": [
        {"role": "user", "content": "What is the weather in Oslo and Rome, and the time in Tokyo?"},
        {
            "role": "assistant",
            "content": "",
            "reasoning": "Two cities' weather: two calls at once.",
            "tool_calls": [
                call("call_1", "get_weather", {"city": "Oslo"}),
                call("call_2", "get_weather", {"city": "Rome", "unit": "C"}),
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "3 °C, snow"},
        {"role": "tool", "tool_call_id": "call_2", "name": "get_weather", "content": "18 °C, sun"},
        {"role": "assistant", "content": "", "tool_calls": [call("call_3", "get_time", {"timezone": "Asia/Tokyo"})]},
        {"role": "tool", "tool_call_id": "call_3", "name": "get_time", "content": "21:00"},
        {"role": "assistant", "content": "Oslo is 3 °C, Rome 18 °C, and it is 21:00 in Tokyo.", "reasoning": "All in."},
    ],
}  # fmt: skip
NO_TOOL = {
    "instruction": "Say hello in Portuguese.",
    "input": "",
    "output": "Olá!",
    "shape": "tool_calls",
    "tools": [WEATHER, TIME],
    "tool_executed": False,
    "messages": [{"role": "user", "content": "Say hello in Portuguese."}, {"role": "assistant", "content": "Olá!"}],
}
ALL = [sampled(i, e) for i, e in enumerate([SINGLE, REASONED, MULTI, TOOLS, NO_TOOL])]
NO_CALLS = ALL[:3]


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


# ---- the targets' rules, written from their documentation, independent of the exporter ------------------------


def check_openai(row: dict[str, Any]) -> None:
    """OpenAI chat fine-tuning: messages (+ tools); calls answered in order; arguments JSON text."""
    assert set(row) <= {"messages", "tools", "parallel_tool_calls"}, set(row)
    tools = {t["function"]["name"]: t["function"]["parameters"] for t in row.get("tools", [])}
    msgs = row["messages"]
    assert msgs[0]["role"] == "user" and msgs[-1]["role"] == "assistant" and msgs[-1]["content"].strip()
    pending: list[str] = []
    previous = None
    for m in msgs:
        role = m["role"]
        assert role in ("user", "assistant", "tool"), role
        assert "reasoning" not in m and "reasoning_content" not in m
        if role == "tool":
            assert m["tool_call_id"] == pending.pop(0), "each tool message answers the next open call"
            assert isinstance(m["content"], str)
        else:
            assert not pending, f"calls {pending} unanswered before a {role} turn"
            assert role != previous, f"two {role} turns in a row"
        if role == "assistant":
            assert isinstance(m.get("content", ""), str)
            assert m.get("content") or m.get("tool_calls"), "an assistant turn says or calls something"
            for c in m.get("tool_calls", []):
                assert c["type"] == "function" and c["id"]
                assert isinstance(c["function"]["arguments"], str)
                args = json.loads(c["function"]["arguments"])
                jsonschema.validate(args, tools[c["function"]["name"]])
                pending.append(c["id"])
        previous = role
    assert not pending


def check_messages(row: dict[str, Any], *, text_arguments: bool = False) -> None:
    """HF/TRL conversational: roles, `reasoning_content` where the shape has it, arguments objects, a tool's name."""
    msgs = row["messages"]
    assert msgs[0]["role"] == "user" and msgs[-1]["role"] == "assistant" and msgs[-1]["content"]
    called: dict[str, str] = {}
    for m in msgs:
        assert m["role"] in ("user", "assistant", "tool") and "reasoning" not in m
        for c in m.get("tool_calls") or []:
            args = c["function"]["arguments"]
            assert isinstance(args, str if text_arguments else dict)
            called[c["id"]] = c["function"]["name"]
        if m["role"] == "tool":
            assert called.pop(m["tool_call_id"]) == m["name"]
    assert not called


def check_sharegpt(row: dict[str, Any]) -> None:
    """LLaMA-Factory: human/observation at odd positions, gpt/function_call at even ones; tools JSON text."""
    turns = row["conversations"]
    assert len(turns) % 2 == 0 and turns[-1]["from"] == "gpt"
    names = {f["name"] for f in json.loads(row["tools"])} if "tools" in row else set()
    for i, t in enumerate(turns):
        assert t["from"] in (("human", "observation") if i % 2 == 0 else ("gpt", "function_call")), (i, t)
        assert isinstance(t["value"], str) and t["value"]
        if t["from"] == "function_call":
            value = json.loads(t["value"])
            for c in value if isinstance(value, list) else [value]:
                assert c["name"] in names and isinstance(c["arguments"], dict)
            assert turns[i + 1]["from"] == "observation"
        if t["from"] == "observation":
            assert turns[i - 1]["from"] == "function_call"


# ---- each format, each shape ----------------------------------------------------------------------------------


def test_openai_file_follows_the_fine_tuning_rules(tmp_path: Path) -> None:
    (path,) = write_dataset("openai", ALL, tmp_path / "o.jsonl")
    rows = lines(path)
    assert len(rows) == len(ALL)
    for row in rows:
        check_openai(row)
    tool_row = rows[3]
    assert [t["function"]["name"] for t in tool_row["tools"]] == ["get_weather", "get_time"]
    first_call = tool_row["messages"][1]
    assert "content" not in first_call and len(first_call["tool_calls"]) == 2  # parallel calls, no text
    assert "tools" in rows[4] and len(rows[4]["messages"]) == 2  # no tool fits: answered directly
    assert "tools" not in rows[0]
    assert read_dataset(path)[0]["instruction"] == SINGLE["instruction"]  # reads back


def test_openai_keeps_the_reasoning_in_think_tags_only_when_asked(tmp_path: Path) -> None:
    plain = rows_for("openai", NO_CALLS)
    assert all(THINK[0] not in m.get("content", "") for r in plain for m in r["messages"])
    asked = rows_for("openai", NO_CALLS, include_reasoning=True)
    assert asked[1]["messages"][-1]["content"] == f"{THINK[0]}{REASONED['reasoning']}{THINK[1]}{REASONED['output']}"
    assert asked[0] == plain[0]  # an example without reasoning is unchanged
    for row in asked:
        check_openai(row)


def test_messages_file_carries_reasoning_content_and_tools(tmp_path: Path) -> None:
    (path,) = write_dataset("messages", ALL, tmp_path / "m.jsonl")
    rows = lines(path)
    for row in rows:
        check_messages(row)
    assert rows[1]["messages"][-1]["reasoning_content"] == REASONED["reasoning"]
    assert [m.get("reasoning_content") for m in rows[2]["messages"] if m["role"] == "assistant"] == [
        "Close, historic.",
        "AVE to Toledo is short.",
    ]
    assert rows[3]["tools"] == [WEATHER, TIME] and rows[3]["shape"] == "reasoning,tool_calls"
    assert rows[3]["messages"][1]["tool_calls"][1]["function"]["arguments"] == {"city": "Rome", "unit": "C"}
    assert rows[0]["id"] == "t:0" and "shape" not in rows[0]


def test_sharegpt_file_follows_llama_factory(tmp_path: Path) -> None:
    (path,) = write_dataset("sharegpt", ALL, tmp_path / "s.json")
    rows = json.loads(path.read_text(encoding="utf-8"))
    for row in rows:
        check_sharegpt(row)
    tool_turns = [t["from"] for t in rows[3]["conversations"]]
    assert tool_turns == ["human", "function_call", "observation", "function_call", "observation", "gpt"]
    assert json.loads(rows[3]["conversations"][2]["value"]) == ["3 °C, snow", "18 °C, sun"]
    assert json.loads(rows[3]["tools"])[0]["name"] == "get_weather"  # the functions themselves
    assert rows[1]["conversations"][1]["value"].startswith(THINK[0] + REASONED["reasoning"])
    assert [t["from"] for t in rows[2]["conversations"]] == ["human", "gpt", "human", "gpt"]


def test_alpaca_leaves_reasoning_out_unless_asked_and_refuses_tool_calls(tmp_path: Path) -> None:
    rows = rows_for("alpaca", NO_CALLS)
    assert rows[1]["output"] == REASONED["output"] and "reasoning" not in rows[1]
    assert rows[2]["instruction"] == "Something reachable by a faster train?" and rows[2]["output"] == MULTI["output"]
    assert rows[2]["history"] == [["Suggest a weekend trip from Madrid.", "Segovia: the aqueduct and the castle."]]
    asked = rows_for("jsonl", NO_CALLS, include_reasoning=True)
    assert asked[1]["output"].startswith(THINK[0] + REASONED["reasoning"]) and asked[0]["output"] == SINGLE["output"]
    assert asked[2]["history"][0][1].startswith(THINK[0] + "Close, historic.")
    for fmt in ("alpaca", "jsonl"):
        with pytest.raises(ExportError, match=f"--format {fmt}: example t:3 calls tools"):
            write_dataset(fmt, ALL, tmp_path / fmt)  # type: ignore[arg-type]
        assert not (tmp_path / fmt).exists()  # refused before anything is written


def test_hf_dataset_holds_every_shape_in_one_schema(tmp_path: Path) -> None:
    pytest.importorskip("datasets")
    import datasets

    (path,) = write_dataset("hf", ALL, tmp_path / "hf")
    ds = datasets.load_from_disk(str(path))
    assert len(ds) == len(ALL) and {"instruction", "output", "messages", "tools", "reasoning"} <= set(ds.column_names)
    tool_row = ds[3]
    check_messages({"messages": [{k: v for k, v in m.items() if v is not None} for m in tool_row["messages"]]},
                   text_arguments=True)  # fmt: skip
    assert [t["function"]["name"] for t in json.loads(tool_row["tools"])] == ["get_weather", "get_time"]
    assert ds[1]["reasoning"] == REASONED["reasoning"] and ds[0]["tools"] is None


def test_the_card_states_the_shapes_and_where_the_reasoning_goes() -> None:
    loaded = LoadedTree(tree=DomainTree.from_domain("Trips"), ids={}, source=Path("trips"))
    result = SampleResult(examples=ALL, requested=None, available=len(ALL))
    card = render_card(loaded, result, fmt="openai", files=["openai.jsonl"])
    assert "- shape: `single` (1: instruction, input and output)" in card
    assert "`reasoning,tool_calls` (1:" in card and "`reasoning,multi_turn` (1:" in card
    assert "- reasoning: left out (OpenAI's format has no field for it)" in card
    assert "- tool calls: assistant `tool_calls` (arguments as JSON text)" in card
    asked = render_card(loaded, result, fmt="openai", files=["openai.jsonl"], include_reasoning=True)
    assert "- reasoning: `<think>` tags at the start of each answer" in asked


def test_the_rules_catch_what_they_guard() -> None:
    """The checks above fail on the faults they are for, so a passing export means something."""
    good = rows_for("openai", ALL)[3]
    unanswered = {**good, "messages": [m for m in good["messages"] if m.get("tool_call_id") != "call_2"]}
    bad_args = json.loads(json.dumps(good))
    bad_args["messages"][1]["tool_calls"][0]["function"]["arguments"] = '{"town": "Oslo"}'  # no `city`
    object_args = json.loads(json.dumps(good))
    object_args["messages"][1]["tool_calls"][0]["function"]["arguments"] = {"city": "Oslo"}
    ends_on_tool = {**good, "messages": good["messages"][:-1]}
    for row in (unanswered, bad_args, object_args, ends_on_tool):
        with pytest.raises((AssertionError, jsonschema.ValidationError, IndexError)):
            check_openai(row)
    share = rows_for("sharegpt", ALL)[3]
    swapped = {**share, "conversations": share["conversations"][1:] + share["conversations"][:1]}
    with pytest.raises(AssertionError):
        check_sharegpt(swapped)
    msgs = rows_for("messages", ALL)[3]
    nameless = json.loads(json.dumps(msgs))
    nameless["messages"][2]["name"] = "get_time"
    with pytest.raises(AssertionError):
        check_messages(nameless)
