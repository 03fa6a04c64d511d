"""The LLM judge: a 1-5 score and a one-sentence reason for each example, several examples per call; and, for
math, an independent re-solve whose final answer is compared with the example's by `math-verify`.

A verdict that is malformed or out of range gets the structured call's one repair; an example still without a
verdict is `judge_failed`: kept unjudged and counted, never dropped in silence.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field, create_model, field_validator

from explore_instruct.tools.llm.structured import CallRecord, call_structured
from explore_instruct.tools.prompts.full import Flavour
from explore_instruct.tools.prompts.judge import JUDGE_SYSTEM, SOLVE_SYSTEM, judge_prompt, solve_prompt
from explore_instruct.tools.quality.degeneracy import longest_repeat_share
from explore_instruct.tools.tree.model import Example

MAX_ANSWER_CHARS = 200


# A reason has the shape of a short sentence. The embedded model's grammar enforces it (without it SmolLM2
# filled the 300 characters with "1.1.1.1..." in 35 of 43 verdicts); other models are held to it by validation.
REASON_PATTERN = r"^[A-Z][a-z']{0,15}( [A-Za-z0-9',()-]{1,14}){2,18}[.]$"
_WORD = re.compile(r"[A-Za-z]{2,}")


# The reason comes before the score, so the score is sampled after the model has said why. (A comment, not a
# docstring: a docstring becomes the schema's description, and SmolLM2 copied it as its reason.)
class Verdict(BaseModel):
    id: int = Field(ge=1, description="The example's number")
    reason: str = Field(
        min_length=3,
        max_length=300,
        description="One sentence",
        json_schema_extra={"x-grammar-pattern": REASON_PATTERN},
    )
    score: int = Field(ge=1, le=5, description="1 (wrong or useless) to 5 (excellent)")

    @field_validator("reason")
    @classmethod
    def _says_something(cls, reason: str) -> str:
        if len(_WORD.findall(reason)) < 3 or longest_repeat_share(reason, 0.5) > 0.5:
            raise ValueError("the reason must be a sentence, not a list or a loop")
        return reason


class Solution(BaseModel):
    id: int = Field(ge=1, description="The problem's number")
    solution: str = Field(description="A short worked solution")
    answer: str = Field(min_length=1, max_length=MAX_ANSWER_CHARS, description="The final answer in LaTeX")


@functools.lru_cache(maxsize=64)
def verdicts_schema(n: int) -> type[BaseModel]:
    counts: dict[str, Any] = {"minItems": n, "maxItems": n}
    return create_model("Verdicts", verdicts=(list[Verdict], Field(min_length=1, json_schema_extra=counts)))


@functools.lru_cache(maxsize=64)
def solutions_schema(n: int) -> type[BaseModel]:
    counts: dict[str, Any] = {"minItems": n, "maxItems": n}
    return create_model("Solutions", solutions=(list[Solution], Field(min_length=1, json_schema_extra=counts)))


@dataclass
class Judged:
    """One example's outcome: a score and reason, or `failed`; for math, the answer check."""

    score: int | None = None
    reason: str = ""
    failed: bool = False
    answer_check: str | None = None  # "agree" | "mismatch" | "unchecked"
    solved_answer: str | None = None
    # Grounded runs: whether the output is supported by its cited chunks (tools/quality/faithful.py).
    faithful: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


@dataclass
class JudgeResult:
    judged: list[Judged]
    calls: list[CallRecord] = field(default_factory=list)


async def judge(
    model: BaseChatModel,
    task: str,
    examples: Sequence[Example],
    flavour: Flavour = Flavour.GENERIC,
    *,
    model_label: str = "",
    check_answers: bool = True,
) -> JudgeResult:
    """Score `examples` of one task in one call (plus one re-solve call for math when `check_answers`)."""
    result = await call_structured(
        model,
        verdicts_schema(len(examples)),
        judge_prompt(task, examples, flavour),
        system=JUDGE_SYSTEM,
        purpose="judge",
        model_label=model_label,
    )
    by_id: dict[int, Verdict] = {}
    if result.value is not None:
        for v in result.value.verdicts:  # type: ignore[attr-defined]
            by_id.setdefault(v.id, v)  # the first verdict for a number counts; extras are ignored
    judged = [
        Judged(score=v.score, reason=" ".join(v.reason.split())) if (v := by_id.get(i)) else Judged(failed=True)
        for i in range(1, len(examples) + 1)
    ]
    out = JudgeResult(judged, [result.record])
    if flavour == Flavour.MATH and check_answers:
        await _check_answers(model, examples, out, model_label)
    return out


