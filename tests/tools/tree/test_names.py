"""Task-name quality rules on hand-written names, with the rule each must (or must not) break."""

from __future__ import annotations

import pytest

from explore_instruct.tools.tree.names import name_rule, trim_cut_off

TARGET, ROOT = "rewriting business emails", "Assistance for text editing"


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("task1", "placeholder_name"),
        ("Task 2", "placeholder_name"),
        ("subtask_2", "placeholder_name"),
        ("example1", "placeholder_name"),
        ("Example 12", "placeholder_name"),
        ("new_task", "placeholder_name"),
        ("New Task", "placeholder_name"),
        ("copy", "placeholder_name"),
        ("Copy", "placeholder_name"),
        ("sample-3", "placeholder_name"),
        ("42", "name_without_letters"),
        ("3.1", "name_without_letters"),
        ("!!!", "name_without_letters"),
        ("Rewriting Business Emails", "repeats_target"),
        ("rewriting_business_emails", "repeats_target"),
        ("assistance for text editing", "repeats_root"),
        ("Paraphrasing", "name_too_short"),
        ("a very long name that keeps going well past eight words", "name_too_long"),
        ("help people with writing skills improve their", "name_cut_off"),
        ("copy and paste a short article into an", "name_cut_off"),
        ("Writing to", "name_cut_off"),
    ],
)
def test_bad_names_are_caught_by_their_rule(name: str, rule: str) -> None:
    assert name_rule(name, target=TARGET, root=ROOT) == rule


@pytest.mark.parametrize(
    "name",
    [
        "making emails more polite",
        "Formal paraphrasing",
        "grammar-fixes",
        "text_simplification",
        "Task planning for teams",  # a filler word inside a real name
        "copy editing newsletters",
        "summarising meeting notes for managers",
        "writing 3 line summaries",  # digits are fine beside words
    ],
)
def test_good_names_pass(name: str) -> None:
    assert name_rule(name, target=TARGET, root=ROOT) is None


def test_target_and_root_are_optional() -> None:
    assert name_rule("rewriting business emails") is None


@pytest.mark.parametrize(
    ("name", "trimmed"),
    [
        ("send a response to customer support tickets for", "send a response to customer support tickets"),
        ("creating a response with some humor about the", "creating a response with some humor"),
        ("get help with six more customer-to-a", "get help with six more customer"),
        ("write quick replies to the support tickets, for", "write quick replies to the support tickets"),
        ("choosing what to focus on", "choosing what to focus on"),  # under the cap: written so, not cut
        ("Writing to", "Writing to"),
        ("planning a trip", "planning a trip"),
        ("Task planning for teams", "Task planning for teams"),
    ],
)
def test_a_name_cut_at_the_word_cap_loses_its_dangling_tail_only(name: str, trimmed: str) -> None:
    assert trim_cut_off(name) == trimmed
