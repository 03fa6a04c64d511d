"""The checks every conversation passes (tools/shapes/turn_checks.py), on hand-made conversations."""

from __future__ import annotations

import pytest

from explore_instruct.tools.prompts.full import Flavour
from explore_instruct.tools.shapes.base import parse_shape
from explore_instruct.tools.shapes.turn_checks import Turn, check_conversation
from explore_instruct.tools.tree.model import Example

SPEC = parse_shape("multi_turn", turns=3)
GOOD = (
    ("Rewrite this note so it sounds polite: send the report now.", "Could you send me the report when you can?"),
    ("Why is that version more polite?", "It asks instead of ordering, and it leaves the timing to the reader."),
    ("Now make it fit in five words.", "Report soon, please? Thanks!"),
)


def _turns(*pairs: tuple[str, str]) -> list[Turn]:
    return [Turn(u, a) for u, a in pairs]


LOOPING = "Be kind to the reader. " * 8
COPIED = "Why is that version more polite than the first one?"


@pytest.mark.parametrize(
    ("pairs", "rule", "detail"),
    [
        ((GOOD[0], ("  ", "Fine."), GOOD[2]), "short_conversation", "turn 2: empty"),
        ((GOOD[0], GOOD[1], ("Shorter please.", "")), "short_conversation", "turn 3: empty"),
        ((GOOD[0], (GOOD[1][0], LOOPING), GOOD[2]), "repeated_lines", "turn 2: output"),
        ((GOOD[0], (COPIED, COPIED), GOOD[2]), "output_copies_instruction", "turn 2: ROUGE-L"),
        ((GOOD[0], GOOD[1], ("Shorter, please.", GOOD[1][1])), "repeated_turn", "assistant 3 repeats assistant 2"),
        ((GOOD[0], (GOOD[0][1], "Yes."), GOOD[2]), "repeated_turn", "user 2 repeats assistant 1"),
        ((("Hi", "Hello! How can I help?"), GOOD[1], GOOD[2]), "instruction_length", "turn 1: 1 words"),
        ((("Describe the image of my note.", "It is a note."), GOOD[1], GOOD[2]), "blacklist", "turn 1: image"),
    ],
)
def test_conversation_rules(pairs: tuple[tuple[str, str], ...], rule: str, detail: str) -> None:
    verdict = check_conversation(_turns(*pairs), SPEC, Flavour.GENERIC)
    assert not isinstance(verdict, Example)
    assert verdict.rule == rule and verdict.detail.startswith(detail), verdict


def test_a_later_turn_may_be_short_where_the_opening_may_not() -> None:
    """The method's rules judge the opening turn only: "Why?" is a fine follow-up, not a 1-word instruction."""
    verdict = check_conversation(_turns(GOOD[0], ("Why?", GOOD[1][1]), GOOD[2]), SPEC)
    assert isinstance(verdict, Example)


def test_a_cut_reply_drops_and_the_method_only_mode_still_refuses_repeats() -> None:
    turns = _turns(*GOOD)
    turns[1] = Turn(GOOD[1][0], "It asks instead of ordering, and it leaves the", cut=True)
    verdict = check_conversation(turns, SPEC)
    assert not isinstance(verdict, Example) and (verdict.rule, verdict.detail[:7]) == ("cut_off_output", "turn 2:")
    assert isinstance(check_conversation(turns, SPEC, quality=None), Example)  # degeneracy off
    repeated = _turns(GOOD[0], GOOD[1], (GOOD[1][0], "Because it asks."))
    verdict = check_conversation(repeated, SPEC, quality=None)
    assert not isinstance(verdict, Example) and verdict.rule == "repeated_turn"


def test_a_kept_conversation_is_an_example_in_the_chat_layout() -> None:
    turns = _turns(*GOOD)
    turns[0].reasoning = "   "
    verdict = check_conversation(_turns(*GOOD), SPEC)
    assert isinstance(verdict, Example)
    assert verdict.instruction == GOOD[0][0] and verdict.input == "" and verdict.output == GOOD[2][1]
    assert verdict.model_extra == {
        "messages": [m for u, a in GOOD for m in ({"role": "user", "content": u}, {"role": "assistant", "content": a})],
        "shape": "multi_turn",
    }
    reasoned = parse_shape("reasoning,multi_turn", turns=3)
    verdict = check_conversation(turns, reasoned)
    assert not isinstance(verdict, Example) and (verdict.rule, verdict.detail) == ("empty_reasoning", "turn 1")