async def _check_answers(model: BaseChatModel, problems: Sequence[Example], out: JudgeResult, label: str) -> None:
    result = await call_structured(
        model,
        solutions_schema(len(problems)),
        solve_prompt(problems),
        system=SOLVE_SYSTEM,
        purpose="solve",
        model_label=label,
    )
    out.calls.append(result.record)
    solved: dict[int, str] = {}
    if result.value is not None:
        for s in result.value.solutions:  # type: ignore[attr-defined]
            solved.setdefault(s.id, s.answer)
    for i, (problem, judged) in enumerate(zip(problems, out.judged, strict=True), 1):
        answer = solved.get(i)
        agree = None if answer is None else answers_agree(boxed(problem.output), answer)
        judged.solved_answer = answer
        judged.answer_check = "unchecked" if agree is None else ("agree" if agree else "mismatch")


_BOXED = re.compile(r"\\boxed\{")
_TOWER = re.compile(r"\^\s*\{?\s*\d{3,}|\^\s*\{[^}]*\^")  # 9^{999} or 2^{3^{4}}: sympy could take forever


def boxed(text: str) -> str | None:
    """The content of the last `\\boxed{...}` (braces balanced), or None."""
    starts = [m.end() for m in _BOXED.finditer(text)]
    if not starts:
        return None
    depth, start = 1, starts[-1]
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start:i].strip()
    return None


def _plain(answer: str) -> str:
    return re.sub(r"\s+|\$|\\[,;!]|\\(?:text|mathrm)\{([^}]*)\}", r"\1", answer).strip(". ").lower()


def answers_agree(expected: str | None, solved: str | None) -> bool | None:
    """Whether two final answers are equal, by `math-verify` (LaTeX parsed into sympy); None if either is missing.

    Timeouts are off: math-verify's use `signal.alarm`, which only works on the main thread, and judging runs in
    worker threads; answers are clipped and exponent towers are compared as text instead, so sympy stays quick.
    """
    if not expected or not solved:
        return None
    a, b = expected[:MAX_ANSWER_CHARS], solved[:MAX_ANSWER_CHARS]
    if _plain(a) == _plain(b):
        return True
    if _TOWER.search(a) or _TOWER.search(b):
        return False
    from math_verify import parse, verify

    quiet = logging.getLogger("math_verify")  # it warns on every call that the timeout is off
    level, quiet.level = quiet.level, logging.ERROR
    try:
        gold = parse(f"${a}$", parsing_timeout=None)
        target = parse(f"${b}$", parsing_timeout=None)
        return bool(gold and target and verify(gold, target, timeout_seconds=None))
    finally:
        quiet.level = level


@dataclass(frozen=True)
class Item:
    """An example to judge, with its id and the task it belongs to."""

    id: str
    task: str
    example: Example


async def judge_many(
    model: BaseChatModel,
    items: Sequence[Item],
    flavour: Flavour = Flavour.GENERIC,
    *,
    batch: int = 5,
    concurrency: int = 8,
    model_label: str = "",
    check_answers: bool = True,
    on_batch: Any = None,
) -> tuple[dict[str, Judged], list[CallRecord]]:
    """Judge many examples: batches of one task's examples, `concurrency` calls at a time; verdicts by id."""
    import asyncio

    by_task: dict[str, list[Item]] = {}
    for item in items:
        by_task.setdefault(item.task, []).append(item)
    batches = [group[i : i + batch] for group in by_task.values() for i in range(0, len(group), batch)]
    gate = asyncio.Semaphore(concurrency)
    verdicts: dict[str, Judged] = {}
    calls: list[CallRecord] = []

    async def one(group: list[Item]) -> None:
        async with gate:
            result = await judge(model, group[0].task, [i.example for i in group], flavour, model_label=model_label,
                                 check_answers=check_answers)  # fmt: skip
        verdicts.update({i.id: j for i, j in zip(group, result.judged, strict=True)})
        calls.extend(result.calls)
        if on_batch is not None:
            on_batch(len(group))

    await asyncio.gather(*(one(g) for g in batches))
    return verdicts, calls
