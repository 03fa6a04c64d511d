"""`batch --split`: one seed explored as one root run (depth 1) and then one run per depth-1 subtree.

The root run widens the root to `breadth[0]` subtasks and enriches the root alone (`examples` at depth 1 is 0
there). Once it is done, each accepted subtask becomes the root of a seed (an Explore-Instruct directory under
`ROOT/_batch/seeds/`, with the examples its decomposition brought) and of a run of its own with the remaining
depth, breadth and examples. The root run's depth-1 tasks are the subtree runs' roots: their examples are counted
in the subtree runs, and the root run's data is its depth 0. Pruning and dedup are per run, so subtrees are not
deduplicated against each other (docs/scaling.md: dedup merged data afterwards).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from explore_instruct.agent.batch.jobs import BATCH_DIR, BatchError, Job
from explore_instruct.tools.dataset.runstore import TREE_DIR
from explore_instruct.tools.tree.ei_dir import load_ei_dir, write_ei_dir
from explore_instruct.tools.tree.model import DomainTree, TaskNode


def _at(values: list[int], depth: int) -> int:
    return values[min(depth, len(values) - 1)]


def root_params(params: dict[str, Any]) -> dict[str, Any]:
    """The root run's parameters: depth 1, the first breadth, examples for the root only."""
    from explore_instruct.graphs.context import Context

    ctx = Context(**params)
    if ctx.max_depth < 1:
        raise BatchError("--split: needs a depth of at least 1")
    return {**params, "max_depth": 1, "breadth": [ctx.breadth_at(0)], "examples": [ctx.examples_at(0), 0]}


def subtree_params(params: dict[str, Any]) -> dict[str, Any]:
    """A subtree run's parameters: one level less, the rest of breadth and examples."""
    from explore_instruct.graphs.context import Context

    ctx = Context(**params)
    depth = ctx.max_depth - 1
    return {
        **params,
        "max_depth": depth,
        "breadth": [ctx.breadth_at(d) for d in range(1, ctx.max_depth)],
        "examples": [ctx.examples_at(d) for d in range(1, ctx.max_depth + 1)],
    }


def subtree(tree: DomainTree, node_id: str) -> DomainTree:
    """The accepted subtree under `node_id`, re-rooted (depths from 0)."""
    top = tree.node(node_id).depth
    nodes: dict[str, TaskNode] = {}
    for n in tree.subtree(node_id):
        kids = [c.id for c in tree.children(n.id)]
        nodes[n.id] = n.model_copy(
            update={"depth": n.depth - top, "parent": None if n.id == node_id else n.parent, "children": kids}
        )
    return DomainTree(root_id=node_id, nodes=nodes)


def split(jobs: list[Job], root: Path) -> tuple[list[Job], Callable[[Job, dict[str, Any]], list[Job]]]:
    """The root jobs, and what to start once each of them is done: its subtree jobs."""
    originals = {j.name: dict(j.params) for j in jobs}
    roots = [Job(**{**j.as_dict(), "params": root_params(j.params)}) for j in jobs]

    def then(job: Job, result: dict[str, Any]) -> list[Job]:
        if job.name not in originals:
            return []  # a subtree run: nothing follows it
        tree = load_ei_dir(Path(job.run_dir) / TREE_DIR)
        out = []
        for child in tree.children(tree.root_id):
            name = f"{job.name}--{child.id}"[:120]
            seed_dir = root / BATCH_DIR / "seeds" / name
            if not seed_dir.exists():  # a resumed batch keeps the seed its subtree run started from
                write_ei_dir(subtree(tree, child.id), seed_dir, include_pruned=False)
            params = subtree_params(originals[job.name])
            out.append(Job(name=name, run_dir=str(root / name), seed=str(seed_dir), params=params,
                           batch_root=job.batch_root))  # fmt: skip
        return out

    return roots, then
