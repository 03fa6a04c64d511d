"""The reasoning shape: one structured call, the generation's filters, then the reasoning rules (fake chat models)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import BaseMessage
from pydantic import Field
from support.openai_server import Reply, ScriptedOpenAIServer

from explore_instruct.tools.generation.generate import GenerateRequest
from explore_instruct.tools.llm.models import ModelSpec, make_chat_model
from explore_instruct.tools.prompts.full import Flavour, generate_prompt
from explore_instruct.tools.prompts.reasoning import REASONING_SHOTS, reasoning_prompt, reasoning_shot_examples
from explore_instruct.tools.quality.degeneracy import Thresholds, degenerate_reasoning
from explore_instruct.tools.shapes.base import parse_shape
from explore_instruct.tools.shapes.dispatch import ShapeNotBuilt, generate_shaped
from explore_instruct.tools.shapes.reasoning import ReasonedSpec, check_reasoning, generate_reasoning


class Scripted(FakeListChatModel):
    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def _call(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> str:
        self.seen.append(list(messages))
        return self.responses[len(self.seen) - 1]


def reasoned(i: int, **over: str) -> dict[str, str]:
    item = {
        "instruction": f"Rewrite note number {i} so it sounds polite.",
        "input": f"Give me the report by {i} pm.",
        "reasoning": "The note gives an order. A polite version asks, names the time and thanks the reader.",
        "output": f"Could you send me the report by {i} p.m.? Thank you!",
    }
    return {**item, **over}


def batch(*items: dict[str, str]) -> str:
    return json.dumps({"examples": list(items)})


LOOP = "First I check the tone. " * 12
COPY_OF_PROMPT = {"instruction": "Make this text more formal.", "input": "gonna be late"}


async def test_kept_examples_carry_their_reasoning_and_each_drop_names_its_rule() -> None:
    model = Scripted(
        responses=[
            batch(
                reasoned(1),
                reasoned(2, reasoning=""),
                reasoned(3, reasoning=LOOP),
                reasoned(4, reasoning="Could you send me the report by 4 p.m.? Thank you!"),
                {**reasoned(5), **COPY_OF_PROMPT, "output": "Make this text more formal. gonna be late"},
            )
        ]
    )
    req = GenerateRequest(task="polite notes", n=5, flavour=Flavour.REWRITING, profile="full")
    result = await generate_reasoning(model, req, model_label="fake")
    assert [e.instruction for e in result.examples] == [reasoned(1)["instruction"]]
    kept = result.examples[0].model_dump()
    assert kept["reasoning"] == reasoned(1)["reasoning"] and kept["shape"] == "reasoning"
    assert kept["output"] == reasoned(1)["output"]
    assert [s.rule for s in result.skipped] == [
        "empty_reasoning",
        "looping_reasoning",
        "reasoning_copies_answer",
        "output_copies_prompt",  # the instruction followed by the input is a copy, in every shape
    ]
    assert all(s.item.get("instruction") for s in result.skipped)  # dropped.jsonl gets the whole item
    prompt = str(model.seen[0][-1].content)
    assert '"reasoning": ...' in prompt and "must lead to the output" in prompt


async def test_math_reasoning_that_ends_elsewhere_than_the_answer_is_dropped() -> None:
    ok = {
        "instruction": "A box holds 6 rows of 4 eggs. How many eggs are in the box?",
        "input": "",
        "reasoning": "Each row has 4 eggs and there are 6 rows, so 6 times 4 is 24.",
        "output": "There are $6 \\times 4 = 24$ eggs. The answer is \\boxed{24}.",
    }
    wrong = {**ok, "instruction": "A box holds 6 rows of 5 eggs. How many eggs are in the box?",
             "reasoning": "Each row has 5 eggs and there are 6 rows, so 6 times 5 is 30."}  # fmt: skip
    model = Scripted(responses=[batch(ok, wrong)])
    req = GenerateRequest(task="counting", n=2, flavour=Flavour.MATH, profile="full")
    result = await generate_reasoning(model, req)
    assert [e.instruction for e in result.examples] == [ok["instruction"]]
    assert [(s.rule, s.detail) for s in result.skipped] == [("reasoning_contradicts_answer", "reasoning ends at 30")]


def test_the_reasoning_rules() -> None:
    out = "The answer is \\boxed{28}."
    assert degenerate_reasoning("", out) == ("empty_reasoning", "0 words")
    assert degenerate_reasoning("Seven fours.", out) == ("empty_reasoning", "2 words")
    assert degenerate_reasoning(LOOP, out)[0] == "looping_reasoning"  # type: ignore[index]
    assert degenerate_reasoning("The answer is 28.", "the answer is 28") == ("reasoning_copies_answer", "the same text")
    cut = "Length times width is 7 times 4, which is 28 and the"
    assert degenerate_reasoning(cut, out, truncated=True) == ("cut_off_reasoning", cut[-40:])
    right = "Length times width is 7 times 4, which is 28."
    assert degenerate_reasoning(right, out, math=True) is None
    assert degenerate_reasoning(right.replace("28", "27"), out, math=True) == (
        "reasoning_contradicts_answer",
        "reasoning ends at 27",
    )
    assert degenerate_reasoning(right.replace("28", "27"), out, math=False) is None  # only math has a value
    assert degenerate_reasoning("No numbers here at all.", out, math=True) is None  # nothing to compare
    # The thresholds are the run's: a looser copy limit lets a close paraphrase through.
    near = ("The answer is 28 because 7 times 4", "The answer is 28 because 7 times 4 is 28")
    assert degenerate_reasoning(*near, Thresholds(copy_overlap=0.95)) is None
    assert degenerate_reasoning(*near)[0] == "reasoning_copies_answer"  # type: ignore[index]


def test_check_reasoning_is_the_rules_for_any_shape_and_flavour_by_name() -> None:
    """Called per assistant turn by the conversation shapes, with the flavour as an enum or its name."""
    assert check_reasoning("It is 7 times 4, so 27.", "\\boxed{28}", "math")[0] == "reasoning_contradicts_answer"  # type: ignore[index]
    assert check_reasoning("It is 7 times 4, so 27.", "\\boxed{28}", Flavour.GENERIC) is None
    assert check_reasoning("", "x", quality=None) == ("empty_reasoning", "no reasoning")
    assert check_reasoning("ok", "x", quality=None) is None  # filters off: only the shape's own rule
    with pytest.raises(ValueError):
        check_reasoning("It is 28.", "x", "a user's message")


async def test_the_compact_profile_shows_one_worked_batch_and_drops_a_copy_of_it() -> None:
    shot = json.loads(REASONING_SHOTS[Flavour.GENERIC][1])["examples"][0]
    model = Scripted(responses=[batch(shot, reasoned(7))])
    req = GenerateRequest(task="polite notes", n=2, profile="compact")
    result = await generate_reasoning(model, req)
    assert [s.rule for s in result.skipped] == ["copied_worked_example"]
    assert len(result.examples) == 1
    messages = model.seen[0]
    assert len(messages) == 4  # system, the worked turn (user, assistant), the prompt
    assert "reasoning" in str(messages[0].content) and "Write 2 new examples." in str(messages[-1].content)
    for flavour in Flavour:  # every worked batch is valid under the schema, its reasoning under the grammar's cap
        for ex in reasoning_shot_examples(flavour):
            spec = ReasonedSpec.model_validate(ex.model_dump())
            assert len(spec.reasoning) < 300 and check_reasoning(spec.reasoning, spec.output, flavour) is None


async def test_a_reasoning_cut_at_the_length_limit_is_dropped(openai_server: ScriptedOpenAIServer) -> None:
    """Over the real openai client: function calling hands back the arguments of a reply the server cut at its
    length limit, so the examples arrive and the one whose reasoning stops mid-sentence is dropped for it."""
    whole = reasoned(1)
    cut = reasoned(2, reasoning="The note gives an order. A polite version asks, names the time and")
    openai_server.script([Reply(tool_calls=[{"arguments": batch(whole, cut)}], finish_reason="length")])
    model = make_chat_model(ModelSpec(model="openai:gpt-4o-mini", base_url=openai_server.base_url))
    req = GenerateRequest(task="polite notes", n=2, profile="full")
    result = await generate_reasoning(model, req, method="function_calling")
    assert result.calls[0].finish_reasons == ["length"] and openai_server.request_count == 1
    assert [e.instruction for e in result.examples] == [whole["instruction"]]
    assert [s.rule for s in result.skipped] == ["cut_off_reasoning"]


def test_the_full_prompt_is_the_plain_one_with_the_reasoning_asked_for() -> None:
    kw: dict[str, Any] = {"task": "t", "task_reason": "why", "parent": "root", "siblings": ["s"],
                          "demonstrations": [], "n": 3}  # fmt: skip
    for flavour in Flavour:
        text = reasoning_prompt(**kw, flavour=flavour)
        assert text.count("Reply with JSON") == 1 and text.endswith('"reasoning": ..., "output": ...}]}')
        rules = text.index("Each example also has a")
        plain = generate_prompt(**kw, flavour=flavour)
        assert text[:rules] == plain[: plain.index("\n\nReply with JSON")] + "\n"  # the method's prompt, then ours


async def test_dispatch_sends_each_shape_to_its_generator_and_stamps_it() -> None:
    model = Scripted(responses=[batch(reasoned(1))])
    req = GenerateRequest(task="polite notes", n=1, profile="full")
    result = await generate_shaped(model, req, parse_shape("reasoning"))
    assert [e.model_dump()["shape"] for e in result.examples] == ["reasoning"]
    with pytest.raises(ShapeNotBuilt, match="no tool set loaded"):
        await generate_shaped(model, req, parse_shape("tool_calls"), None)
