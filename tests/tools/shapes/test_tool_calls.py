"""tool_calls generation over the tool sets of real MCP servers (time, git), with a scripted chat model for the
logic and the embedded model for structure; the drop rules; executed calls; the coverage `stats` reports."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import validate
from support.mcp_servers import git_sandbox, git_server, time_server
from support.tool_script import ToolScriptModel

from explore_instruct.tools.generation.generate import GenerateRequest
from explore_instruct.tools.shapes.base import ShapeSpec
from explore_instruct.tools.shapes.coverage import tool_coverage
from explore_instruct.tools.shapes.tool_calls import generate_tool_calls
from explore_instruct.tools.shapes.tool_checks import call_schema, object_model, uses_result
from explore_instruct.tools.shapes.toolsets import Toolset, load_toolset

TASK = "planning calls with colleagues abroad"


def spec(no_tool_share: float = 0.0) -> ShapeSpec:
    return ShapeSpec(kind="tool_calls", no_tool_share=no_tool_share)


def check_record(ex: dict[str, Any], toolset: Toolset) -> list[str]:
    """The contract's layout, checked as an OpenAI fine-tuning validator would; the names of the tools called."""
    messages = ex["messages"]
    assert messages[0] == {"role": "user", "content": ex["instruction"]} and ex["input"] == ""
    assert messages[-1]["role"] == "assistant" and messages[-1]["content"] == ex["output"] and ex["output"]
    assert ex["tools"] == toolset.tools
    called, open_ids = [], set()
    for m in messages[1:-1]:
        if m["role"] == "assistant":
            for call in m["tool_calls"]:
                assert call["type"] == "function" and isinstance(call["function"]["arguments"], str)
                args = json.loads(call["function"]["arguments"])
                validate(args, toolset.parameters(call["function"]["name"]))
                open_ids.add(call["id"])
                called.append(call["function"]["name"])
        else:
            assert m["role"] == "tool" and m["tool_call_id"] in open_ids and m["content"]
            open_ids.discard(m["tool_call_id"])
    assert not open_ids, "every tool_call_id is answered by a tool message"
    assert ex["tool_executed"] == (toolset.executable and bool(called))
    return called


@pytest.fixture(scope="module")
def time_listed() -> Toolset:
    return asyncio.run(load_toolset(None, time_server(), execute=False))


@pytest.fixture
def time_tools(time_listed: Toolset) -> Toolset:
    """The time server's tools, listed once per module; a fresh round robin per test."""
    return Toolset(time_listed.tools, time_listed.output_schemas, time_listed.source)


async def test_compact_examples_call_every_git_tool_with_valid_arguments(tmp_path: Path) -> None:
    toolset = await load_toolset(None, git_server(git_sandbox(tmp_path)), execute=False)
    n = len(toolset.tools)
    model = ToolScriptModel()
    result = await generate_tool_calls(model, GenerateRequest(task=TASK, n=n, profile="compact"), spec(), toolset)
    assert len(result.examples) == n and not result.skipped
    called = [name for ex in result.examples for name in check_record(ex.model_dump(), toolset)]
    assert sorted(called) == sorted(toolset.names)  # the round robin gives every tool its example
    cov = tool_coverage(ex.model_dump() for ex in result.examples)
    assert cov is not None and cov["tools_called"] == n and cov["valid_share"] == 1.0
    assert cov["required_exercised"] == cov["required_parameters"] > 0 and cov["no_tool"] == 0
    assert len(result.calls) == 2 * n and all(c.ok for c in result.calls)


async def test_the_no_tool_share_answers_directly(time_tools: Toolset) -> None:
    req = GenerateRequest(task=TASK, n=8, profile="compact")
    none = await generate_tool_calls(ToolScriptModel(), req, spec(1.0), time_tools)
    assert none.examples and all(check_record(e.model_dump(), time_tools) == [] for e in none.examples)
    assert all(len(e.model_dump()["messages"]) == 2 for e in none.examples)
    half = Toolset(time_tools.tools, source=time_tools.source)  # a run of its own: the share counts its examples
    some = await generate_tool_calls(ToolScriptModel(), req, spec(0.5), half)
    direct = sum(not check_record(e.model_dump(), half) for e in some.examples)
    assert (direct, len(some.examples)) == (4, 8)


