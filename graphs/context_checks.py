"""The checks behind `Context`: environment fallbacks read by each field's type, strict type checks, the rules.

Kept apart so the context module stays the list of parameters a reader scans.
"""

from __future__ import annotations

import functools
import os
import typing
from dataclasses import MISSING, fields
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, TypeAdapter, ValidationError

from explore_instruct.tools.parsing import TRUE, parse_ints
from explore_instruct.tools.prompts.full import PROFILES
from explore_instruct.tools.similarity.indexes import DEFAULT_THRESHOLDS

if TYPE_CHECKING:
    from explore_instruct.graphs.context import Context

ENV_PREFIX = "EXPLORE_INSTRUCT_"


class ContextError(ValueError):
    """A run parameter that cannot work; one line."""


def apply_env(ctx: Context) -> None:
    """`EXPLORE_INSTRUCT_<FIELD>` fills each field still at its default (live objects never read the env)."""
    for f in fields(ctx):
        if f.metadata.get("env") is False:
            continue
        env = os.environ.get(ENV_PREFIX + f.name.upper())
        if env is None or getattr(ctx, f.name) != _default(f):
            continue
        setattr(ctx, f.name, _coerce(ctx, f.name, env))


def check(ctx: Context) -> None:
    """Every rule a run's parameters must meet; a breach is one line naming the parameter."""

    def bad(msg: str) -> ContextError:
        return ContextError(msg)

    check_types(ctx)

    if not 0 <= ctx.max_depth <= 8:
        raise bad(f"max_depth: {ctx.max_depth} is outside 0..8")
    if ctx.prompt_profile not in PROFILES:
        raise bad(f"prompt_profile: {ctx.prompt_profile!r} is not auto, compact or full")
    if ctx.temperature is not None and not 0 <= ctx.temperature <= 2:
        raise bad(f"temperature: {ctx.temperature} is outside 0..2")
    if ctx.repeat_penalty is not None and not 0.5 <= ctx.repeat_penalty <= 2:
        raise bad(f"repeat_penalty: {ctx.repeat_penalty} is outside 0.5..2")
    if ctx.strategy not in ("dfs", "bfs"):
        raise bad(f"strategy: {ctx.strategy!r} is not dfs or bfs")
    if any(b < 0 for b in ctx.breadth) or (ctx.max_depth > 0 and not ctx.breadth):
        raise bad("breadth: give one non-negative count per depth, e.g. 8,6")
    if not ctx.examples or any(e < 0 for e in ctx.examples):
        raise bad("examples: give one non-negative count per depth, e.g. 50,50,50")
    for name in (
        "subtasks_per_call",
        "examples_per_call",
        "max_children",
        "max_concurrency",
        "max_fruitless",
        "max_provider_failures",
    ):
        if getattr(ctx, name) < 1:
            raise bad(f"{name}: must be at least 1")
    if ctx.max_children > 12:
        raise bad("max_children: the method caps children at 12")
    if ctx.similarity not in DEFAULT_THRESHOLDS:
        raise bad(f"similarity: {ctx.similarity!r} is not embedding, rouge or exact")
    if ctx.dedup_scope not in ("node", "tree"):
        raise bad(f"dedup_scope: {ctx.dedup_scope!r} is not node or tree")
    for name in (
        "prune_threshold",
        "filter_threshold",
        "min_relevance",
        "max_repeated_lines",
        "max_top_ngram",
        "max_repeated_substring",
        "max_copy_overlap",
    ):
        v = getattr(ctx, name)
        if v is not None and not 0 < v <= 1:
            raise bad(f"{name}: {v} is outside (0, 1]")
    if not 1 <= ctx.judge_threshold <= 5:
        raise bad(f"judge_threshold: {ctx.judge_threshold} is outside 1..5")
    if not 1 <= ctx.judge_batch <= 20:
        raise bad(f"judge_batch: {ctx.judge_batch} is outside 1..20")
    if ctx.examples_per_subtask < 1 or ctx.demonstrations < 0:
        raise bad("examples_per_subtask must be ≥ 1 and demonstrations ≥ 0")


@functools.cache
def _field_checkers() -> dict[str, TypeAdapter[Any]]:
    """A strict pydantic validator per typed parameter (a config file or a caller can hand in anything).

    Literal choices are checked as strings here; `check` names the allowed values in its own words.
    """
    from explore_instruct.graphs.context import Context  # loaded by now: it is what calls this

    hints = typing.get_type_hints(Context)
    checkers: dict[str, TypeAdapter[Any]] = {}
    for name, hint in hints.items():
        if hint is Any or name in {"breadth", "examples", "flavour"}:  # coerced before the check
            continue
        args = typing.get_args(hint)
        if typing.get_origin(hint) is Literal:
            hint = str
        elif any(typing.get_origin(a) is Literal for a in args):
            hint = str | None
        checkers[name] = TypeAdapter(hint, config=ConfigDict(strict=True))
    return checkers


def check_types(ctx: Context) -> None:
    """A wrong type fails here, in one line, not deep inside a run or a model client."""
    for name, checker in _field_checkers().items():
        value = getattr(ctx, name)
        try:
            checker.validate_python(value)
        except ValidationError as e:
            shown = repr(value)
            shown = shown[:60] + "..." if len(shown) > 60 else shown
            raise ContextError(f"{name}: {shown} is not valid: {e.errors()[0]['msg'].lower()}") from None


def _default(f: Any) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return None


def _coerce(ctx: Context, name: str, raw: str) -> Any:
    """An environment variable's text as the field's type (read from its annotation, so `int | None` is an int)."""
    hint = typing.get_type_hints(type(ctx))[name]
    if typing.get_origin(hint) is list:
        try:
            return parse_ints(raw)
        except ValueError:
            raise ContextError(f"{ENV_PREFIX}{name.upper()}: cannot read {raw!r}") from None
    kinds = set(typing.get_args(hint)) | {hint}
    try:
        if bool in kinds:
            return raw.strip().lower() in TRUE
        if int in kinds:
            return int(raw)
        if float in kinds:
            return float(raw)
    except ValueError:
        raise ContextError(f"{ENV_PREFIX}{name.upper()}: cannot read {raw!r}") from None
    return raw
