"""The judge's faithfulness check for grounded examples: is the output supported by the chunks it cites?

The quote gate proves an example cites real text; it cannot tell whether the answer says more than that text
(a model copies a true sentence, then answers from memory). So in a grounded run each judge batch gets one more
call, shown each example with its cited chunk, asking only "supported: true or false" (one job per call, as the
compact profile needs). An example judged unsupported is dropped as `unfaithful`; one the judge could not answer
for is kept, like an example nobody could judge.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field, create_model

from explore_instruct.tools.llm.structured import CallRecord, call_structured
from explore_instruct.tools.tree.model import Example

FAITHFUL_SYSTEM = "You check whether answers are supported by the source passages they cite. Reply with JSON."
QUESTION = "Is everything the output states supported by its source?"
SHOW_CHARS = 1200  # of the cited text per example


class Check(BaseModel):
    id: int = Field(ge=1, description="The example's number")
    supported: bool = Field(description="true if the source supports everything the output states")


@functools.lru_cache(maxsize=64)
def checks_schema(n: int) -> type[BaseModel]:
    counts: dict[str, Any] = {"minItems": n, "maxItems": n}
    return create_model("Checks", checks=(list[Check], Field(min_length=1, json_schema_extra=counts)))


def faithful_prompt(examples: Sequence[Example], evidence: Sequence[str]) -> str:
    blocks = "\n\n".join(
        f"[{i}]\nSource: {' '.join(src.split())[:SHOW_CHARS]}\nInstruction: {ex.instruction}\nOutput: {ex.output}"
        for i, (ex, src) in enumerate(zip(examples, evidence, strict=True), 1)
    )
    return f"""{QUESTION} Check each example below against its own source only.

{blocks}

For each example give its number and supported: true or false."""


async def check_faithful(
    model: BaseChatModel, examples: Sequence[Example], evidence: Sequence[str], *, model_label: str = ""
) -> tuple[list[bool | None], CallRecord]:
    """Per example: True (supported), False (unfaithful) or None (no usable answer for it)."""
    result = await call_structured(
        model,
        checks_schema(len(examples)),
        faithful_prompt(examples, evidence),
        system=FAITHFUL_SYSTEM,
        purpose="judge",
        model_label=model_label,
    )
    by_id: dict[int, bool] = {}
    if result.value is not None:
        for c in result.value.checks:  # type: ignore[attr-defined]
            by_id.setdefault(c.id, c.supported)
    return [by_id.get(i) for i in range(1, len(examples) + 1)], result.record
