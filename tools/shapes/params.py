"""The shape parameters of a run, a group of `RunParams` (tools/params.py inherits them: still one definition).

Kept apart because the list in tools/params.py is long; each field has its type, bounds, default and description
here, and reaches every face through `RunParams` exactly as the others do. `check_shape_params` holds the rules
that tie them together and to the rest of a run; `RunParams.__post_init__` calls it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field
from pydantic.dataclasses import dataclass

from explore_instruct.tools.shapes.base import ShapeSpec, normal_shape, parse_shape

__all__ = ["Shape", "ShapeParams", "check_shape_params", "shape_spec"]


def _shape(value: Any) -> Any:
    return normal_shape(value) if isinstance(value, str) else value


Shape = Annotated[str, BeforeValidator(_shape)]


@dataclass(kw_only=True, config=ConfigDict(strict=True, extra="forbid"))
class ShapeParams:
    """What form each example takes; exploration is the same for every shape."""

    shape: Annotated[
        Shape,
        Field(
            description="what each example is: single (instruction/input/output), reasoning (thinking before the "
            "answer), multi_turn (a conversation) or tool_calls (calls to real tools); reasoning combines with the "
            "other two, e.g. reasoning,multi_turn"
        ),
    ] = "single"
    turns: Annotated[int, Field(ge=2, le=8, description="user turns in a multi_turn conversation")] = 3
    tools: Annotated[str | None, Field(description="an OpenAI tools list (JSON file) the tool_calls examples call")] = (
        None
    )
    tools_from_mcp: Annotated[
        str | None,
        Field(
            description="the tools of a live MCP server for tool_calls: 'COMMAND ARGS' (stdio) or an http(s) URL "
            "(streamable HTTP)"
        ),
    ] = None
    execute_tools: Annotated[
        bool, Field(description="with an MCP server for tool_calls: real tool results instead of simulated ones")
    ] = False
    no_tool_share: Annotated[
        float, Field(ge=0, le=1, description="share of tool_calls examples where no tool fits and the model answers")
    ] = 0.2


def shape_spec(params: Any) -> ShapeSpec:
    """The parsed shape of a run's parameters."""
    return parse_shape(params.shape, turns=params.turns, no_tool_share=params.no_tool_share)


def check_shape_params(params: Any) -> None:
    """One-line refusals for shape parameters that cannot work together."""
    spec = shape_spec(params)
    if spec.kind == "tool_calls":
        if not params.tools and not params.tools_from_mcp:
            raise ValueError("shape tool_calls: give tools (a JSON file) or tools_from_mcp (an MCP server)")
        if params.tools and params.tools_from_mcp:
            raise ValueError("shape tool_calls: give tools or tools_from_mcp, not both")
        if params.execute_tools and not params.tools_from_mcp:
            raise ValueError("execute_tools: needs tools_from_mcp, a server to run the tools on")
    if spec.label != "single" and getattr(params, "docs", None):
        raise ValueError(f"shape {spec.label}: not built for grounded runs (docs) yet; use shape single")
