"""The plan of a run in another shape than single: more tokens for reasoning, calls per example for conversations,
and no subtask examples counted as kept (a shaped run writes every example in enrichment)."""

from __future__ import annotations

import pytest

from explore_instruct.tools.plan.estimate import Plan, make_plan
from explore_instruct.tools.plan.inputs import Params
from explore_instruct.tools.plan.tokens import shape_calls, shape_scale

BASE = {"model": "openai:gpt-4o-mini", "max_depth": 1, "breadth": (2,), "examples": (10,), "examples_per_call": 5}


def plan(**over: object) -> Plan:
    return make_plan(Params(**{**BASE, **over}))  # type: ignore[arg-type]


@pytest.mark.parametrize("profile", ["compact", "full"])
def test_each_shape_costs_what_it_writes(profile: str) -> None:
    single = plan(profile=profile)
    reasoning = plan(profile=profile, shape="reasoning")
    multi = plan(profile=profile, shape="multi_turn", turns=3)
    tools = plan(profile=profile, shape="tool_calls")
    assert reasoning.calls["enrich"] == single.calls["enrich"] or profile == "full"
    assert reasoning.tokens["output"] > single.tokens["output"]
    for conv in (multi, tools):  # calls per example, not per batch of examples_per_call
        assert conv.calls["enrich"] > single.calls["enrich"]
        assert conv.tokens["output"] > single.tokens["output"]
    assert plan(profile=profile, shape="reasoning,multi_turn").tokens["output"] > multi.tokens["output"]
    assert plan(profile=profile, shape="multi_turn", turns=5).tokens["output"] > multi.tokens["output"]


def test_a_shaped_full_run_counts_no_subtask_examples_as_kept() -> None:
    single, shaped = plan(profile="full"), plan(profile="full", shape="reasoning")
    # single: each subtask arrives with examples_per_subtask examples, so enrichment asks for fewer
    assert shaped.calls["enrich"] >= single.calls["enrich"]
    assert sum(lv.examples for lv in shaped.levels) == pytest.approx(sum(lv.examples for lv in single.levels), rel=0.05)


def test_the_factors() -> None:
    assert shape_scale("single", 3) == 1.0 and shape_scale("reasoning", 3) == 1.5
    assert shape_scale("multi_turn", 4) == 4.0 and shape_scale("reasoning,tool_calls", 3) == 3.0
    assert shape_calls("single", 3, "full") is None and shape_calls("reasoning", 3, "compact") is None
    assert shape_calls("multi_turn", 3, "compact") == 1.0 and shape_calls("reasoning,multi_turn", 3, "full") == 5.0
    assert shape_calls("tool_calls", 3, "full") == 3.0 and shape_calls("tool_calls", 3, "compact") == 2.0
