"""Graph state: a narrow input, a wider internal state, a compact output.

Everything is plain JSON (dicts, lists, str, int) so checkpoints stay portable and Studio shows it.
Examples themselves live in the run directory; the state keeps counts, demonstrations and the byte
offset of the last committed example, which is what an exact resume needs.
`typing_extensions.TypedDict` because the Agent Server reads these schemas on Python 3.11.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, NotRequired

from typing_extensions import TypedDict


def merge_by_id(
    left: Mapping[str, dict[str, Any]] | None, right: Mapping[str, dict[str, Any] | None] | None
) -> dict[str, dict[str, Any]]:
    """Shallow-merge per id; a `None` value deletes the id."""
    out = dict(left or {})
    for key, value in (right or {}).items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = {**out.get(key, {}), **value}
    return out


def add_stats(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Sum numeric counters; nested dicts (counts by kind) sum per key."""
    out = dict(left or {})
    for key, value in (right or {}).items():
        if isinstance(value, dict):
            out[key] = add_stats(out.get(key), value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = out.get(key, 0) + value
        else:
            out[key] = value
    return out


def extend_or_clear(left: list[Any] | None, right: list[Any] | None) -> list[Any]:
    """Append; an explicit `None` in the update list clears what came before it."""
    out = list(left or [])
    for item in right or []:
        if item is None:
            out = []
        else:
            out.append(item)
    return out


def streak(left: int | None, right: int | None) -> int:
    """Calls in a row that the provider refused: +1 counts one more, 0 resets."""
    return (left or 0) + 1 if right == 1 else 0


class InputState(TypedDict):
    """What a caller gives: a one-sentence domain, or a seed (YAML/JSON file, Explore-Instruct directory)."""

    domain: NotRequired[str]
    seed: NotRequired[str]


class State(InputState):
    run_dir: NotRequired[str]
    root_id: NotRequired[str]
    # Task nodes: TaskNode fields (examples = a few demonstrations only) plus exploration flags.
    nodes: Annotated[dict[str, dict[str, Any]], merge_by_id]
    cursor: NotRequired[str | None]
    queue: NotRequired[list[str]]
    visits: Annotated[list[dict[str, Any]], extend_or_clear]
    # Proposed subtasks waiting for the similarity check.
    proposals: Annotated[list[dict[str, Any]], extend_or_clear]
    # Generated examples waiting for dedup, keyed by batch id.
    candidates: Annotated[dict[str, dict[str, Any]], merge_by_id]
    enrich_round: NotRequired[int]
    examples_offset: NotRequired[int]
    example_seq: NotRequired[int]  # candidates seen (kept or dropped): ids and index rollback use it
    examples_total: NotRequired[int]  # examples kept
    # The judge: examples.jsonl is judged up to `judged_offset`; judgements.jsonl is committed up to
    # `judgements_offset`; verdicts wait in `verdicts` (by batch id) for `judge_fold`.
    judged_offset: NotRequired[int]
    judgements_offset: NotRequired[int]
    verdicts: Annotated[dict[str, dict[str, Any]], merge_by_id]
    stats: Annotated[dict[str, Any], add_stats]
    provider_streak: Annotated[int, streak]
    status: NotRequired[str]
    summary: NotRequired[dict[str, Any]]


class DecomposeArgs(TypedDict):
    """A decomposition call's request, built from the state when the call is planned (tools.decompose)."""

    target: str
    target_reason: str
    existing_children: list[str]
    peers: list[str]
    demonstrations: list[dict[str, Any]]
    k: int
    examples_per_subtask: int
    max_children: int
    parent: NotRequired[str | None]  # the target's parent and the root: the compact prompt and the name rules
    root: NotRequired[str]
    path: NotRequired[list[str]]  # the root down to the target's parent: both prompts show it
    grounding: NotRequired[str]  # with docs: the chunks the call is shown (graphs/grounding.py)


class ProposeTask(TypedDict):
    """One lookahead/backtracking call: what `Send` carries to `extend_worker` (BFS), never the whole state."""

    target: str
    origin: str
    run_dir: str
    extend_calls: int
    seeded: NotRequired[bool]  # the target has children a seed gave (a preset's root): no pooled first level
    request: DecomposeArgs


class GenerateArgs(TypedDict):
    """A generation call's request (tools.generate)."""

    task: str
    task_reason: str
    parent: str | None
    siblings: list[str]
    demonstrations: list[dict[str, Any]]
    n: int
    flavour: str


class EnrichTask(TypedDict):
    """One `enrich_batch` call sent by `plan_enrich`; the batch id fixes the order `dedup` folds it in."""

    batch_id: str
    node_id: str
    run_dir: str
    request: GenerateArgs


class JudgeTask(TypedDict):
    """One judge call sent by `plan_judge`: examples of one task, with their ids."""

    batch_id: str
    node_id: str
    task: str
    run_dir: str
    examples: list[dict[str, Any]]  # id, instruction, input, output


class OutputState(TypedDict):
    """A compact summary; the data itself is in `run_dir`."""

    run_dir: NotRequired[str]
    status: NotRequired[str]
    summary: NotRequired[dict[str, Any]]
    stats: NotRequired[dict[str, Any]]
