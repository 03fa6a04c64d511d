"""Decomposition (the paper's `extend`): propose new child subtasks of a target task.

Lookahead and backtracking both call this; they differ only in which node is the target. One call,
never a loop: the reference looped until it had enough children and hung once a node was full.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field, create_model

from explore_instruct.tools.llm.structured import CallRecord, Method, call_structured
from explore_instruct.tools.prompts.compact import decompose_messages
from explore_instruct.tools.prompts.full import SYSTEM, Flavour, Profile, decompose_prompt
from explore_instruct.tools.quality import filters
from explore_instruct.tools.quality.degeneracy import Thresholds
from explore_instruct.tools.quality.filters import DEFAULT_QUALITY
from explore_instruct.tools.tree.model import Example, slugify
from explore_instruct.tools.tree.names import MAX_WORDS, name_rule, trim_cut_off

MAX_CHILDREN = 12
# 2-8 short words of letters: what the embedded model's grammar lets it write as a name. No hyphens: the name rules
# count "on-boarding" as two words, so a hyphen let the grammar write names the rules then call too long.
NAME_SHAPE = rf"^[A-Za-z][a-z]{{1,13}}( [A-Za-z][a-z]{{0,12}}){{1,{MAX_WORDS - 1}}}$"


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


class NamedSubtask(BaseModel):
    """The compact profile's proposal: a name and a reason only; examples come from enrichment."""

    name: str = Field(
        min_length=3,
        description="Short name of the subtask, a few words",
        # Only the embedded model's grammar reads this: 2-8 short letter-only words, the shape of a task name, so
        # a small model cannot write `task1`, a sentence or run-together junk. Validation does not enforce it (a
        # remote model's "3D modelling" stays valid); the name rules judge every name afterwards.
        json_schema_extra={"x-grammar-pattern": NAME_SHAPE},
    )
    reason: str = Field(min_length=3, description="One line: why it is a distinct part of the task")


@functools.lru_cache(maxsize=128)
def named_schema(k: int) -> type[BaseModel]:
    return create_model(
        "NewSubtasks",
        subtasks=(list[NamedSubtask], Field(min_length=1, json_schema_extra={"minItems": k, "maxItems": k})),
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
    profile: Profile = "full"
    parent: str | None = None  # the target's parent, for the compact prompt's "Part of:"
    root: str = ""  # the domain: a subtask that repeats it is dropped
    path: Sequence[str] = ()  # the root down to the target's parent: both prompts show it, so depth stays on domain
    quality: Thresholds | None = DEFAULT_QUALITY  # degeneracy thresholds for the subtasks' examples
    grounding: str = ""  # a grounded run's chunks for this call (graphs/grounding.py), appended to the prompt


@dataclass
class ProposedSubtask:
    name: str
    reason: str
    examples: list[Example]
    proposed_as: str = ""  # the name as the model wrote it, when a cut-off tail was trimmed (tree.names.trim_cut_off)


@dataclass
class Skip:
    """Something the model produced that we did not use, and why."""

    what: str  # "subtask" | "example"
    rule: str
    detail: str = ""
    item: dict[str, Any] = field(default_factory=dict)


@dataclass
class DecomposeResult:
    subtasks: list[ProposedSubtask]
    skipped: list[Skip]
    call: CallRecord | None  # None when the cap left nothing to ask for
    more_calls: list[CallRecord] = field(default_factory=list)  # a pooled first level's other samples

    @property
    def calls(self) -> list[CallRecord]:
        return ([self.call] if self.call is not None else []) + self.more_calls


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
    if req.profile == "compact":
        system, shots, prompt = decompose_messages(
            req.target, req.parent, list(req.existing_children), k, list(req.demonstrations), list(req.path)
        )
        schema = named_schema(k)
    else:
        system, shots = SYSTEM, []
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
            path=list(req.path),
        )
        schema = proposal_schema(k, req.examples_per_subtask)
    if req.grounding:
        prompt = f"{prompt}\n{req.grounding}"
    result = await call_structured(
        model, schema, prompt, system=system, shots=shots, method=method, purpose="decompose", model_label=model_label
    )
    if result.value is None:
        return DecomposeResult([], [], result.record)

    taken = {slugify(n) for n in [*req.existing_children, *req.peers]}
    subtasks: list[ProposedSubtask] = []
    skipped: list[Skip] = []
    for spec in result.value.subtasks:  # type: ignore[attr-defined]
        name = written = " ".join(spec.name.split())
        rule = "empty_name" if not name else name_rule(name, target=req.target, root=req.root)
        if rule == "name_cut_off":  # kept without its dangling tail if that passes; the tree records `proposed_as`
            trimmed = trim_cut_off(name)
            if name_rule(trimmed, target=req.target, root=req.root) is None:
                name, rule = trimmed, None
        key = slugify(name)
        if rule is None and key in taken:
            rule = "duplicate_name"
        if rule is None and len(subtasks) >= k:
            rule = "over_cap"
        if rule is not None:
            skipped.append(Skip("subtask", rule, name, {"name": name} if name else {}))
            continue
        kept: list[Example] = []
        for ex in getattr(spec, "examples", []):
            verdict = filters.check(Example(**ex.model_dump()), req.flavour, req.quality)
            if verdict.example is not None:
                kept.append(verdict.example)
            else:
                skipped.append(Skip("example", verdict.rule or "filtered", verdict.detail, ex.model_dump()))
        if req.profile == "full" and not kept:  # the reference added such empty subtasks anyway
            skipped.append(Skip("subtask", "no_valid_examples", name, {"name": name}))
            continue
        taken.add(key)
        proposed_as = written if written != name else ""
        subtasks.append(ProposedSubtask(name, " ".join(spec.reason.split()), kept, proposed_as=proposed_as))
    return DecomposeResult(subtasks, skipped, result.record)
