"""Grounded generation: examples for one task from its retrieved chunks, each citing a verified quote.

The same structured call and filters as `generate.generate` (both go through `generate.sift`), with the chunks in
the prompt and two more fields per example (`source`, `quote`). An example whose quote is not a span of the source
it names is dropped as `unsupported_quote` (tools/corpus/quotes.py); one naming no shown source as
`unknown_source`. What is kept carries `sources: [{"doc", "chunk_id", "page", "quote"}]`, which the run's
examples.jsonl and every export keep.
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
from explore_instruct.tools.generation.generate import GenerateRequest, GenerateResult, sift
from explore_instruct.tools.llm.structured import Method
from explore_instruct.tools.prompts.grounded import grounded_generate_messages


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
    messages = grounded_generate_messages(req.task, req.parent, shown, done, req.n, compact=req.profile == "compact")

    def quoted(spec: Any) -> Skip | dict[str, Any]:
        item = spec.model_dump()
        if spec.source > len(shown):
            return Skip("example", "unknown_source", f"source {spec.source} of {len(shown)}", item)
        passage = shown[spec.source - 1]
        if not supported(spec.quote, passage["text"]):
            return Skip("example", "unsupported_quote", f"not in {passage['chunk_id']}", item)
        return {"sources": [source_of(passage, spec.quote.strip())]}

    return await sift(model, req, grounded_schema(req.n), messages, quoted, method=method, model_label=model_label)
