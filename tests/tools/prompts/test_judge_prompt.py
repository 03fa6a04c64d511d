"""What the judge prompt shows of an example: the whole conversation in order within a bound, the reasoning cut
short, single examples as before."""

from __future__ import annotations

import re

from explore_instruct.tools.prompts.full import Flavour
from explore_instruct.tools.prompts.judge import (
    CONVERSATION_RUBRIC,
    MAX_CONVERSATION_CHARS,
    MAX_MESSAGES,
    MAX_REASONING_CHARS,
    conversation_text,
    judge_prompt,
    shorten,
)
from explore_instruct.tools.tree.model import Example


def talk(turns: int, words: int, reasoning: str = "") -> list[dict[str, str]]:
    messages = []
    for t in range(turns):
        messages.append({"role": "user", "content": f"U{t} " + "ask " * words})
        messages.append({"role": "assistant", "content": f"A{t} " + "say " * words, "reasoning": reasoning})
    return messages


def test_every_turn_is_shown_in_order_and_the_opening_is_the_instruction() -> None:
    text = conversation_text(talk(3, 5))
    assert text.splitlines()[0].startswith("Instruction: U0 ")
    assert [line.split(":")[0] for line in text.splitlines()] == ["Instruction", "Assistant", "User", "Assistant",
                                                                 "User", "Assistant"]  # fmt: skip
    assert re.findall(r"\b[UA]\d\b", text) == ["U0", "A0", "U1", "A1", "U2", "A2"]


def test_a_long_conversation_is_bounded_and_keeps_every_turns_head_and_tail() -> None:
    messages = talk(8, 400, reasoning="think " * 300)
    text = conversation_text(messages)
    assert len(text) < 1.6 * MAX_CONVERSATION_CHARS
    assert re.findall(r"\b[UA]\d\b", text) == [f"{r}{t}" for t in range(8) for r in "UA"]
    assert text.count("[...]") == 3 * 8  # each user turn, each answer and each reasoning cut
    assert all(len(line) < 200 for line in text.splitlines())


def test_more_messages_than_the_bound_leaves_the_middle_out_and_says_so() -> None:
    text = conversation_text(talk(20, 2))
    assert f"[... {40 - MAX_MESSAGES} messages left out ...]" in text
    assert "U0" in text and "A19" in text and "U10" not in text


def test_shorten_keeps_short_text_and_cuts_long_text_to_about_the_limit() -> None:
    assert shorten("a  b\nc", 10) == "a b c"
    cut = shorten("x" * 50 + "y" * 50, 30)
    assert cut.startswith("x" * 20) and cut.endswith("y" * 10) and "[...]" in cut


def test_single_examples_read_as_before_and_a_reasoning_is_cut() -> None:
    plain = Example(instruction="Shorten this.", input="A long text.", output="Short.")
    reasoned = Example(instruction="Add 2 and 3.", output="5", reasoning="step " * 100)
    prompt = judge_prompt("Rewriting", [plain, reasoned], Flavour.GENERIC)
    assert "[1]\nInstruction: Shorten this.\nInput: A long text.\nOutput: Short." in prompt
    (line,) = [s for s in prompt.splitlines() if s.startswith("Reasoning: ")]
    assert len(line) <= len("Reasoning: ") + MAX_REASONING_CHARS + len(" [...] ")
    assert CONVERSATION_RUBRIC not in prompt
    talked = Example(instruction="U0", output="A1", messages=talk(2, 3))
    assert CONVERSATION_RUBRIC in judge_prompt("Rewriting", [talked], Flavour.GENERIC)
