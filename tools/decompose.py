"""Decomposition (the paper's `extend`): propose new child subtasks of a target task.

Lookahead and backtracking both call this; they differ only in which node is the target. One call,
never a loop: the reference looped until it had enough children and hung once a node was full.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field, create_model

from explore_instruct.tools import filters
from explore_instruct.tools.prompts import SYSTEM, Flavour, decompose_prompt
from explore_instruct.tools.structured import CallRecord, Method, call_structured
from explore_instruct.tools.tree import Example, slugify

MAX_CHILDREN = 12


class ExampleSpec(BaseModel):
    instruction: str = Field(min_length=8, description="What the user asks, 1-2 sentences")
    input: str = Field(description="Material the instruction works on, or empty")
    output: str = Field(min_length=1, description="A good answer")


class SubtaskSpec(BaseModel):
    name: str = Field(min_length=3, description="Short name of the subtask, a few words")
    reason: str = Field(min_length=3, description="Why it is a distinct, useful part of the target task")
    examples: list[ExampleSpec]


@functools.lru_cache(maxsize=128)
def proposal_schema(k: int, examples_per_subtask: int) -> type[BaseModel]:
    """maxItems lets grammar-constrained models emit exactly the counts asked for; validation does not
    enforce it, so a remote model that over-delivers loses only the surplus (recorded), not the batch."""
    sub = create_model(
        "Subtask",
        __base__=SubtaskSpec,
        examples=(list[ExampleSpec], Field(min_length=1, json_schema_extra={"maxItems": examples_per_subtask})),
    )
    return create_model(
        "SubtaskProposal",
        subtasks=(list[sub], Field(min_length=1, json_schema_extra={"maxItems": k})),
    )


@dataclass
class DecomposeRequest:
    target: str
    target_reason: str = ""
    existing_children: Sequence[str] = ()
    peers: Sequence[str] = ()
    demonstrations: Sequence[Example] = ()
    k: int = 3
    examples_per_subtask: int = 2
    max_children: int = MAX_CHILDREN
    flavour: Flavour = Flavour.GENERIC


@dataclass
class ProposedSubtask:
    name: str
    reason: str
    examples: list[Example]


@dataclass
class Skip:
    """Something the model produced that we did not use, and why."""

    what: str  # "subtask" | "example"
    rule: str
    detail: str = ""
    item: dict[str, str] = field(default_factory=dict)


@dataclass
class DecomposeResult:
    subtasks: list[ProposedSubtask]
    skipped: list[Skip]
    call: CallRecord | None  # None when the cap left nothing to ask for


def room_for(req: DecomposeRequest) -> int:
    return max(0, min(req.k, req.max_children - len(req.existing_children)))


async def decompose(
    model: BaseChatModel,
    req: DecomposeRequest,
    *,
    method: Method = "auto",
    model_label: str = "",
) -> DecomposeResult:
    k = room_for(req)
    if k == 0:
        return DecomposeResult([], [], None)
    prompt = decompose_prompt(
        target=req.target,
        target_reason=req.target_reason,
        existing_children=list(req.existing_children),
        peers=list(req.peers),
        demonstrations=list(req.demonstrations),
        k=k,
        examples_per_subtask=req.examples_per_subtask,
        max_children=req.max_children,
        flavour=req.flavour,
    )
    schema = proposal_schema(k, req.examples_per_subtask)
    result = await call_structured(
        model, schema, prompt, system=SYSTEM, method=method, purpose="decompose", model_label=model_label
    )
    if result.value is None:
        return DecomposeResult([], [], result.record)

    taken = {slugify(n) for n in [req.target, *req.existing_children, *req.peers]}
    subtasks: list[ProposedSubtask] = []
    skipped: list[Skip] = []
    for spec in result.value.subtasks:  # type: ignore[attr-defined]
        name = " ".join(spec.name.split())
        key = slugify(name)
        if not name:
            skipped.append(Skip("subtask", "empty_name"))
            continue
        if key in taken:
            skipped.append(Skip("subtask", "duplicate_name", name, {"name": name}))
            continue
        if len(subtasks) >= k:
            skipped.append(Skip("subtask", "over_cap", name, {"name": name}))
            continue
        kept: list[Example] = []
        for ex in spec.examples:
            verdict = filters.check(Example(**ex.model_dump()), req.flavour)
            if verdict.example is not None:
                kept.append(verdict.example)
            else:
                skipped.append(Skip("example", verdict.rule or "filtered", verdict.detail, ex.model_dump()))
        if not kept:  # the reference added such empty subtasks anyway
            skipped.append(Skip("subtask", "no_valid_examples", name, {"name": name}))
            continue
        taken.add(key)
        subtasks.append(ProposedSubtask(name=name, reason=" ".join(spec.reason.split()), examples=kept))
    return DecomposeResult(subtasks, skipped, result.record)
