"""Grounded generation: examples for one task from its retrieved chunks, each citing a verified quote.

The same structured call and filters as `generate.generate`, with the chunks in the prompt and two more fields per
example (`source`, `quote`). An example whose quote is not a span of the source it names is dropped as
`unsupported_quote` (tools/corpus/quotes.py); one naming no shown source as `unknown_source`. What is kept
carries `sources: [{"doc", "chunk_id", "page", "quote"}]`, which the run's examples.jsonl and every export keep.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field, create_model

from explore_instruct.tools.corpus.quotes import supported
from explore_instruct.tools.corpus.retrieve import Passage, source_of
from explore_instruct.tools.generation.decompose import ExampleSpec, Skip
from explore_instruct.tools.generation.generate import GenerateRequest, GenerateResult
from explore_instruct.tools.llm.structured import Method, call_structured
from explore_instruct.tools.prompts.grounded import grounded_generate_messages
from explore_instruct.tools.quality import filters
from explore_instruct.tools.tree.model import Example


class GroundedSpec(ExampleSpec):
    source: int = Field(ge=1, description="Number of the source the answer rests on")
    quote: str = Field(min_length=1, description="One sentence copied word for word from that source")


@functools.lru_cache(maxsize=64)
def grounded_schema(n: int) -> type[BaseModel]:
    counts: dict[str, Any] = {"minItems": n, "maxItems": n}
    return create_model("GroundedBatch", examples=(list[GroundedSpec], Field(min_length=1, json_schema_extra=counts)))


async def generate_grounded(
    model: BaseChatModel,
    req: GenerateRequest,
    shown: Sequence[Passage],
    *,
    method: Method = "auto",
    model_label: str = "",
) -> GenerateResult:
    """One call for `req.n` examples of `req.task` resting on `shown`; quotes checked, then the usual filters."""
    done = [d.instruction for d in req.demonstrations]
    system, shots, prompt = grounded_generate_messages(
        req.task, req.parent, shown, done, req.n, compact=req.profile == "compact"
    )
    result = await call_structured(
        model,
        grounded_schema(req.n),
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
    cut = "length" in result.record.finish_reasons
    for spec in result.value.examples[: req.n]:  # type: ignore[attr-defined]
        item = spec.model_dump()
        if spec.source > len(shown):
            skipped.append(Skip("example", "unknown_source", f"source {spec.source} of {len(shown)}", item))
            continue
        passage = shown[spec.source - 1]
        if not supported(spec.quote, passage["text"]):
            skipped.append(Skip("example", "unsupported_quote", f"not in {passage['chunk_id']}", item))
            continue
        base = Example(instruction=spec.instruction, input=spec.input, output=spec.output)
        verdict = filters.check(base, req.flavour, req.quality, truncated=cut)
        if verdict.example is None:
            skipped.append(Skip("example", verdict.rule or "filtered", verdict.detail, item))
            continue
        kept.append(Example(**verdict.example.model_dump(), sources=[source_of(passage, spec.quote.strip())]))
    return GenerateResult(kept, skipped, [result.record])
