"""The shape parameter: parsed once, one spelling, one-line refusals; and the run parameters that go with it."""

from __future__ import annotations

import pytest

from explore_instruct.agent.errors import one_line
from explore_instruct.graphs.context import Context
from explore_instruct.tools.shapes.base import ShapeSpec, normal_shape, parse_shape
from explore_instruct.tools.shapes.params import shape_spec


@pytest.mark.parametrize(
    ("text", "kind", "reasoning", "label"),
    [
        ("single", "single", False, "single"),
        ("reasoning", "single", True, "reasoning"),
        ("multi_turn", "multi_turn", False, "multi_turn"),
        ("multi-turn, reasoning", "multi_turn", True, "reasoning,multi_turn"),
        ("tool_calls,reasoning", "tool_calls", True, "reasoning,tool_calls"),
        (" Tool_Calls ", "tool_calls", False, "tool_calls"),
    ],
)
def test_shapes_parse_order_free_into_one_spelling(text: str, kind: str, reasoning: bool, label: str) -> None:
    spec = parse_shape(text, turns=4, no_tool_share=0.5)
    assert (spec.kind, spec.reasoning, spec.label, spec.turns, spec.no_tool_share) == (kind, reasoning, label, 4, 0.5)
    assert normal_shape(text) == label == parse_shape(label).label
    assert spec.conversation == (kind != "single")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "give a shape"),
        ("thinking", "'thinking' is not single, reasoning, multi_turn or tool_calls"),
        ("multi_turn,tool_calls", "only reasoning combines"),
        ("single,reasoning", "only reasoning combines"),
        ("reasoning,reasoning", "names a shape twice"),
    ],
)
def test_bad_shapes_are_refused_in_one_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_shape(text)


def test_the_run_parameters_hold_the_shape_rules() -> None:
    ctx = Context(shape="multi_turn,reasoning", turns=5)
    assert ctx.shape == "reasoning,multi_turn"
    assert shape_spec(ctx) == ShapeSpec("multi_turn", True, 5, 0.2)
    assert Context().shape == "single" and shape_spec(Context()) == ShapeSpec()
    for params, message in [
        ({"shape": "tool_calls"}, "shape tool_calls: give tools (a JSON file) or tools_from_mcp"),
        ({"shape": "tool_calls", "tools": "t.json", "tools_from_mcp": "srv"}, "not both"),
        ({"shape": "tool_calls", "tools": "t.json", "execute_tools": True}, "execute_tools: needs tools_from_mcp"),
        ({"shape": "reasoning", "docs": "corpus"}, "not built for grounded runs"),
        ({"shape": "dialogue"}, "shape: 'dialogue' is not single"),
        ({"turns": 1}, "turns: Input should be greater than or equal to 2"),
        ({"turns": 9}, "turns: Input should be less than or equal to 8"),
        ({"no_tool_share": 1.5}, "no_tool_share: Input should be less than or equal to 1"),
    ]:
        with pytest.raises(ValueError) as caught:
            Context(**params)
        assert message in one_line(caught.value), (params, one_line(caught.value))
        assert "\n" not in one_line(caught.value)


def test_the_environment_sets_the_shape_like_any_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPLORE_INSTRUCT_SHAPE", "reasoning")
    monkeypatch.setenv("EXPLORE_INSTRUCT_TURNS", "4")
    ctx = Context()
    assert (ctx.shape, ctx.turns) == ("reasoning", 4)
