"""Draw a training set from an explored tree the way the method does, as a pure function of stored data.

The reference takes nodes at depth <= `sample_max_depth` in level order, gives each the quota
`min(int(N * w_i / sum(w)) + 1, n_i)` with `w_i = min(n_i, weight_cap)`, draws at random and truncates to N.
It then tops a shortfall up from the root and raises when the root cannot cover it; it also samples pruned
tasks. Here pruned tasks and everything under them are left out, a shortfall is topped up from every eligible
node with spare examples, and a tree with fewer than N examples gives all of them and says so.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explore_instruct.tools.dataset import curation
from explore_instruct.tools.dataset.runstore import EXAMPLES, RUN_META, TREE_DIR
from explore_instruct.tools.fileio import read_jsonl
from explore_instruct.tools.tree.ei_dir import load_ei_dir
from explore_instruct.tools.tree.model import DomainTree, Example, TaskNode
from explore_instruct.tools.tree.seed_io import META_FILENAME, SeedError

DEFAULT_WEIGHT_CAP = 500
DEFAULT_MAX_DEPTH = 3


@dataclass(frozen=True)
class SampledExample:
    """One example with where it sits in the tree (kept as metadata by every export)."""

    id: str
    node_id: str
    depth: int
    path: tuple[str, ...]  # task names, root first
    example: Example


@dataclass
class SampleResult:
    examples: list[SampledExample]
    requested: int | None  # None: every eligible example
    available: int  # examples in the eligible nodes
    quotas: dict[str, int] = field(default_factory=dict)  # the method's quota per node, before truncation
    drawn: dict[str, int] = field(default_factory=dict)  # what each node gave, top-ups included
    topped_up: int = 0
    seed: int = 0
    max_depth: int | None = None
    weight_cap: int = DEFAULT_WEIGHT_CAP

    @property
    def shortfall(self) -> int:
        return 0 if self.requested is None else max(0, self.requested - len(self.examples))

    def describe(self) -> str:
        """One line for a person: what was drawn and whether the tree could cover it."""
        got = len(self.examples)
        if self.requested is None:
            return f"all {got} examples of {len(self.drawn)} tasks"
        line = f"{got} of {self.requested} requested examples from {len(self.drawn)} tasks"
        if self.topped_up:
            line += f" ({self.topped_up} topped up from tasks with spare examples)"
        if self.shortfall:
            line += f"; the eligible tasks hold only {self.available}, so all of them were taken"
        return line

    def params(self) -> dict[str, Any]:
        return {
            "n": self.requested,
            "seed": self.seed,
            "max_depth": self.max_depth,
            "weight_cap": self.weight_cap,
            "examples": len(self.examples),
            "available": self.available,
            "topped_up": self.topped_up,
            "shortfall": self.shortfall,
        }


@dataclass
class LoadedTree:
    """A tree with stable example ids (from examples.jsonl for runs, `node:index` otherwise)."""

    tree: DomainTree
    ids: dict[str, list[str]]
    source: Path
    run_dir: Path | None = None
    curation: dict[str, int] | None = None  # what the reviewers' decisions changed (tools/dataset/curation.py)

    def example_id(self, node_id: str, index: int) -> str:
        ids = self.ids.get(node_id, [])
        return ids[index] if index < len(ids) else f"{node_id}:{index}"


def score_of(example: Example) -> int | None:
    """The judge's score an example carries (`quality.score`), if it was judged."""
    quality = (example.model_extra or {}).get("quality")
    score = quality.get("score") if isinstance(quality, dict) else None
    return score if isinstance(score, int) else None


def at_least(loaded: LoadedTree, min_score: int) -> LoadedTree:
    """Only the examples the judge scored `min_score` or more (unjudged ones are left out), ids kept."""
    tree = loaded.tree.model_copy(deep=True)
    ids: dict[str, list[str]] = {}
    for node in tree.nodes.values():
        keep = [j for j, e in enumerate(node.examples) if (score_of(e) or 0) >= min_score]
        ids[node.id] = [loaded.example_id(node.id, j) for j in keep]
        node.examples = [node.examples[j] for j in keep]
    return LoadedTree(tree=tree, ids=ids, source=loaded.source, run_dir=loaded.run_dir)


