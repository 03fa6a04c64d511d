"""The multi_turn shape: one call per conversation (compact), a simulator and an assistant per turn (full), and the
checks every conversation passes. Fake chat models for the logic, the local OpenAI-compatible server for the full
profile's client path, the embedded model for structure only."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import BaseMessage
from pydantic import Field
from support.openai_server import ScriptedOpenAIServer

from explore_instruct.tools.generation.generate import GenerateRequest
from explore_instruct.tools.llm.local import grammar_schema
from explore_instruct.tools.llm.models import ModelSpec, make_chat_model
from explore_instruct.tools.prompts import multi_turn as prompts
from explore_instruct.tools.prompts.full import Flavour
from explore_instruct.tools.shapes.base import parse_shape
from explore_instruct.tools.shapes.dispatch import generate_shaped
from explore_instruct.tools.shapes.multi_turn import CHAR_BUDGET, conversation_schema, generate_multi_turn, turn_caps

SPEC = parse_shape("multi_turn", turns=3)
REASONED = parse_shape("multi_turn,reasoning", turns=3)


class Answering(FakeListChatModel):
    """Answers each call with `answer(prompt)`, recording every prompt; fails loudly past `limit` calls."""

    answer: Callable[[str], str]
    limit: int = 50
    seen: list[list[BaseMessage]] = Field(default_factory=list)
    responses: list[str] = Field(default_factory=lambda: [""])

    def _call(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> str:
        self.seen.append(list(messages))
        if len(self.seen) > self.limit:
            raise AssertionError("runaway calls")
        return self.answer(str(messages[-1].content))

    @property
    def prompts(self) -> list[str]:
        return [str(m[-1].content) for m in self.seen]


def conversation(*pairs: tuple[str, str], reasoning: str | None = None) -> str:
    turns = [
        {"user": u, "assistant": a, **({"reasoning": f"{reasoning} {i}"} if reasoning else {})}
        for i, (u, a) in enumerate(pairs)
    ]
    return json.dumps({"turns": turns})


GOOD = (
    ("Rewrite this note so it sounds polite: send the report now.", "Could you send me the report when you can?"),
    ("Why is that version more polite?", "It asks instead of ordering, and it leaves the timing to the reader."),
    ("Now make it fit in five words.", "Report soon, please? Thanks!"),
)


def good_conversation(prompt: str) -> str:
    task = re.search(r"^Task: (.+)$", prompt, re.M)
    tag = task.group(1) if task else "?"
    return conversation(*((f"{u} ({tag})", a) for u, a in GOOD))


# ---- compact ------------------------------------------------------------------------------------------------


async def test_compact_writes_each_conversation_in_one_call_with_its_follow_up_kinds() -> None:
    model = Answering(answer=good_conversation)
    req = GenerateRequest(task="polite notes", parent="rewriting", n=2, profile="compact", flavour=Flavour.REWRITING)
    result = await generate_multi_turn(model, req, SPEC)
    assert len(result.calls) == 2 and all(c.ok for c in result.calls)
    assert len(result.examples) == 2 and not result.skipped
    ex = result.examples[0]
    messages = ex.model_extra["messages"]  # type: ignore[index]
    assert [m["role"] for m in messages] == ["user", "assistant"] * 3
    assert ex.instruction == messages[0]["content"] and ex.input == ""
    assert ex.output == messages[-1]["content"] == GOOD[-1][1]
    assert ex.model_extra["shape"] == "multi_turn"  # type: ignore[index]
    assert all("reasoning" not in m for m in messages)
    # Each prompt names the task on turn 1 and a concrete job for each follow-up; the two conversations of one
    # call start the round-robin one kind apart, so they ask different follow-ups.
    turn_lines = [[ln for ln in p.splitlines() if ln.startswith("Turn ")] for p in model.prompts]
    assert all(lines[0] == "Turn 1: the user asks for help with polite notes." for lines in turn_lines)
    assert all(len(lines) == 3 for lines in turn_lines)
    assert turn_lines[0][1:] != turn_lines[1][1:]
    jobs = [[ln.split(": ", 1)[1] for ln in lines] for lines in turn_lines]
    assert jobs[0][2] == jobs[1][1]  # one further along the same cycle


def test_follow_up_kinds_cycle_through_every_kind() -> None:
    kinds = prompts.follow_up_kinds(5, 2)
    assert kinds == [*prompts.KINDS[2:], *prompts.KINDS[:2]]
    assert prompts.follow_up_kinds(2, 7) == [prompts.KINDS[3]]


@pytest.mark.parametrize("reasoning", [False, True])
def test_the_compact_schema_asks_the_grammar_for_exactly_the_turns_within_the_budget(reasoning: bool) -> None:
    for turns in range(2, 9):
        caps = turn_caps(turns, reasoning)
        assert sum(caps.values()) * turns <= CHAR_BUDGET
        schema = grammar_schema(conversation_schema(turns, reasoning).model_json_schema())
        array = schema["properties"]["turns"]
        assert array["minItems"] == array["maxItems"] == turns
        fields = schema["$defs"]["ConversationTurn"]["properties"]
        assert list(fields) == (["user", "reasoning", "assistant"] if reasoning else ["user", "assistant"])
        assert {k: v["maxLength"] for k, v in fields.items()} == caps
    # Validation is lenient on the count: a short reply is a recorded drop, not a failed call.
    conversation_schema(3, False).model_validate_json(conversation(GOOD[0]))


async def test_each_drop_is_recorded_with_its_rule_and_the_conversation() -> None:
    replies = iter(
        [
            conversation(*GOOD[:2]),  # two turns of three
            conversation(GOOD[0], GOOD[1], (GOOD[0][0], "Sure, here it is again.")),  # user 3 repeats user 1
            conversation(*((u, a) for u, _r, a in prompts._SHOT_TURNS[:3])),  # the worked conversation, copied
        ]
    )
    model = Answering(answer=lambda _p: next(replies))
    req = GenerateRequest(task="polite notes", n=3, profile="compact", flavour=Flavour.REWRITING)
    result = await generate_multi_turn(model, req, SPEC)
    assert not result.examples
    assert [(s.what, s.rule, s.detail) for s in result.skipped] == [
        ("example", "short_conversation", "2 of 3 turns"),
        ("example", "repeated_turn", "user 3 repeats user 1"),
        ("example", "copied_worked_example", ""),
    ]
    assert len(result.skipped[1].item["messages"]) == 6


# ---- reasoning ----------------------------------------------------------------------------------------------


async def test_reasoning_rides_on_every_assistant_turn_and_is_checked() -> None:
    replies = iter(
        [
            conversation(*GOOD, reasoning="The user wants a polite tone, so I ask instead of ordering, turn"),
            json.dumps({"turns": [{"user": u, "reasoning": "", "assistant": a} for u, a in GOOD]}),
            json.dumps({"turns": [{"user": u, "reasoning": a, "assistant": a} for u, a in GOOD]}),
        ]
    )
    model = Answering(answer=lambda _p: next(replies))
    req = GenerateRequest(task="polite notes", n=3, profile="compact", flavour=Flavour.REWRITING)
    result = await generate_multi_turn(model, req, REASONED)
    assert "In each turn the assistant first thinks in reasoning, then answers." in model.prompts[0]
    assert len(result.examples) == 1
    messages = result.examples[0].model_extra["messages"]  # type: ignore[index]
    assert [m["reasoning"].split()[-1] for m in messages if m["role"] == "assistant"] == ["0", "1", "2"]
    assert result.examples[0].model_extra["shape"] == "reasoning,multi_turn"  # type: ignore[index]
    assert [(s.rule, s.detail[:6]) for s in result.skipped] == [
        ("empty_reasoning", "turn 1"),
        ("reasoning_copies_answer", "turn 1"),
    ]


# ---- full: a user simulator and an assistant, turn by turn --------------------------------------------------


REPLIES = (
    "Asking instead of ordering shows respect for the reader's time.",
    "A short thank-you at the end softens the request without hiding it.",
    "Naming a deadline politely keeps the request clear and friendly.",
)


def full_answer(prompt: str, fail_on: str | None = None) -> str:
    """The full profile's three prompts, answered from what each shows (a repair request gets broken JSON again)."""
    if prompt.startswith("Your last reply could not be used"):
        return "still not json"
    if "opening messages" in prompt:
        n = int(re.search(r"Write (\d+) different", prompt).group(1))  # type: ignore[union-attr]
        return json.dumps({"openings": [f"Rewrite note {i} politely: send the report now." for i in range(n)]})
    if "Write the user's next message" in prompt:
        kind = next(k for k, does in prompts.FOLLOW_UPS if does in prompt)
        answered = prompt.count("Assistant:")
        return json.dumps({"message": f"Follow-up {answered}: {kind}, please, for the same note."})
    if "Write the assistant's reply" in prompt:
        last = [ln for ln in prompt.splitlines() if ln.startswith("User: ")][-1]
        if fail_on and fail_on in last:
            return "not json at all"
        reply = f"Here is my answer to: {last[6:]} {REPLIES[prompt.count('Assistant:')]}"
        if "reasoning" in prompt:
            return json.dumps({"reasoning": f"I reread the note and the request ({last[6:30]}).", "reply": reply})
        return json.dumps({"reply": reply})
    raise AssertionError(f"unexpected prompt: {prompt[:80]}")


