"""Prompt text for decomposition (extend) and generation (enrich), per domain flavour.

Kept apart from the code that calls the model so wording can be tuned without touching logic.
The wording is ours; only the method's requirements follow the paper.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Literal

from explore_instruct.tools.tree.model import Example


class Flavour(StrEnum):
    GENERIC = "generic"
    REWRITING = "rewriting"
    BRAINSTORMING = "brainstorming"
    MATH = "math"


Profile = Literal["compact", "full"]
PROFILES: tuple[str, ...] = ("auto", "compact", "full")
# Sampling that suits each profile: small models loop without a repeat penalty and ramble at T=1.0;
# the full profile keeps the method's T=1.0.
PROFILE_SAMPLING: dict[str, dict[str, float]] = {
    "compact": {"temperature": 0.7, "repeat_penalty": 1.1},
    "full": {"temperature": 1.0, "repeat_penalty": 1.0},
}


def resolve_profile(requested: str, model: str) -> Profile:
    """`auto` picks compact for the embedded and other local models, full for everything else."""
    if requested == "compact" or (requested == "auto" and model.strip().lower().startswith("local:")):
        return "compact"
    return "full"


SYSTEM = (
    "You help build instruction-tuning data for a language model. You map out a domain as a tree of "
    "tasks and write realistic, self-contained examples. You reply with JSON only."
)

_COMMON_RULES = """\
Rules for every example:
- The instruction is written in English, one or two sentences, as a real user would ask it. Vary the verbs and the phrasing.
- The instruction must be doable by a text-only assistant: nothing that needs seeing or making images, audio, video, files, or acting in the world.
- The input gives the material the instruction works on (a passage, a list, data) in under about 200 words; leave it empty when the instruction stands on its own. Never use placeholders such as <text> or (insert here).
- The output is a good, complete answer of under about 200 words."""

_FLAVOUR_RULES: dict[Flavour, str] = {
    Flavour.GENERIC: "- Stay inside the domain and make each example clearly belong to its task.",
    Flavour.REWRITING: (
        "- Every example rewrites a given text: the input holds the original text, the output the rewritten one.\n"
        "- Cover many kinds of source text: emails, essays, reports, stories, ads, messages."
    ),
    Flavour.BRAINSTORMING: (
        "- Every example asks for ideas, options, plans or suggestions; the output offers several distinct ones.\n"
        "- Cover many settings: work, study, hobbies, family, travel, business, community."
    ),
    Flavour.MATH: (
        "- Every example is a math problem. Write math in LaTeX.\n"
        "- The output explains the solution step by step and ends with the final answer inside \\boxed{...}.\n"
        "- Vary the kind of question, not only the numbers: prove, compare, estimate, model, count, simplify."
    ),
}


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {i}" for i in items) if items else "- (none yet)"


def _demos(examples: Sequence[Example]) -> str:
    if not examples:
        return "(no examples yet)"
    blocks = []
    for i, ex in enumerate(examples, 1):
        blocks.append(
            f"Example {i}\nInstruction: {ex.instruction}\nInput: {ex.input or '(empty)'}\nOutput: {ex.output}"
        )
    return "\n\n".join(blocks)


def decompose_prompt(
    *,
    target: str,
    target_reason: str,
    existing_children: Sequence[str],
    peers: Sequence[str],
    demonstrations: Sequence[Example],
    k: int,
    examples_per_subtask: int,
    max_children: int,
    flavour: Flavour,
    path: Sequence[str] = (),
) -> str:
    """Lookahead and backtracking share this prompt: both add children to `target`. `path` (the root first, down to
    the target's parent) keeps a deep task's subtasks inside the domain, not only inside the parent."""
    return f"""Target task: {target}
{f"Part of: {' > '.join(path)} (every subtask must stay inside this domain)" if path else ""}
{f"Why it matters: {target_reason}" if target_reason else ""}
We are splitting the target task into at most {max_children} finer subtasks. It already has {len(existing_children)}:
{_bullets(existing_children)}

Tasks next to the target (its peers), for context:
{_bullets(peers)}

Examples from this part of the domain:
{_demos(demonstrations)}

Propose {k} NEW subtasks of the target task.
- Each subtask needs a skill that is part of the target task, and is narrower than it.
- Each must complement the existing subtasks: different from all of them and from each other, and not a copy of a peer.
- Together they should cover common, practical situations.
- Give each a short name (a few words), a one-sentence reason, and exactly {examples_per_subtask} examples.
{_COMMON_RULES}
{_FLAVOUR_RULES[flavour]}

Reply with JSON: {{"subtasks": [{{"name": ..., "reason": ..., "examples": [{{"instruction": ..., "input": ..., "output": ...}}]}}]}}"""


def generate_prompt(
    *,
    task: str,
    task_reason: str,
    parent: str | None,
    siblings: Sequence[str],
    demonstrations: Sequence[Example],
    n: int,
    flavour: Flavour,
    more_rules: str = "",
    item: str = '"instruction": ..., "input": ..., "output": ...',
) -> str:
    """`more_rules` and `item` (the reply's fields) are a shaped generation's (tools/prompts/reasoning.py)."""
    more = f"\n{more_rules}" if more_rules else ""
    context = (
        f"It is a subtask of: {parent}\nOther subtasks next to it (do not write examples for these):\n"
        f"{_bullets(siblings)}\n"
        if parent
        else ""
    )
    return f"""Task: {task}
{f"What it covers: {task_reason}" if task_reason else ""}
{context}
Examples of this task so far:
{_demos(demonstrations)}

Write {n} new, diverse examples of exactly this task. Do not repeat the examples above or each other.
{_COMMON_RULES}
{_FLAVOUR_RULES[flavour]}{more}

Reply with JSON: {{"examples": [{{{item}}}]}}"""


REPAIR = (
    "Your last reply could not be used: {error}. Reply again with only a JSON object that matches this "
    "JSON schema exactly, with no other text:\n{schema}"
)

JSON_ONLY = "Reply with only a JSON object that matches this JSON schema, with no other text:\n{schema}"