def eligible_nodes(tree: DomainTree, max_depth: int | None) -> list[TaskNode]:
    """Non-pruned nodes (a pruned node takes its subtree with it) with examples, in level order."""
    return [n for n in tree.level_order() if n.examples and (max_depth is None or n.depth <= max_depth)]


def quotas(counts: list[int], n: int, weight_cap: int = DEFAULT_WEIGHT_CAP) -> list[int]:
    """The method's per-node quota: `min(int(n * w_i / sum(w)) + 1, n_i)` with `w_i = min(n_i, cap)`."""
    weights = [min(c, weight_cap) for c in counts]
    total = sum(weights)
    if total == 0:
        return [0] * len(counts)
    return [min(int(n * w / total) + 1, c) for w, c in zip(weights, counts, strict=True)]


def _check(n: int | None, max_depth: int | None, weight_cap: int) -> None:
    if n is not None and n < 1:
        raise ValueError(f"sample: -n must be at least 1, got {n}")
    if max_depth is not None and max_depth < 0:
        raise ValueError(f"sample: --max-depth must be 0 or more, got {max_depth}")
    if weight_cap < 1:
        raise ValueError(f"sample: --weight-cap must be at least 1, got {weight_cap}")


def sample(
    loaded: LoadedTree,
    n: int | None,
    *,
    seed: int = 0,
    max_depth: int | None = DEFAULT_MAX_DEPTH,
    weight_cap: int = DEFAULT_WEIGHT_CAP,
) -> SampleResult:
    """N examples by the method's quotas (n=None: every eligible example); the same inputs give the same draw."""
    _check(n, max_depth, weight_cap)
    tree = loaded.tree
    nodes = eligible_nodes(tree, max_depth)
    counts = [len(node.examples) for node in nodes]
    available = sum(counts)
    rng = random.Random(seed)
    picked: list[list[int]] = []
    node_quotas: dict[str, int] = {}
    if n is None:
        picked = [list(range(c)) for c in counts]
    else:
        q = quotas(counts, n, weight_cap)
        node_quotas = {node.id: k for node, k in zip(nodes, q, strict=True)}
        picked = [rng.sample(range(c), k) for c, k in zip(counts, q, strict=True)]
        # Truncate to N in level order, as the reference does (the +1 per node overshoots by at most len(nodes)).
        left = n
        for i, chosen in enumerate(picked):
            picked[i] = chosen[: max(0, left)]
            left -= len(picked[i])
    topped_up = 0
    if n is not None and sum(map(len, picked)) < n:
        taken = [set(chosen) for chosen in picked]
        spare = [(i, j) for i, c in enumerate(counts) for j in range(c) if j not in taken[i]]
        need = min(n - sum(map(len, picked)), len(spare))
        for i, j in rng.sample(spare, need):
            picked[i].append(j)
        topped_up = need
    out: list[SampledExample] = []
    drawn: dict[str, int] = {}
    for node, chosen in zip(nodes, picked, strict=True):
        if not chosen:
            continue
        drawn[node.id] = len(chosen)
        path = tuple(p.name for p in tree.path(node.id))
        for j in sorted(chosen):
            out.append(SampledExample(loaded.example_id(node.id, j), node.id, node.depth, path, node.examples[j]))
    return SampleResult(
        examples=out,
        requested=n,
        available=available,
        quotas=node_quotas,
        drawn=drawn,
        topped_up=topped_up,
        seed=seed,
        max_depth=max_depth,
        weight_cap=weight_cap,
    )


# ---- loading the stored data ------------------------------------------------------------------


def is_run_dir(path: Path) -> bool:
    return (path / RUN_META).is_file()


