"""Degeneracy rules on hand-written examples: each bad one caught by its rule, good ones untouched."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explore_instruct.tools.prompts.full import Flavour
from explore_instruct.tools.quality.degeneracy import (
    Thresholds,
    degenerate,
    longest_repeat_share,
    overlap,
    repeated_line_share,
    top_ngram_share,
)
from explore_instruct.tools.quality.filters import check
from explore_instruct.tools.similarity.rouge import rouge_l, rouge_l_over
from explore_instruct.tools.tree.model import Example

LOOP = "so it must be very easy for you, so it must be very easy for you, so it must be very easy for you, ..."


def ex(instruction: str = "Explain how tides work.", input: str = "", output: str = "Fine.") -> Example:
    return Example(instruction=instruction, input=input, output=output)


@pytest.mark.parametrize(
    ("example", "rule"),
    [
        (ex(output=LOOP), "repeated_lines"),  # quoted from an embedded-model run
        (ex(output="You need to make spaghetti by hand. You need to make spaghetti by hand. It takes ten minutes."),
         "repeated_lines"),
        (ex(output="The answer is a party with a big dinner and the answer is a party with a big dinner for all "
                   "of the family and the answer is a party with a big dinner."), "repeated_ngrams"),
        (ex(output="Plan a picnic in the park with games for the children, bring a cake and candles, then play music "
                   "and dance, and plan a picnic in the park with games again next week, and plan a picnic in the park "
                   "with friends."), "repeated_ngrams"),
        (ex(output="Great idea great idea great idea great idea great idea great idea great idea great"),
         "repeated_substring"),
        (ex(output="Call the bank, then " + "abcdefghij klmnopqrst uvwxyz " * 4), "repeated_substring"),
        (ex(input="The instructions.", output="Here it is."), "meta_input"),  # quoted from an embedded-model run
        (ex(input="Your text here", output="Here it is."), "meta_input"),
        (ex(input="input", output="Here it is."), "meta_input"),
        (ex(instruction="Give a tip for cooking pasta quickly at home.",
            output="Give a tip for cooking pasta quickly at home."), "output_copies_instruction"),
        (ex(instruction="Make this friendlier.", input="Please send the report by Friday.",
            output="Please send the report by Friday."), "output_copies_input"),
    ],
)  # fmt: skip
def test_degenerate_examples_are_caught(example: Example, rule: str) -> None:
    found = degenerate(example)
    assert found is not None and found[0] == rule, found


@pytest.mark.parametrize(
    "example",
    [
        ex(output="Tides come from the Moon's pull on the oceans, which raises the water on the side facing it."),
        ex(instruction="List three fruits.", output="Apples, pears and plums."),
        ex(instruction="Count to five.", output="1, 2, 3, 4, 5."),
        ex(instruction="Fix the grammar.", input="She go to school every days.",
           output="She goes to school every day."),
        ex(instruction="Summarise this.", input="The meeting moved to Monday because the room was booked.",
           output="The meeting is now on Monday."),
        ex(output="Yes."),
    ],
)  # fmt: skip
def test_good_examples_pass(example: Example) -> None:
    assert degenerate(example) is None


def test_cut_off_output_only_counts_when_the_call_was_cut() -> None:
    cut = ex(output="The report says that sales rose by ten percent and that the new")
    assert degenerate(cut) is None
    assert degenerate(cut, truncated=True) == ("cut_off_output", cut.output[-40:])
    assert degenerate(ex(output="It ended well."), truncated=True) is None


def test_rewriting_may_stay_close_to_its_input_but_not_copy_it() -> None:
    close = ex(
        instruction="Correct the spelling.",
        input="The comittee will meet on Thursday to discuss the budget for next year.",
        output="The committee will meet on Thursday to discuss the budget for next year.",
    )
    assert degenerate(close) == ("output_copies_input", "ROUGE-L 0.92")
    assert degenerate(close, rewriting=True) is None
    same = ex(instruction="Correct the spelling.", input="All is well.", output="All is well.")
    assert degenerate(same, rewriting=True) == ("output_copies_input", "unchanged")
    punctuated = ex(instruction="Add punctuation.", input="the movie was amazing it had a great plot",
                    output="The movie was amazing. It had a great plot.")  # fmt: skip
    assert degenerate(punctuated, rewriting=True) is None


def test_an_output_that_is_the_instruction_then_the_input_is_a_copy() -> None:
    both = ex(
        instruction="Make this text more formal.",
        input="gonna be late",
        output="Make this text more formal. gonna be late",
    )
    assert degenerate(both) == ("output_copies_prompt", "instruction + input")
    assert degenerate(both, rewriting=True) == ("output_copies_prompt", "instruction + input")
    # Each half alone is under the copy threshold: the two checks before this rule let it through.
    assert overlap(both.output, both.instruction) < 0.85 and overlap(both.output, both.input) < 0.85
    spaced = ex(
        instruction="Rewrite formally:", input="hey, can u send it", output="rewrite formally:\n Hey, can u send it"
    )
    assert degenerate(spaced, rewriting=True) == ("output_copies_prompt", "instruction + input")
    # A real rewrite of a long input, its instruction quoted in passing, is not a copy.
    fixed = ex(
        instruction="Correct the spelling.",
        input="The comittee will meet on Thursday to discuss the budget for next year.",
        output="The committee will meet on Thursday to discuss the budget for next year.",
    )
    assert degenerate(fixed, rewriting=True) is None
    answer = ex(instruction="Summarise the note.", input="The meeting moved to 3pm; bring the Q3 figures.",
                output="Meeting now at 3pm, with the Q3 figures.")  # fmt: skip
    assert degenerate(answer) is None


def test_thresholds_move_the_line() -> None:
    text = "Plan ahead. Plan ahead. Then rest. Then eat."
    assert repeated_line_share(text) == pytest.approx(0.25)
    assert degenerate(ex(output=text)) is None
    assert degenerate(ex(output=text), Thresholds(repeated_lines=0.2)) is not None


def test_shares() -> None:
    assert top_ngram_share("a b " * 20, 2) == pytest.approx(60 / 79)  # "a b" twenty times in 79 characters
    assert top_ngram_share("one two three", 2) == 0.0  # too short to judge
    assert longest_repeat_share("x" * 10) == 0.0
    text = "the cat sat on the warm mat all day. the cat sat on the warm mat all day. then it left the house."
    assert longest_repeat_share(text) == pytest.approx(36 / len(text), abs=0.02)
    assert longest_repeat_share("Paragraph 2, Paragraph 1, Paragraph 3.") == 0.0  # a short list of labels


def test_filters_check_applies_the_degeneracy_rules_unless_told_not_to() -> None:
    looping = ex(output=LOOP)
    assert check(looping, Flavour.GENERIC).rule == "repeated_lines"
    assert check(looping, Flavour.GENERIC, quality=None).kept


WORDS = st.sampled_from(["the", "a", "cat", "sat", "on", "mat", "dog", "ran", "to", "park", "rewrite", "this", "note"])


@settings(max_examples=300, deadline=None)
@given(st.lists(WORDS, max_size=14), st.lists(WORDS, max_size=14), st.sampled_from([0.0, 0.5, 0.7, 0.85]))
def test_the_copy_check_bound_never_hides_a_score_over_its_limit(a: list[str], b: list[str], limit: float) -> None:
    """`rouge_l_over` skips the LCS only where the token-overlap bound proves the score cannot exceed the limit."""
    x, y = " ".join(a), " ".join(b)
    exact = rouge_l(x, y)
    got = rouge_l_over(x, y, limit)
    assert got == exact if exact > limit else got in (0.0, exact)


@settings(max_examples=300, deadline=None)
@given(st.lists(WORDS, max_size=40), st.sampled_from([0.1, 0.3, 0.5]))
def test_the_repeat_check_with_a_floor_agrees_with_the_full_bisection(words: list[str], above: float) -> None:
    text = " ".join(words)
    full = longest_repeat_share(text)
    assert longest_repeat_share(text, above) == (full if full > above else 0.0)
