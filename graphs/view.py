"""Reading the graph state: the tree, a node's demonstrations, the run directory and the model.

Nodes keep the tree as plain JSON dicts (checkpoints stay portable, Studio shows them); these helpers turn
that back into the `tools` objects the jobs take, so no node parses state by hand.
"""

from __future__ import annotations

import random
from typing import Any

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.state import State
from explore_instruct.tools.dataset.runstore import RunStore
from explore_instruct.tools.llm.models import shared_chat_model
from explore_instruct.tools.tree.model import DomainTree, Example, NodeStatus, TaskNode

# Demonstrations a node keeps in the state for the prompts of its children and its own enrichment.
DEMO_POOL = 8


def tree_of(state: State, nodes: dict[str, dict[str, Any]] | None = None) -> DomainTree:
    """The tree as `tools.tree` objects; `nodes` replaces the state's (a node's own pending update merged in)."""
    nodes = state["nodes"] if nodes is None else nodes
    return DomainTree(root_id=state["root_id"], nodes={k: TaskNode.model_validate(v) for k, v in nodes.items()})


def node_state(node: TaskNode, **flags: Any) -> dict[str, Any]:
    """A tree node as it lives in the state: its fields plus exploration flags."""
    return node.model_dump(mode="json") | flags


def accepted_children(state: State, node_id: str) -> list[dict[str, Any]]:
    nodes = state["nodes"]
    return [nodes[c] for c in nodes[node_id]["children"] if nodes[c]["status"] == NodeStatus.ACCEPTED]


def run_dir(state: State, ctx: Context) -> str:
    """The run directory: the context's when given (a run directory that was moved or copied resumes in its
    new place), else the one the run started in."""
    return ctx.run_dir or state["run_dir"]


def store_of(state: State, ctx: Context) -> RunStore:
    return RunStore(run_dir(state, ctx))


def model_for(ctx: Context) -> Any:
    """The injected model, else the process-wide one for these settings (its weights load once)."""
    return ctx.chat_model if ctx.chat_model is not None else shared_chat_model(ctx.model_spec())


def demonstrations(state: State, node_id: str, ctx: Context, salt: str) -> list[Example]:
    """A seeded random pick from the task's own examples, else its parent's: the same pick on a replay."""
    node = state["nodes"][node_id]
    pool = node.get("examples") or (state["nodes"][node["parent"]].get("examples") if node["parent"] else None) or []
    rng = random.Random(f"{ctx.seed}:{node_id}:{salt}")
    picked = rng.sample(pool, min(ctx.demonstrations, len(pool)))
    return [Example.model_validate(e) for e in picked]
