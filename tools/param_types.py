"""The value types of run parameters (tools/params.py), each refusing a bad value in its own words: a choice
names the allowed values (`'random' is not dfs, bfs or flat`), a per-depth count list names the bound it broke.
Their bounds are pydantic's, so they reach every generated JSON schema as well.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, WrapValidator

from explore_instruct.tools.parsing import parse_ints
from explore_instruct.tools.prompts.full import Flavour

MAX_CHILDREN = 12  # the method's cap on a task's children


def _choice(*choices: str) -> BeforeValidator:
    """A Literal's refusal as a person reads it: `'random' is not dfs or bfs`."""
    allowed = f"{', '.join(choices[:-1])} or {choices[-1]}" if len(choices) > 1 else choices[0]

    def check(value: Any) -> Any:
        if value is not None and value not in choices:
            raise ValueError(f"{value!r} is not {allowed}")
        return value

    return BeforeValidator(check)


def _flavour(value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, Flavour):
        try:
            return Flavour(value)
        except ValueError:
            raise ValueError(f"{value!r} is not {', '.join(f.value for f in Flavour)}") from None
    return value


def counts(least: int, most: int | None = None, *, why_most: str = "") -> Any:
    """A list of counts per depth (`"4,3"`, `[4, 3]` or `4`), at least one, each within [least, most]: the bounds
    reach the JSON schema (minItems, items' minimum and maximum) and a refusal names the bound."""
    item = Annotated[int, Field(ge=least, le=most)]
    example = "4,3" if least == 0 else "5"

    def check(value: Any, handler: Callable[[Any], Any]) -> Any:
        value = parse_ints(value)
        try:
            return handler(value)
        except ValidationError as e:
            err = e.errors()[0]
            kind, bound = err["type"], err.get("ctx", {})
            if kind == "too_short":
                each = "non-negative count" if least == 0 else f"count of at least {least}"
                raise ValueError(f"give one {each} per depth, e.g. {example}") from None
            if kind == "greater_than_equal":
                raise ValueError(
                    f"{err['input']} is below {bound['ge']}: each count must be at least {least}"
                ) from None
            if kind == "less_than_equal":
                raise ValueError(f"{err['input']} is above {bound['le']}{why_most}") from None
            raise

    return Annotated[list[item], Field(min_length=1), WrapValidator(check)]


if TYPE_CHECKING:  # what the values are; the bounds below are for pydantic
    Breadth = list[int]
    Examples = list[int]
    ExamplesAsked = list[int]
else:
    Breadth = counts(0, MAX_CHILDREN, why_most=", the most children a task may have (the method's cap)")
    Examples = counts(0)
    # What a caller may ask for: 0 examples would still keep the examples each subtask is proposed with (full
    # profile), so it has no meaning for a caller; a run made in code (the ablation's explore-only run) may use 0.
    ExamplesAsked = counts(1)
Strategy = Annotated[Literal["dfs", "bfs", "flat"], _choice("dfs", "bfs", "flat")]
PromptProfile = Annotated[Literal["auto", "compact", "full"], _choice("auto", "compact", "full")]
Similarity = Annotated[Literal["embedding", "rouge", "exact"], _choice("embedding", "rouge", "exact")]
DedupScope = Annotated[Literal["tree", "node"], _choice("tree", "node")]
FlavourParam = Annotated[Flavour, BeforeValidator(_flavour)]
Share = Annotated[float | None, Field(gt=0, le=1)]
