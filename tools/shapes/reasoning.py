"""The `reasoning` shape for single examples: instruction, input, the thinking that leads to the answer, the answer.

One structured call per batch through the method's generation path (`sift`, tools/generation/generate.py), with a
`reasoning` field before `output`: a model that writes the JSON in order thinks before it answers, and the
embedded model's grammar holds that order too. Each example passes the generation's filters on
instruction/input/output, then the reasoning rules (`check_reasoning`, tools/quality/degeneracy.py), which the
multi-turn and tool-calling shapes apply to each assistant turn as well.
"""

from __future__ import annotations

import functools
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field, create_model

from explore_instruct.tools.generation.decompose import Skip
from explore_instruct.tools.generation.generate import (
    After,
    GenerateRequest,
    GenerateResult,
    messages_for,
    not_copied,
    sift,
)
from explore_instruct.tools.llm.local import STRING_CAPS, ChatLocalLlama, grammar_schema
from explore_instruct.tools.llm.structured import Method
from explore_instruct.tools.prompts.full import Flavour
from explore_instruct.tools.prompts.reasoning import reasoning_messages, reasoning_prompt, reasoning_shot_examples
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


def _reasoned(model: BaseChatModel, req: GenerateRequest) -> After:
    """The `sift` rule after the filters: the reasoning rules on an example that passed them, against its filtered
    output; what is kept carries its reasoning and shape."""
    local = isinstance(model, ChatLocalLlama)

    def after(spec: Any, example: Example, cut: bool) -> Skip | dict[str, Any]:
        reasoning = spec.reasoning.strip()
        # The embedded model's grammar ends the reasoning at its own cap, as it does the output.
        thought_cut = cut or (local and len(spec.reasoning) >= _local_cap("reasoning"))
        bad = check_reasoning(reasoning, example.output, req.flavour, req.quality, truncated=thought_cut)
        if bad is not None:
            return Skip("example", bad[0], bad[1], spec.model_dump())
        return {"reasoning": reasoning, "shape": "reasoning"}

    return after


async def generate_reasoning(
    model: BaseChatModel, req: GenerateRequest, *, method: Method = "auto", model_label: str = ""
) -> GenerateResult:
    """One call for up to `req.n` examples with reasoning, through the generation's path (`generate.sift`: a copy of
    a worked example skipped, then the filters) and then the reasoning rules; each kept example has `reasoning`
    and `shape: reasoning`."""
    messages = messages_for(req, reasoning_messages, reasoning_prompt)
    shown = reasoning_shot_examples(req.flavour) if req.profile == "compact" else []
    return await sift(
        model, req, reasoning_batch_schema(req.n), messages, not_copied(shown), after=_reasoned(model, req),
        method=method, model_label=model_label,
    )  # fmt: skip
