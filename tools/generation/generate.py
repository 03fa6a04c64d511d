"""Generation (the paper's `enrich`): new instruction/input/output examples for one task.

Instruction, input and output come jointly from one structured completion, as in the method.
`generate_examples` loops to a target count but stops on a bounded number of fruitless calls; the
reference looped forever on unparsable replies.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field, create_model

from explore_instruct.tools.generation.decompose import ExampleSpec, Skip
from explore_instruct.tools.llm.local import STRING_CAPS, ChatLocalLlama
from explore_instruct.tools.llm.structured import CallRecord, Method, call_structured
from explore_instruct.tools.prompts.compact import Shots, generate_messages, shot_examples
from explore_instruct.tools.prompts.full import SYSTEM, Flavour, Profile, generate_prompt
from explore_instruct.tools.quality import filters
from explore_instruct.tools.quality.degeneracy import Thresholds
from explore_instruct.tools.quality.filters import DEFAULT_QUALITY
from explore_instruct.tools.tree.model import Example

EXAMPLES_PER_CALL = 10
# A generation's own rules around the shared filters (`sift`): a `Skip`, or what a kept example carries.
Check = Callable[[Any], "Skip | dict[str, Any]"]
After = Callable[[Any, Example, bool], "Skip | dict[str, Any]"]


@functools.lru_cache(maxsize=128)
def batch_schema(n: int, exact: bool = False) -> type[BaseModel]:
    """`exact` asks a grammar-constrained model for exactly n items (validation still takes fewer)."""
    counts: dict[str, Any] = {"minItems": n, "maxItems": n} if exact else {"maxItems": n}
    return create_model("ExampleBatch", examples=(list[ExampleSpec], Field(min_length=1, json_schema_extra=counts)))


@dataclass
class GenerateRequest:
    task: str
    task_reason: str = ""
    parent: str | None = None
    siblings: Sequence[str] = ()
    demonstrations: Sequence[Example] = ()
    n: int = EXAMPLES_PER_CALL
    flavour: Flavour = Flavour.GENERIC
    profile: Profile = "full"
    quality: Thresholds | None = DEFAULT_QUALITY  # degeneracy thresholds; None: the method's filters only


@dataclass
class GenerateResult:
    examples: list[Example]
    skipped: list[Skip]
    calls: list[CallRecord] = field(default_factory=list)


async def generate(
    model: BaseChatModel, req: GenerateRequest, *, method: Method = "auto", model_label: str = ""
) -> GenerateResult:
    """One call for up to `req.n` examples, passed through the heuristic filters (a copy of a worked example is
    skipped first)."""
    messages = messages_for(req, generate_messages, generate_prompt)
    shown = shot_examples(req.flavour) if req.profile == "compact" else []
    # Exactly n for both profiles: "up to n" let replies come back short, and each short reply is a refill call
    # later (bench/cost.py); constrained decoding (vLLM, llama.cpp, OpenAI's json_schema) holds the count.
    return await sift(
        model, req, batch_schema(req.n, exact=True), messages, not_copied(shown), method=method,
        model_label=model_label,
    )  # fmt: skip


def messages_for(
    req: GenerateRequest, compact: Callable[..., tuple[str, Shots, str]], full: Callable[..., str]
) -> tuple[str, Shots, str]:
    """(system, worked turns, prompt) of one generation call: the profile's builders (each way of generating has
    its own pair, tools/prompts/), both given the same request."""
    if req.profile == "compact":
        return compact(req.task, req.parent, list(req.demonstrations), req.n, req.flavour)
    prompt = full(
        task=req.task, task_reason=req.task_reason, parent=req.parent, siblings=list(req.siblings),
        demonstrations=list(req.demonstrations), n=req.n, flavour=req.flavour,
    )  # fmt: skip
    return SYSTEM, [], prompt


def not_copied(shown: Sequence[Example]) -> Check:
    """A `sift` check that skips a reply item repeating one of the worked examples the prompt `shown` (a small
    model copies its shots)."""
    texts = _texts(shown)

    def check(spec: Any) -> Skip | dict[str, Any]:
        if texts & _texts([spec]):
            return Skip("example", "copied_worked_example", "", spec.model_dump())
        return {}

    return check


async def sift(
    model: BaseChatModel,
    req: GenerateRequest,
    schema: type[BaseModel],
    messages: tuple[str, Shots, str],
    check: Check,
    *,
    after: After | None = None,
    method: Method = "auto",
    model_label: str = "",
) -> GenerateResult:
    """One structured generation call (`messages`: system, worked turns, prompt), each example of its reply kept or
    skipped with its reason. Every way of generating (plain, grounded, shaped) shares it so that they keep and skip
    by the same rules; what differs is the caller's own rules around the shared filters. `check` runs first on each
    item of the reply, `after` (optional) on what passed the filters, with the item, the filtered example and
    whether the reply was cut at its length limit. Either returns a `Skip` to drop the item, or a dict of what the
    kept example carries besides its text (a grounded example's sources, a reasoning)."""
    system, shots, prompt = messages
    result = await call_structured(
        model, schema, prompt, system=system, shots=shots, method=method, purpose="generate", model_label=model_label
    )
    if result.value is None:
        return GenerateResult([], [], [result.record])
    kept: list[Example] = []
    skipped: list[Skip] = []
    cut = "length" in result.record.finish_reasons
    for spec in result.value.examples[: req.n]:  # type: ignore[attr-defined]
        extra = check(spec)
        if isinstance(extra, Skip):
            skipped.append(extra)
            continue
        # The embedded model's grammar ends a string at its length cap whatever the sentence was doing.
        truncated = cut or (isinstance(model, ChatLocalLlama) and len(spec.output) >= STRING_CAPS["output"])
        base = Example(instruction=spec.instruction, input=spec.input, output=spec.output)
        verdict = filters.check(base, req.flavour, req.quality, truncated=truncated)
        if verdict.example is None:
            skipped.append(Skip("example", verdict.rule or "filtered", verdict.detail, spec.model_dump()))
            continue
        more = after(spec, verdict.example, cut) if after is not None else {}
        if isinstance(more, Skip):
            skipped.append(more)
            continue
        extra |= more
        kept.append(Example(**verdict.example.model_dump(), **extra) if extra else verdict.example)
    return GenerateResult(kept, skipped, [result.record])


def _texts(examples: Sequence[Example | ExampleSpec]) -> set[str]:
    """Normalised instructions and outputs, to tell a copy of a worked example."""
    return {" ".join(t.lower().split()) for e in examples for t in (e.instruction, e.output) if t.strip()}


async def generate_examples(
    model: BaseChatModel,
    req: GenerateRequest,
    target: int,
    *,
    per_call: int = EXAMPLES_PER_CALL,
    max_fruitless_calls: int = 3,
    accept: Callable[[Example], bool] | None = None,
    method: Method = "auto",
    model_label: str = "",
) -> GenerateResult:
    """Call until `target` examples are accepted or `max_fruitless_calls` calls in a row add nothing.

    `accept` lets a caller plug in dedup (it sees each example once, in order).
    """
    out = GenerateResult([], [])
    fruitless = 0
    while len(out.examples) < target and fruitless < max_fruitless_calls:
        want = min(per_call, target - len(out.examples))
        one = await generate(model, replace(req, n=want), method=method, model_label=model_label)
        out.calls.extend(one.calls)
        out.skipped.extend(one.skipped)
        added = 0
        for ex in one.examples:
            if len(out.examples) >= target:
                break
            if accept is None or accept(ex):
                out.examples.append(ex)
                added += 1
            else:
                out.skipped.append(Skip("example", "duplicate", "", ex.model_dump()))
        fruitless = 0 if added else fruitless + 1
    return out
