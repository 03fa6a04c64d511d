"""The shape of an example, parsed once from the run's `shape` parameter.

A shape is a kind (single, multi_turn, tool_calls) and whether each assistant answer carries its reasoning; the
reasoning combines with either conversation kind, written `reasoning,multi_turn` in any order. The parameter's
text is normalised (`normal_shape`) so a run.json, a card and an export state one spelling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["KINDS", "SHAPE_WORDS", "ShapeKind", "ShapeSpec", "normal_shape", "parse_shape"]

ShapeKind = Literal["single", "multi_turn", "tool_calls"]
KINDS: tuple[str, ...] = get_args(ShapeKind)
SHAPE_WORDS = ("single", "reasoning", "multi_turn", "tool_calls")


@dataclass(frozen=True)
class ShapeSpec:
    """What enrichment writes: `kind` of example, with `reasoning` before each answer or not."""

    kind: ShapeKind = "single"
    reasoning: bool = False
    turns: int = 3
    no_tool_share: float = 0.2

    @property
    def label(self) -> str:
        """The normalised shape text: `single`, `reasoning`, `multi_turn`, `reasoning,tool_calls`..."""
        if not self.reasoning:
            return self.kind
        return "reasoning" if self.kind == "single" else f"reasoning,{self.kind}"

    @property
    def conversation(self) -> bool:
        """Examples carry `messages` (a multi-turn conversation or a tool-calling exchange)."""
        return self.kind != "single"


def parse_shape(value: str, *, turns: int = 3, no_tool_share: float = 0.2) -> ShapeSpec:
    """`reasoning,multi_turn` -> ShapeSpec; a ValueError in one line naming what is wrong."""
    words = [w.strip().lower().replace("-", "_") for w in str(value).split(",")]
    words = [w for w in words if w]
    if not words:
        raise ValueError("give a shape: single, reasoning, multi_turn or tool_calls")
    unknown = [w for w in words if w not in SHAPE_WORDS]
    if unknown:
        raise ValueError(f"{unknown[0]!r} is not single, reasoning, multi_turn or tool_calls")
    if len(set(words)) != len(words):
        raise ValueError(f"{value!r} names a shape twice")
    reasoning = "reasoning" in words
    kinds = [w for w in words if w != "reasoning"]
    if len(kinds) > 1 or (kinds == ["single"] and reasoning):
        raise ValueError(f"{value!r}: only reasoning combines, with multi_turn or tool_calls")
    kind: ShapeKind = kinds[0] if kinds else "single"  # type: ignore[assignment]
    return ShapeSpec(kind=kind, reasoning=reasoning, turns=turns, no_tool_share=no_tool_share)


def normal_shape(value: str) -> str:
    """The one spelling of a shape parameter (`multi_turn, reasoning` -> `reasoning,multi_turn`)."""
    return parse_shape(value).label
