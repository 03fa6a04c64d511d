"""decompose (extend) and generate (enrich) against scripted fake chat models."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import BaseMessage
from pydantic import Field

from explore_instruct.tools.generation.decompose import (
    MAX_CHILDREN,
    NAME_SHAPE,
    DecomposeRequest,
    decompose,
    proposal_schema,
    room_for,
)
from explore_instruct.tools.generation.generate import GenerateRequest, batch_schema, generate, generate_examples
from explore_instruct.tools.prompts.full import SYSTEM, Flavour
from explore_instruct.tools.tree.model import Example


class ScriptedChat(FakeListChatModel):
    """FakeListChatModel that records every prompt; answers in order and fails loudly past the script."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def _call(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> str:
        self.seen.append(list(messages))
        if len(self.seen) > len(self.responses):
            raise AssertionError(f"unexpected call #{len(self.seen)}: the script has {len(self.responses)}")
        return self.responses[len(self.seen) - 1]

    @property
    def prompts(self) -> list[str]:
        return [str(m[-1].content) for m in self.seen]


class LoopingChat(FakeListChatModel):
    """Answers the same reply forever, counting calls (for loops that must stop on their own)."""

    calls: int = 0

    def _call(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> str:
        self.calls += 1
        if self.calls > 50:
            raise AssertionError("runaway loop")
        return self.responses[0]


def good(i: int | str, suffix: str = "") -> dict[str, str]:
    return {
        "instruction": f"Rewrite email number {i} in a formal tone{suffix}.",
        "input": f"hey, meeting moved to {i}pm",
        "output": f"Please note that the meeting has been moved to {i} p.m.",
    }


BAD_BLACKLIST = {"instruction": "Describe the image attached to this email.", "input": "", "output": "It is a cat."}
BAD_SHORT = {"instruction": "Rewrite this.", "input": "hey", "output": "Hello."}
BAD_PLACEHOLDER = {
    "instruction": "Rewrite the following email formally.",
    "input": "<insert email>",
    "output": "Dear...",
}


def subtask(name: str, *examples: dict[str, str], reason: str = "Common need in practice") -> dict[str, Any]:
    return {"name": name, "reason": reason, "examples": list(examples) or [good(name)]}


def proposal(*subtasks: dict[str, Any]) -> str:
    return json.dumps({"subtasks": list(subtasks)})


def batch(*examples: dict[str, str]) -> str:
    return json.dumps({"examples": list(examples)})


# ---- decompose ------------------------------------------------------------------------------------


def test_room_for_caps_at_twelve_children() -> None:
    assert MAX_CHILDREN == 12
    assert room_for(DecomposeRequest(target="t", k=3)) == 3
    assert room_for(DecomposeRequest(target="t", existing_children=[f"c{i}" for i in range(11)], k=3)) == 1
    assert room_for(DecomposeRequest(target="t", existing_children=[f"c{i}" for i in range(12)], k=3)) == 0
    assert room_for(DecomposeRequest(target="t", existing_children=[f"c{i}" for i in range(14)], k=3)) == 0
    assert room_for(DecomposeRequest(target="t", k=3, max_children=2)) == 2


async def test_decompose_basic() -> None:
    model = ScriptedChat(responses=[proposal(subtask("Formal tone", good(1), good(2)), subtask("Shorten emails"))])
    result = await decompose(model, DecomposeRequest(target="Email rewriting", k=2), method="prompt", model_label="fk")
    assert [s.name for s in result.subtasks] == ["Formal tone", "Shorten emails"]
    assert result.subtasks[0].reason == "Common need in practice"
    assert [e.instruction for e in result.subtasks[0].examples] == [good(1)["instruction"], good(2)["instruction"]]
    assert all(isinstance(e, Example) for e in result.subtasks[0].examples)
    assert result.skipped == []
    assert result.call is not None and result.call.ok
    assert (result.call.purpose, result.call.model, result.call.method) == ("decompose", "fk", "prompt")
    assert len(model.seen) == 1
    assert model.seen[0][0].content == SYSTEM


async def test_eleven_children_asks_for_one() -> None:
    existing = [f"Existing child {i}" for i in range(11)]
    model = ScriptedChat(responses=[proposal(subtask("Apology emails"))])
    result = await decompose(
        model, DecomposeRequest(target="Email rewriting", existing_children=existing, k=3), method="prompt"
    )
    assert [s.name for s in result.subtasks] == ["Apology emails"]
    prompt = model.prompts[0]
    assert "Propose 1 NEW subtasks" in prompt
    assert '"maxItems": 1' in prompt  # the schema in the prompt carries the cap too
    assert "It already has 11:" in prompt


async def test_twelve_children_makes_no_call() -> None:
    model = ScriptedChat(responses=[])
    existing = [f"Existing child {i}" for i in range(12)]
    result = await decompose(
        model, DecomposeRequest(target="Email rewriting", existing_children=existing, k=3), method="prompt"
    )
    assert result.subtasks == [] and result.skipped == []
    assert result.call is None
    assert model.seen == []


def test_proposal_schema_bounds() -> None:
    schema = proposal_schema(2, 3).model_json_schema()
    assert schema["properties"]["subtasks"]["maxItems"] == 2
    assert schema["properties"]["subtasks"]["minItems"] == 1
    sub = schema["$defs"]["Subtask"]
    assert sub["properties"]["examples"]["maxItems"] == 3


async def test_duplicate_names_are_skipped() -> None:
    reply = proposal(
        subtask("formal   TONE"),  # an existing child, differently spelled
        subtask("Grammar-fixes"),  # a peer
        subtask("Email Rewriting"),  # the target itself
        subtask("Shorten emails"),
        subtask("shorten emails!"),  # a repeat within the batch
    )
    model = ScriptedChat(responses=[reply])
    req = DecomposeRequest(target="Email rewriting", existing_children=["Formal tone"], peers=["Grammar fixes"], k=5)
    result = await decompose(model, req, method="prompt")
    assert [s.name for s in result.subtasks] == ["Shorten emails"]
    dups = [s for s in result.skipped if s.rule == "duplicate_name"]
    assert [s.item["name"] for s in dups] == ["formal TONE", "Grammar-fixes", "shorten emails!"]
    assert [s.item["name"] for s in result.skipped if s.rule == "repeats_target"] == ["Email Rewriting"]
    assert all(s.what == "subtask" for s in result.skipped)
    assert len(result.skipped) == 4


async def test_subtask_without_valid_examples_is_skipped() -> None:
    reply = proposal(
        subtask("Visual emails", BAD_BLACKLIST, BAD_SHORT),
        subtask("Apology emails", good("a"), BAD_PLACEHOLDER),
    )
    model = ScriptedChat(responses=[reply])
    result = await decompose(model, DecomposeRequest(target="Email rewriting", k=2), method="prompt")
    assert [s.name for s in result.subtasks] == ["Apology emails"]
    assert len(result.subtasks[0].examples) == 1

    rules = [(s.what, s.rule) for s in result.skipped]
    assert rules == [
        ("example", "blacklist"),
        ("example", "instruction_length"),
        ("subtask", "no_valid_examples"),
        ("example", "placeholder_input"),
    ]
    by_rule = {s.rule: s for s in result.skipped}
    assert by_rule["blacklist"].item == BAD_BLACKLIST and by_rule["blacklist"].detail == "image"
    assert by_rule["placeholder_input"].item["input"] == "<insert email>"
    assert by_rule["no_valid_examples"].item == {"name": "Visual emails"}


async def test_skipped_name_can_be_reused_later_in_the_batch() -> None:
    # A subtask dropped for having no valid examples does not reserve its name.
    reply = proposal(subtask("Apology emails", BAD_SHORT), subtask("Apology emails", good(1)))
    model = ScriptedChat(responses=[reply])
    result = await decompose(model, DecomposeRequest(target="Email rewriting", k=2), method="prompt")
    assert [s.name for s in result.subtasks] == ["Apology emails"]


async def test_decompose_normalises_names_and_reasons() -> None:
    reply = proposal(subtask("  Polite \n declines ", reason="  Saying   no\nnicely "))
    model = ScriptedChat(responses=[reply])
    result = await decompose(model, DecomposeRequest(target="Email rewriting", k=1), method="prompt")
    assert result.subtasks[0].name == "Polite declines"
    assert result.subtasks[0].reason == "Saying no nicely"


async def test_a_cut_off_name_is_kept_without_its_tail_and_its_proposed_form_recorded() -> None:
    reply = proposal(
        subtask("send a reply to customer support tickets for"),
        subtask("help with the"),  # trimmed to one word: still dropped
        subtask("Formal tone"),
    )
    model = ScriptedChat(responses=[reply])
    result = await decompose(model, DecomposeRequest(target="Email rewriting", k=3), method="prompt")
    assert [(s.name, s.proposed_as) for s in result.subtasks] == [
        ("send a reply to customer support tickets", "send a reply to customer support tickets for"),
        ("Formal tone", ""),
    ]
    assert [(k.rule, k.detail) for k in result.skipped] == [("name_cut_off", "help with the")]


def test_the_name_grammar_writes_only_what_the_name_rules_accept_as_to_length() -> None:
    # A hyphen let the grammar write 8 words that the rules count as 9 ("on-boarding"): letters and spaces only.
    assert re.fullmatch(NAME_SHAPE.strip("^$"), "help them create a new personal brand onboarding")
    assert not re.fullmatch(NAME_SHAPE.strip("^$"), "help them create a new personal brand on-boarding")
    assert not re.fullmatch(NAME_SHAPE.strip("^$"), "one two three four five six seven eight nine")


async def test_decompose_math_examples_get_boxed() -> None:
    example = {"instruction": "Compute 6 times 7 step by step.", "input": "", "output": "6*7 = 42. Answer: 42"}
    model = ScriptedChat(responses=[proposal(subtask("Multiplication drills", example))])
    result = await decompose(model, DecomposeRequest(target="Arithmetic", k=1, flavour=Flavour.MATH), method="prompt")
    assert result.subtasks[0].examples[0].output == "6*7 = 42. Answer: \\boxed{42}"
    assert "\\boxed" in model.prompts[0]


async def test_decompose_failed_call_returns_its_record() -> None:
    model = ScriptedChat(responses=["I cannot do that", "Still no JSON"])
    result = await decompose(model, DecomposeRequest(target="Email rewriting", k=2), method="prompt")
    assert result.subtasks == [] and result.skipped == []
    assert result.call is not None and not result.call.ok
    assert result.call.error_kind == "invalid_json" and result.call.attempts == 2


async def test_decompose_auto_method_works_on_fake_models() -> None:
    model = ScriptedChat(responses=[proposal(subtask("Formal tone"))])
    result = await decompose(model, DecomposeRequest(target="Email rewriting", k=1))
    assert result.call is not None and result.call.method == "prompt"
    assert [s.name for s in result.subtasks] == ["Formal tone"]


async def test_decompose_prompt_mentions_children_peers_and_demos() -> None:
    model = ScriptedChat(responses=[proposal(subtask("Apology emails"))])
    req = DecomposeRequest(
        target="Email rewriting",
        target_reason="People write many emails",
        existing_children=["Formal tone", "Shorten emails"],
        peers=["Grammar fixes", "Translation"],
        demonstrations=[Example(**good("demo"))],
        k=2,
        examples_per_subtask=3,
    )
    await decompose(model, req, method="prompt")
    prompt = model.prompts[0]
    for text in (
        "Target task: Email rewriting",
        "Why it matters: People write many emails",
        "- Formal tone",
        "- Shorten emails",
        "- Grammar fixes",
        "- Translation",
        good("demo")["instruction"],
        "Propose 2 NEW subtasks",
        "exactly 3 examples",
        "at most 12 finer subtasks",
    ):
        assert text in prompt, text


async def test_decompose_prompt_without_children_or_peers() -> None:
    model = ScriptedChat(responses=[proposal(subtask("Apology emails"))])
    await decompose(model, DecomposeRequest(target="Email rewriting", k=1), method="prompt")
    assert model.prompts[0].count("- (none yet)") == 2
    assert "(no examples yet)" in model.prompts[0]


# ---- generate -------------------------------------------------------------------------------------


def test_batch_schema_bounds() -> None:
    schema = batch_schema(4).model_json_schema()
    assert schema["properties"]["examples"]["maxItems"] == 4
    assert schema["properties"]["examples"]["minItems"] == 1


async def test_generate_filters_and_records() -> None:
    model = ScriptedChat(responses=[batch(good(1), BAD_BLACKLIST, good(2), BAD_PLACEHOLDER)])
    req = GenerateRequest(task="Formal tone", n=4)
    result = await generate(model, req, method="prompt", model_label="fk")
    assert [e.instruction for e in result.examples] == [good(1)["instruction"], good(2)["instruction"]]
    assert [(s.what, s.rule) for s in result.skipped] == [("example", "blacklist"), ("example", "placeholder_input")]
    assert result.skipped[0].item == BAD_BLACKLIST
    assert len(result.calls) == 1 and result.calls[0].ok
    assert (result.calls[0].purpose, result.calls[0].model) == ("generate", "fk")


async def test_generate_failed_call() -> None:
    model = ScriptedChat(responses=["{", "{"])
    result = await generate(model, GenerateRequest(task="Formal tone", n=2), method="prompt")
    assert result.examples == [] and result.skipped == []
    assert len(result.calls) == 1 and result.calls[0].error_kind == "invalid_json"


async def test_generate_prompt_mentions_parent_and_siblings() -> None:
    model = ScriptedChat(responses=[batch(good(1))])
    req = GenerateRequest(
        task="Formal tone",
        task_reason="Business emails",
        parent="Email rewriting",
        siblings=["Shorten emails", "Apology emails"],
        demonstrations=[Example(**good("demo"))],
        n=3,
    )
    await generate(model, req, method="prompt")
    prompt = model.prompts[0]
    for text in (
        "Task: Formal tone",
        "What it covers: Business emails",
        "It is a subtask of: Email rewriting",
        "- Shorten emails",
        "- Apology emails",
        good("demo")["instruction"],
        "Write 3 new",
    ):
        assert text in prompt, text


async def test_generate_prompt_without_parent_has_no_sibling_section() -> None:
    model = ScriptedChat(responses=[batch(good(1))])
    await generate(model, GenerateRequest(task="Formal tone", siblings=["ignored"], n=1), method="prompt")
    assert "subtask of" not in model.prompts[0]
    assert "ignored" not in model.prompts[0]


async def test_generate_examples_reaches_target_in_chunks() -> None:
    model = ScriptedChat(responses=[batch(good(1), good(2)), batch(good(3), good(4)), batch(good(5))])
    result = await generate_examples(model, GenerateRequest(task="Formal tone"), 5, per_call=2, method="prompt")
    assert [e.input for e in result.examples] == [good(i)["input"] for i in range(1, 6)]
    assert len(result.calls) == 3
    assert ["Write 2 new" in p for p in model.prompts] == [True, True, False]
    assert "Write 1 new" in model.prompts[2]


async def test_generate_examples_target_zero_makes_no_call() -> None:
    model = ScriptedChat(responses=[])
    result = await generate_examples(model, GenerateRequest(task="Formal tone"), 0, method="prompt")
    assert result.examples == [] and result.calls == []


@pytest.mark.parametrize("reply", [batch(BAD_BLACKLIST, BAD_SHORT), "not json"])
async def test_generate_examples_stops_after_fruitless_calls(reply: str) -> None:
    model = LoopingChat(responses=[reply])
    result = await generate_examples(
        model, GenerateRequest(task="Formal tone"), 10, per_call=5, max_fruitless_calls=3, method="prompt"
    )
    assert result.examples == []
    assert len(result.calls) == 3  # three logical calls, then it gives up
    assert model.calls == sum(c.attempts for c in result.calls)


async def test_fruitless_count_resets_after_progress() -> None:
    bad = batch(BAD_BLACKLIST)
    model = ScriptedChat(responses=[bad, batch(good(1)), bad, bad])
    result = await generate_examples(
        model, GenerateRequest(task="Formal tone"), 3, per_call=1, max_fruitless_calls=2, method="prompt"
    )
    assert len(result.examples) == 1
    assert len(model.seen) == 4  # bad (1), good (reset), bad (1), bad (2) -> stop
    assert [s.rule for s in result.skipped] == ["blacklist"] * 3


async def test_generate_examples_honours_accept() -> None:
    seen: set[str] = set()

    def accept(example: Example) -> bool:
        if example.instruction in seen:
            return False
        seen.add(example.instruction)
        return True

    model = LoopingChat(responses=[batch(good(1), good(2))])
    result = await generate_examples(
        model,
        GenerateRequest(task="Formal tone"),
        5,
        per_call=2,
        max_fruitless_calls=2,
        accept=accept,
        method="prompt",
    )
    assert [e.instruction for e in result.examples] == [good(1)["instruction"], good(2)["instruction"]]
    assert model.calls == 3  # one productive call, then two that only repeat themselves
    duplicates = [s for s in result.skipped if s.rule == "duplicate"]
    assert len(duplicates) == 4
    assert duplicates[0].item["instruction"] == good(1)["instruction"]


async def test_accept_sees_each_example_once_and_not_past_target() -> None:
    offered: list[str] = []

    def accept(example: Example) -> bool:
        offered.append(example.input)
        return True

    model = ScriptedChat(responses=[batch(good(1), good(2), good(3))])
    result = await generate_examples(
        model, GenerateRequest(task="Formal tone"), 3, per_call=3, accept=accept, method="prompt"
    )
    assert len(result.examples) == 3
    assert offered == [good(i)["input"] for i in (1, 2, 3)]


async def test_generate_examples_math_flavour() -> None:
    example = {"instruction": "Compute 6 times 7 step by step.", "input": "", "output": "It is 42. Answer: 42"}
    model = ScriptedChat(responses=[batch(example)])
    result = await generate_examples(
        model, GenerateRequest(task="Multiplication", flavour=Flavour.MATH), 1, method="prompt"
    )
    assert result.examples[0].output == "It is 42. Answer: \\boxed{42}"