async def test_full_profile_simulates_the_user_between_assistant_turns() -> None:
    model = Answering(answer=full_answer)
    req = GenerateRequest(task="polite notes", n=2, profile="full", flavour=Flavour.REWRITING)
    result = await generate_multi_turn(model, req, SPEC)
    # One openings call, then per conversation 3 assistant calls and 2 follow-ups.
    assert len(result.calls) == 1 + 2 * 5 and all(c.ok for c in result.calls)
    assert len(result.examples) == 2, result.skipped
    messages = result.examples[0].model_extra["messages"]  # type: ignore[index]
    assert [m["role"] for m in messages] == ["user", "assistant"] * 3
    assert messages[0]["content"] == result.examples[0].instruction == "Rewrite note 0 politely: send the report now."
    assert messages[2]["content"].startswith("Follow-up 1:") and messages[4]["content"].startswith("Follow-up 2:")
    # The assistant answers the last user message with the whole conversation before it.
    last_reply_prompt = next(p for p in model.prompts if "Write the assistant's reply" in p and "Follow-up 2" in p)
    assert "Assistant: Here is my answer to: Rewrite note" in last_reply_prompt
    follow_kinds = {m["content"].split(": ")[1].split(",")[0] for m in messages[2::2]}
    assert len(follow_kinds) == 2 and follow_kinds <= set(prompts.KINDS)