def _run_records(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """examples.jsonl lines grouped by node, in file order; a line cut by a kill is skipped."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in read_jsonl(run_dir / EXAMPLES):
        if isinstance(row.get("node_id"), str) and isinstance(row.get("id"), str):
            grouped.setdefault(row["node_id"], []).append(row)
    return grouped


def load_run(run_dir: Path, *, curated_view: bool = True) -> LoadedTree:
    """The run's tree snapshot (structure, status, committed examples) with ids from examples.jsonl.

    The snapshot is rewritten at every committed offset, so it is the truth about which examples count; a
    tail of examples.jsonl written by a killed step (which a resume truncates) is left out that way. Ids are
    taken from examples.jsonl where its lines for a node line up with the snapshot. The reviewers' decisions
    are applied unless `curated_view` is off (the review command itself reads both).
    """
    tree_dir = run_dir / TREE_DIR
    if not (tree_dir / META_FILENAME).is_file():
        raise SeedError(f"{run_dir}: the run has no tree snapshot yet ({TREE_DIR}/{META_FILENAME})")
    tree = load_ei_dir(tree_dir)
    records = _run_records(run_dir)
    ids: dict[str, list[str]] = {}
    for node in tree.nodes.values():
        rows = records.get(node.id, [])[: len(node.examples)]
        if [r.get("instruction") for r in rows] == [e.instruction for e in node.examples]:
            ids[node.id] = [r["id"] for r in rows]
    loaded = LoadedTree(tree=tree, ids=ids, source=run_dir, run_dir=run_dir)
    return curated(loaded) if curated_view else loaded


def curated(loaded: LoadedTree) -> LoadedTree:
    """The run's data with its reviewers' decisions applied (curation.jsonl): rejected examples left out, edited
    ones with their new text (and a `curation` note on the example), ids kept. A run nobody reviewed is as it was."""
    if loaded.run_dir is None or not (loaded.run_dir / curation.CURATION).is_file():
        return loaded
    state = curation.load(loaded.run_dir)
    tree = loaded.tree.model_copy(deep=True)
    ids: dict[str, list[str]] = {}
    for node in tree.nodes.values():
        kept_ids, kept = [], []
        for j, example in enumerate(node.examples):
            eid = loaded.example_id(node.id, j)
            decided = state.examples.get(eid)
            if decided is not None and decided.status == "rejected":
                continue
            if decided is not None and decided.fields:
                extra = dict(example.model_extra or {})
                extra["curation"] = {"edited": sorted(decided.fields), "by": decided.decided_by, "notes": decided.notes}
                example = Example(**{**example.model_dump(), **extra, **decided.fields})
                example = _edit_turns(example, decided.fields)
            kept_ids.append(eid)
            kept.append(example)
        node.examples = kept
        ids[node.id] = kept_ids
    return LoadedTree(tree=tree, ids=ids, source=loaded.source, run_dir=loaded.run_dir, curation=state.summary())


def _edit_turns(example: Example, fields: dict[str, str]) -> Example:
    """A conversation (multi_turn, tool_calls) is exported from its `messages`, so an edit of its instruction or
    output is also made to the turn it names: the first user turn, the final assistant answer. (A conversation has
    no input: an edit of it stays on the example's `input` field, which no chat export reads.)"""
    messages = (example.model_extra or {}).get("messages")
    if not isinstance(messages, list) or not messages or not ({"instruction", "output"} & fields.keys()):
        return example
    turns = [dict(m) if isinstance(m, dict) else m for m in messages]
    if "instruction" in fields:
        first = next((m for m in turns if isinstance(m, dict) and m.get("role") == "user"), None)
        if first is not None:
            first["content"] = fields["instruction"]
    if "output" in fields:
        last = next((m for m in reversed(turns) if isinstance(m, dict) and m.get("role") == "assistant"), None)
        if last is not None:
            last["content"] = fields["output"]
    return Example(**{**example.model_dump(), "messages": turns})


def load_tree_source(path: Path) -> LoadedTree:
    """A run directory or an Explore-Instruct tree directory (ours or the reference's)."""
    if not path.exists():
        raise SeedError(f"{path}: no such file or directory")
    if not path.is_dir():
        raise SeedError(f"{path}: give a run directory or an Explore-Instruct tree directory")
    if is_run_dir(path):
        return load_run(path)
    return LoadedTree(tree=load_ei_dir(path), ids={}, source=path)
