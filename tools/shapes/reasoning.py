"""The `reasoning` shape for single examples: instruction, input, the thinking that leads to the answer, the answer.

One structured call per batch, as the method's generation (tools/generation/generate.py), with a `reasoning` field
before `output`: a model that writes the JSON in order thinks before it answers, and the embedded model's grammar
holds that order too. Each example passes the generation's filters on instruction/input/output, then the reasoning
rules (`check_reasoning`, tools/quality/degeneracy.py), which the multi-turn and tool-calling shapes apply to each
assistant turn as well.
"""

from __future__ import annotations

import functools
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field, create_model

from explore_instruct.tools.generation.decompose import Skip
from explore_instruct.tools.generation.generate import GenerateRequest, GenerateResult
from explore_instruct.tools.llm.local import STRING_CAPS, ChatLocalLlama, grammar_schema
from explore_instruct.tools.llm.structured import Method, call_structured
from explore_instruct.tools.prompts.full import SYSTEM, Flavour
from explore_instruct.tools.prompts.reasoning import reasoning_messages, reasoning_prompt, reasoning_shot_examples
from explore_instruct.tools.quality import filters
from explore_instruct.tools.quality.degeneracy import Thresholds, degenerate_reasoning
from explore_instruct.tools.quality.filters import DEFAULT_QUALITY
from explore_instruct.tools.tree.model import Example

__all__ = ["ReasonedSpec", "check_reasoning", "generate_reasoning", "reasoning_batch_schema"]


class ReasonedSpec(BaseModel):
    """One example with its reasoning; the field order is the order a model writes them in."""

    instruction: str = Field(min_length=8, description="What the user asks, 1-2 sentences")
    input: str = Field(description="Material the instruction works on, or empty")
    # No minimum: an empty reasoning is one example's drop (empty_reasoning), not a failed batch.
    reasoning: str = Field(description="The assistant's thinking: the steps that lead to the answer")
    output: str = Field(min_length=1, description="The answer the reasoning leads to")


@functools.lru_cache(maxsize=64)
def reasoning_batch_schema(n: int) -> type[BaseModel]:
    """Exactly n examples asked for (validation still takes fewer), as the single shape's batch."""
    counts: dict[str, Any] = {"minItems": n, "maxItems": n}
    return create_model("ReasonedBatch", examples=(list[ReasonedSpec], Field(min_length=1, json_schema_extra=counts)))


@functools.cache
def _local_cap(field: str) -> int:
    """The length at which the embedded model's grammar ends a string field (tools/llm/local.py decides it)."""
    capped = grammar_schema({"type": "object", "properties": {field: {"type": "string"}}})
    return int(capped["properties"][field].get("maxLength", STRING_CAPS.get(field, 0)))


def check_reasoning(
    reasoning: str,
    output: str,
    flavour: Flavour | str = Flavour.GENERIC,
    quality: Thresholds | None = DEFAULT_QUALITY,
    *,
    truncated: bool = False,
) -> tuple[str, str] | None:
    """(rule, detail) when the reasoning before `output` is degenerate (empty, looping, cut off, a copy of the
    answer, or for math a final value that is not the answer), else None. `quality=None` (filters off) still
    refuses an empty reasoning: an example of this shape without one is not of this shape."""
    math = Flavour(flavour) == Flavour.MATH if isinstance(flavour, str) else flavour == Flavour.MATH
    if quality is None:
        return ("empty_reasoning", "no reasoning") if not reasoning.strip() else None
    return degenerate_reasoning(reasoning, output, quality, math=math, truncated=truncated)


def _texts(examples: list[Example] | list[ReasonedSpec]) -> set[str]:
    return {" ".join(t.lower().split()) for e in examples for t in (e.instruction, e.output) if t.strip()}


async def generate_reasoning(
    model: BaseChatModel, req: GenerateRequest, *, method: Method = "auto", model_label: str = ""
) -> GenerateResult:
    """One call for up to `req.n` examples with reasoning, through the generation's filters and the reasoning
    rules; each kept example has `reasoning` and `shape: reasoning`."""
    if req.profile == "compact":
        system, shots, prompt = reasoning_messages(req.task, req.parent, list(req.demonstrations), req.n, req.flavour)
    else:
        system, shots = SYSTEM, []
        prompt = reasoning_prompt(
            task=req.task,
            task_reason=req.task_reason,
            parent=req.parent,
            siblings=list(req.siblings),
            demonstrations=list(req.demonstrations),
            n=req.n,
            flavour=req.flavour,
        )
    result = await call_structured(
        model,
        reasoning_batch_schema(req.n),
        prompt,
        system=system,
        shots=shots,
        method=method,
        purpose="generate",
        model_label=model_label,
    )
    if result.value is None:
        return GenerateResult([], [], [result.record])
    kept: list[Example] = []
    skipped: list[Skip] = []
    shown = _texts(reasoning_shot_examples(req.flavour)) if req.profile == "compact" else set()
    cut = "length" in result.record.finish_reasons
    local = isinstance(model, ChatLocalLlama)
    for spec in result.value.examples[: req.n]:  # type: ignore[attr-defined]
        item = spec.model_dump()
        if shown & _texts([spec]):
            skipped.append(Skip("example", "copied_worked_example", "", item))
            continue
        truncated = cut or (local and len(spec.output) >= STRING_CAPS["output"])
        plain = Example(instruction=spec.instruction, input=spec.input, output=spec.output)
        verdict = filters.check(plain, req.flavour, req.quality, truncated=truncated)
        if verdict.example is None:
            skipped.append(Skip("example", verdict.rule or "filtered", verdict.detail, item))
            continue
        reasoning = spec.reasoning.strip()
        thought_cut = cut or (local and len(spec.reasoning) >= _local_cap("reasoning"))
        bad = check_reasoning(reasoning, verdict.example.output, req.flavour, req.quality, truncated=thought_cut)
        if bad is not None:
            skipped.append(Skip("example", bad[0], bad[1], item))
            continue
        kept.append(verdict.example.model_copy(update={"reasoning": reasoning, "shape": "reasoning"}))
    return GenerateResult(kept, skipped, [result.record])