async def test_full_profile_a_failed_turn_ends_the_conversation_as_short() -> None:
    model = Answering(answer=lambda p: full_answer(p, fail_on="Follow-up 1"))
    req = GenerateRequest(task="polite notes", n=1, profile="full")
    result = await generate_multi_turn(model, req, REASONED)
    assert not result.examples
    assert [(s.rule, s.detail) for s in result.skipped] == [("short_conversation", "1 of 3 turns")]
    assert result.calls[-1].ok is False and result.calls[-1].error_kind is not None
    assert len(result.calls) == 1 + 3  # opening, answer 1, follow-up 1, the failed answer 2 (with its repair)
    assert result.skipped[0].item["messages"][1]["reasoning"].startswith("I reread the note")


async def test_full_profile_over_an_openai_compatible_server(openai_server: ScriptedOpenAIServer) -> None:
    """The real openai client: each call asks the server for its schema (json_schema), the conversation comes back."""

    def responder(request: dict[str, Any]) -> str:
        return full_answer(str(request["messages"][-1]["content"]))

    openai_server.responder = responder
    model = make_chat_model(ModelSpec(model="openai:gpt-4o-mini", base_url=openai_server.base_url))
    req = GenerateRequest(task="polite notes", n=1, profile="full", flavour=Flavour.REWRITING)
    result = await generate_shaped(model, req, parse_shape("reasoning,multi_turn", turns=2), model_label="remote")
    assert openai_server.request_count == 1 + 3 and len(result.calls) == 4
    names = [r["response_format"]["json_schema"]["name"] for r in openai_server.requests]
    assert names == ["Openings", "ReasonedReply", "FollowUp", "ReasonedReply"]
    assert len(result.examples) == 1, result.skipped
    messages = result.examples[0].model_extra["messages"]  # type: ignore[index]
    assert [m["role"] for m in messages] == ["user", "assistant"] * 2
    assert all(m["reasoning"] for m in messages[1::2])
    assert result.examples[0].model_extra["shape"] == "reasoning,multi_turn"  # type: ignore[index]


# ---- the embedded model -------------------------------------------------------------------------------------


@pytest.mark.embedded
async def test_the_embedded_model_writes_a_conversation_or_a_recorded_drop() -> None:
    """Structure only: a 135M model's content differs between machines, so no assertion on what it says."""
    model = make_chat_model(ModelSpec(model="local:smollm2", seed=11, temperature=0.7))
    req = GenerateRequest(task="making an email more polite", parent="rewriting emails", n=1, profile="compact")
    spec = parse_shape("multi_turn", turns=2)
    result = await generate_multi_turn(model, req, spec, model_label="local:smollm2")
    assert len(result.calls) == 1 and result.calls[0].ok, result.calls[0]
    assert len(result.examples) + len(result.skipped) == 1
    for ex in result.examples:
        messages = ex.model_extra["messages"]  # type: ignore[index]
        assert [m["role"] for m in messages] == ["user", "assistant"] * 2
        assert all(m["content"].strip() for m in messages)
        assert ex.instruction == messages[0]["content"] and ex.output == messages[-1]["content"]
    for skip in result.skipped:
        assert skip.what == "example" and skip.rule and skip.item["messages"]
