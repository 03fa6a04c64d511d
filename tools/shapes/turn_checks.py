"""The checks a conversation passes before it is kept (the multi_turn shape), and its form as an example.

Kept apart from the generation (tools/shapes/multi_turn.py) because every way of writing a conversation, both
profiles and any later one, must keep and drop by the same rules; each drop names its rule, as dropped.jsonl
records it.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from explore_instruct.tools.generation.decompose import Skip
from explore_instruct.tools.prompts.full import Flavour
from explore_instruct.tools.quality import filters
from explore_instruct.tools.quality.degeneracy import Thresholds, degenerate, overlap
from explore_instruct.tools.shapes.base import ShapeSpec
from explore_instruct.tools.tree.model import Example

__all__ = ["REPEAT_LIMIT", "Turn", "check_conversation", "conversation_item"]

REPEAT_LIMIT = 0.85  # ROUGE-L F above which a turn repeats an earlier one (the copy threshold of single examples)


@dataclass
class Turn:
    """One user message and the assistant's reply; `cut` / `reasoning_cut`: that text stopped at a length limit."""

    user: str
    assistant: str
    reasoning: str = ""
    cut: bool = False
    reasoning_cut: bool = False


def check_conversation(
    turns: list[Turn],
    spec: ShapeSpec,
    flavour: Flavour = Flavour.GENERIC,
    quality: Thresholds | None = filters.DEFAULT_QUALITY,
    *,
    shown: AbstractSet[str] = frozenset(),
) -> Example | Skip:
    """The kept example, or the Skip naming the first rule the conversation fails.

    The opening turn is what dedup, pruning and diversity see as the instruction, so it passes the method's rules
    (with the first answer as its output); every later assistant turn passes the degeneracy rules against the
    message it answers; no turn may repeat an earlier one near-verbatim.
    """
    turns = [
        Turn(" ".join(t.user.split()), t.assistant.strip(), t.reasoning.strip(), t.cut, t.reasoning_cut) for t in turns
    ]
    item = conversation_item(turns, spec)
    empty = next((i for i, t in enumerate(turns, 1) if not t.user or not t.assistant), None)
    if len(turns) < spec.turns or empty is not None:
        detail = f"turn {empty}: empty" if empty is not None else f"{len(turns)} of {spec.turns} turns"
        return Skip("example", "short_conversation", detail, item)
    if shown & {" ".join(x.lower().split()) for t in turns for x in (t.user, t.assistant)}:
        return Skip("example", "copied_worked_example", "", item)
    if spec.reasoning:
        bad = _reasoning_rule(turns, flavour, quality)
        if bad is not None:
            return Skip("example", bad[0], bad[1], item)
    first = Example(instruction=turns[0].user, input="", output=turns[0].assistant)
    verdict = filters.check(first, flavour, quality, truncated=turns[0].cut)
    if verdict.example is None:
        return Skip("example", verdict.rule or "filtered", f"turn 1: {verdict.detail}".rstrip(": "), item)
    turns[0].assistant = verdict.example.output  # normalised (a math answer boxed)
    if quality is not None:
        for i, t in enumerate(turns[1:], 2):
            said = Example(instruction=t.user, input="", output=t.assistant)
            bad = degenerate(said, quality, truncated=t.cut, rewriting=flavour == Flavour.REWRITING)
            if bad is not None:
                return Skip("example", bad[0], f"turn {i}: {bad[1]}", item)
    repeat = _repeated(turns, quality.copy_overlap if quality is not None else REPEAT_LIMIT)
    if repeat is not None:
        return Skip("example", "repeated_turn", repeat, item)
    item = conversation_item(turns, spec)
    return Example(instruction=turns[0].user, input="", output=turns[-1].assistant, **item)


def _repeated(turns: list[Turn], limit: float) -> str | None:
    """Which message repeats an earlier one (any role): small models copy the last answer into the next turn."""
    said: list[tuple[str, str]] = []
    for i, t in enumerate(turns, 1):
        for role, text in (("user", t.user), ("assistant", t.assistant)):
            key = " ".join(text.lower().split())
            for where, earlier in said:
                # An assistant copying the message it answers is the degeneracy rules' output_copies_instruction.
                if where == f"user {i}" and role == "assistant":
                    continue
                if key == earlier or overlap(key, earlier, limit) > limit:
                    return f"{role} {i} repeats {where}"
            said.append((f"{role} {i}", key))
    return None


def _reasoning_rule(turns: list[Turn], flavour: Flavour, quality: Thresholds | None) -> tuple[str, str] | None:
    """The reasoning rules of single examples (tools/shapes/reasoning.py) on each assistant turn."""
    check = _reasoning_check()
    for i, t in enumerate(turns, 1):
        if not t.reasoning:
            return "empty_reasoning", f"turn {i}"
        if check is not None:
            bad = check(t.reasoning, t.assistant, flavour, quality, truncated=t.reasoning_cut)
            if bad is not None:
                return bad[0], f"turn {i}: {bad[1]}"
    return None


def _reasoning_check() -> Any:
    try:
        from explore_instruct.tools.shapes.reasoning import check_reasoning
    except ImportError:
        return None
    return check_reasoning


def conversation_item(turns: list[Turn], spec: ShapeSpec) -> dict[str, Any]:
    """The conversation in the OpenAI chat layout (no system message), as the example's extras."""
    messages: list[dict[str, Any]] = []
    for t in turns:
        messages.append({"role": "user", "content": t.user})
        reply: dict[str, Any] = {"role": "assistant", "content": t.assistant}
        if spec.reasoning:
            reply["reasoning"] = t.reasoning
        messages.append(reply)
    return {"messages": messages, "shape": spec.label}