def test_the_no_tool_share_holds_over_small_batches(time_tools: Toolset) -> None:
    """Batches of 3 at 0.2 would round to no direct answer at all; counted against what was kept, 10 batches give 6
    of 30, and tool slots that fail (a server refusing arguments) do not inflate the direct share."""
    counts = []
    for _ in range(10):
        counts.append(time_tools.direct_count(3, 0.2))
        time_tools.kept(direct=counts[-1], tool=3 - counts[-1])
    assert sum(counts) == 6 and set(counts) <= {0, 1}
    failing = Toolset(time_tools.tools)
    direct = 0
    for _ in range(10):  # every tool slot fails: direct answers stop once they are a fifth of what was kept
        k = failing.direct_count(3, 0.2)
        direct += k
        failing.kept(direct=k, tool=0)
    assert direct == 0


async def test_wrong_argument_types_are_dropped(time_tools: Toolset) -> None:
    model = ToolScriptModel(invalid=frozenset({"convert_time"}))
    result = await generate_tool_calls(model, GenerateRequest(task=TASK, n=4, profile="compact"), spec(), time_tools)
    assert [s.rule for s in result.skipped] == ["invalid_tool_arguments"] * 2
    assert all(s.item["tool"] == "convert_time" and "arguments" in s.detail for s in result.skipped)
    assert [check_record(e.model_dump(), time_tools) for e in result.examples] == [["get_current_time"]] * 2


async def test_arguments_are_judged_by_the_tools_own_schema(tmp_path: Path) -> None:
    """What a grammar's simple types cannot hold (a minimum, a pattern) the tool's JSON Schema still checks."""
    tool = {
        "type": "function",
        "function": {
            "name": "book_room",
            "description": "Book a meeting room",
            "parameters": {
                "type": "object",
                "required": ["people", "room"],
                "properties": {
                    "people": {"type": "integer", "minimum": 3},
                    "room": {"type": "string", "pattern": "^R[0-9]+$"},
                },
            },
        },
    }
    (tmp_path / "tools.json").write_text(json.dumps([tool]))
    toolset = await load_toolset(str(tmp_path / "tools.json"), None)
    good = ToolScriptModel(arguments={"book_room": {"people": 4, "room": "R12"}})
    kept = await generate_tool_calls(good, GenerateRequest(task=TASK, n=2, profile="compact"), spec(), toolset)
    assert len(kept.examples) == 2 and not kept.skipped
    bad = ToolScriptModel(arguments={"book_room": {"people": 2, "room": "lobby"}})
    dropped = await generate_tool_calls(bad, GenerateRequest(task=TASK, n=2, profile="compact"), spec(), toolset)
    assert not dropped.examples and [s.rule for s in dropped.skipped] == ["invalid_tool_arguments"] * 2
    assert "2 is less than the minimum of 3" in dropped.skipped[0].detail
    assert len(dropped.calls) == 2  # no answer call is spent on a call that cannot run
    cov = tool_coverage(e.model_dump() for e in kept.examples)
    assert cov is not None and cov["per_tool"] == {"book_room": 2} and cov["valid_share"] == 1.0


async def test_an_answer_that_ignores_the_result_is_dropped(time_tools: Toolset) -> None:
    model = ToolScriptModel(ignore_result=True)
    result = await generate_tool_calls(model, GenerateRequest(task=TASK, n=3, profile="compact"), spec(), time_tools)
    assert not result.examples and {s.rule for s in result.skipped} == {"tool_result_ignored"}


async def test_executed_calls_carry_the_servers_real_results() -> None:
    toolset = await load_toolset(None, time_server(), execute=True)
    model = ToolScriptModel(
        arguments={
            "get_current_time": {"timezone": "Asia/Tokyo"},
            "convert_time": {"source_timezone": "Europe/Paris", "time": "09:30", "target_timezone": "America/Chicago"},
        }
    )
    result = await generate_tool_calls(model, GenerateRequest(task=TASK, n=2, profile="compact"), spec(), toolset)
    assert len(result.examples) == 2
    for ex in result.examples:
        record = ex.model_dump()
        check_record(record, toolset)
        body = json.loads(record["messages"][2]["content"])  # the real server's JSON
        assert body.get("timezone") == "Asia/Tokyo" or body.get("time_difference") == "-7.0h"
    assert not any("result" in p and '"result"' in p for p in model.prompts if p.startswith("Task: "))


async def test_a_failing_real_call_is_a_recorded_drop() -> None:
    toolset = await load_toolset(None, time_server(), execute=True)
    mars = "Mars/Olympus_Mons"
    model = ToolScriptModel(
        arguments={
            "get_current_time": {"timezone": mars},
            "convert_time": {"source_timezone": mars, "time": "10:00", "target_timezone": "Etc/UTC"},
        }
    )
    result = await generate_tool_calls(model, GenerateRequest(task=TASK, n=2, profile="compact"), spec(), toolset)
    assert not result.examples and [s.rule for s in result.skipped] == ["tool_error"] * 2
    assert all(mars in s.detail for s in result.skipped)


async def test_reasoning_combines_with_tool_calls(time_tools: Toolset) -> None:
    both = ShapeSpec(kind="tool_calls", reasoning=True, no_tool_share=0.0)
    result = await generate_tool_calls(
        ToolScriptModel(), GenerateRequest(task=TASK, n=2, profile="compact"), both, time_tools
    )
    assert len(result.examples) == 2
    for ex in result.examples:
        final = ex.model_dump()["messages"][-1]
        assert final["reasoning"] and final["content"] == ex.output


async def test_full_profile_calls_natively_and_answers_from_the_tool_message(time_tools: Toolset) -> None:
    req = GenerateRequest(task=TASK, n=4, profile="full")
    result = await generate_tool_calls(ToolScriptModel(), req, spec(), time_tools)
    assert len(result.examples) == 4
    called = {n for e in result.examples for n in check_record(e.model_dump(), time_tools)}
    assert called == set(time_tools.names)
    purposes = {c.purpose for c in result.calls}
    assert purposes == {"tool_requests", "tool_choice", "tool_result", "tool_answer"}


@pytest.mark.parametrize(
    ("switch", "rule"),
    [({"unknown_tool": True}, "unknown_tool"), ({"no_calls": True}, "missing_tool_call"),
     ({"invalid": frozenset({"get_current_time", "convert_time"})}, "invalid_tool_arguments")],
)  # fmt: skip
async def test_full_profile_drops(time_tools: Toolset, switch: dict[str, Any], rule: str) -> None:
    model = ToolScriptModel(**switch)
    result = await generate_tool_calls(model, GenerateRequest(task=TASK, n=3, profile="full"), spec(), time_tools)
    assert not result.examples and [s.rule for s in result.skipped] == [rule] * 3


def test_argument_models_follow_the_tool_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "from": {"type": "string"},
            "model_config": {"type": "integer"},
            "unit": {"enum": ["c", "f"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "where": {"type": "object", "properties": {"lat": {"type": "number"}}, "required": ["lat"]},
            "maybe": {"type": ["boolean", "null"]},
        },
        "required": ["from", "unit"],
    }
    model = object_model("odd_args", schema)
    parsed = model.model_validate({"from": "a", "unit": "c", "model_config": 3, "where": {"lat": 1.5}})
    args = parsed.model_dump(by_alias=True, exclude_none=True)
    assert args == {"from": "a", "model_config": 3, "unit": "c", "where": {"lat": 1.5}}
    validate(args, schema)
    grammar = model.model_json_schema()
    assert set(grammar["required"]) == {"from", "unit"} and grammar["properties"]["unit"]["enum"] == ["c", "f"]
    out = {"type": "object", "properties": {"datetime": {"type": "string"}}, "required": ["datetime"]}
    assert "result" not in call_schema("t", schema, out, simulate=False).model_fields
    shaped = call_schema("t", schema, out, simulate=True).model_json_schema()
    assert "datetime" in json.dumps(shaped["$defs"])  # a simulated result takes the tool's output schema


def test_uses_result_reads_values_not_keys() -> None:
    result = json.dumps({"timezone": "Asia/Tokyo", "datetime": "2026-01-01T09:00:00+09:00"})
    assert uses_result("It is 09:00 in Tokyo.", result)
    assert not uses_result("The timezone and datetime are known.", result)
    assert uses_result("Your branch is main.", "On branch main\nnothing to commit")


@pytest.mark.embedded
async def test_the_embedded_model_writes_tool_calls_of_valid_structure(time_tools: Toolset) -> None:
    from explore_instruct.tools.llm.models import ModelSpec, make_chat_model

    model = make_chat_model(ModelSpec(model="local:smollm2", seed=3, temperature=0.7))
    req = GenerateRequest(task="scheduling meetings across time zones", n=3, profile="compact")
    result = await generate_tool_calls(model, req, spec(0.0), time_tools)
    assert len(result.calls) >= 3  # each example made its first call; every outcome is a record or a named drop
    for ex in result.examples:
        assert check_record(ex.model_dump(), time_tools)
    known = {"invalid_tool_arguments", "tool_result_ignored", "instruction_length", "copied_worked_example"}
    assert all(
        s.rule in known or s.rule.startswith(("repeated", "output_", "cut_off", "empty")) for s in result.skipped
    )
    assert len(result.examples) + len(result.skipped) + sum(not c.ok for c in result.calls) >= 3
