"""The run's beginning, pauses and end: `load_seed`, `budget_gate`, `finish`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.config import get_config, get_stream_writer
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from explore_instruct.graphs.accounting import unrecorded
from explore_instruct.graphs.context import Context
from explore_instruct.graphs.grounding import corpus_root, flat_tree
from explore_instruct.graphs.ledger import commit, kept_updates
from explore_instruct.graphs.routing import stop_reason
from explore_instruct.graphs.state import State, merge_by_id
from explore_instruct.graphs.view import DEMO_POOL, node_state, store_of, tree_of
from explore_instruct.tools.dataset.runstore import EXAMPLES, RUN_META, TREE_DIR, RunStore
from explore_instruct.tools.shapes.base import ShapeSpec, normal_shape
from explore_instruct.tools.shapes.params import shape_spec
from explore_instruct.tools.tree.model import DomainTree, Example, NodeStatus
from explore_instruct.tools.tree.seeds import domain_tree_from_sentence
from explore_instruct.tools.tree.seeds import load_seed as load_seed_tree

SeedReader = Callable[[str], DomainTree]
Node = Callable[..., dict[str, Any]]  # (state: State, runtime: Runtime[Context]), as LangGraph calls a node


def seed_node(read_seed: SeedReader = load_seed_tree) -> Node:
    """`load_seed` reading a caller's `seed` through `read_seed`.

    Whoever compiles the graph picks the rule, since whoever calls it may be someone else: the operator's graph
    (`graphs.explore.builder`, which the CLI's driver runs) reads any path; the graph the Agent Server serves
    (agent/served.py) reads only from the seed root. Nothing in the input, the context or `configurable` (all of
    which a remote caller sets) can switch between them."""

    def load_seed(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        """Build the tree from a sentence or a seed, commit the seed's examples, put the cursor on the root."""
        ctx = runtime.context
        source = state.get("seed") or state.get("domain") or corpus_root(ctx)  # with docs: named from the corpus
        if not source:
            raise ValueError("input: give 'domain' (a sentence) or 'seed' (a seed file or tree directory)")
        tree = read_seed(source) if state.get("seed") else domain_tree_from_sentence(source)
        if ctx.strategy == "flat":  # no tree to explore: one task per chunk (the anchors' baseline)
            tree = flat_tree(ctx, tree)
        return _seeded(state, ctx, tree)

    return load_seed


def _seeded(state: State, ctx: Context, tree: DomainTree) -> dict[str, Any]:
    """The run directory, run.json, the seed's examples committed, the tree written: the run's first step."""
    thread_id = get_config().get("configurable", {}).get("thread_id")
    run_dir = ctx.run_dir or f"{ctx.runs_root}/{thread_id or tree.root_id}"
    store = RunStore(run_dir)
    if not store.path(RUN_META).is_file():  # a run no Runner began (the Agent Server's): its one run.json writer
        meta = {"input": {k: state[k] for k in ("domain", "seed") if k in state}, "context": ctx.public()}
        store.ensure().write_meta(meta)
    nodes = {
        n.id: node_state(n, examples=[], kept=0, entered=n.parent is None) for n in tree.preorder(include_pruned=True)
    }
    if ctx.strategy == "flat":  # the root is no chunk: only the chunks' tasks are enriched
        nodes[tree.root_id]["enrich_done"] = True
    partial: State = {"nodes": nodes, "root_id": tree.root_id, "run_dir": run_dir}  # type: ignore[typeddict-item]
    spec = shape_spec(ctx)
    seeds: list[tuple[str, list[Example]]] = []
    for n in tree.preorder():
        # A shaped run's data is all of its shape: a seed example without it (a preset's plain pairs) only shows
        # the task, as the plain examples of a proposal do (graphs/proposals.py); it is neither data nor quota.
        fits = [is_data(e, spec) for e in n.examples]
        own = [e for e, fit in zip(n.examples, fits, strict=True) if fit]
        shown = [e.model_dump() for e, fit in zip(n.examples, fits, strict=True) if not fit]
        nodes[n.id]["examples"] = shown[:DEMO_POOL]
        if own:
            seeds.append((n.id, own))
    # Seeds are a person's data: kept as they are (the reference never filters them), but indexed so that
    # generated examples are compared with them.
    update, kept, _ = commit(partial, store, seeds, "seed", ctx, check=False)
    nodes = merge_by_id(nodes, kept_updates(partial, kept, seeds))
    store.write_tree(tree_of(partial, nodes), update["examples_offset"])
    queue = [n.id for n in tree.preorder() if n.depth < ctx.max_depth] if ctx.strategy == "bfs" else []
    get_stream_writer()({"event": "seeded", "nodes": len(nodes), "examples": update["examples_total"]})
    return {
        "run_dir": run_dir,
        "root_id": tree.root_id,
        "nodes": nodes,
        "cursor": tree.root_id,
        "queue": queue,
        "visits": [{"step": "start", "node": tree.root_id}],
        "enrich_round": 0,
        "status": "exploring",
        **update,
    }


load_seed = seed_node()


def is_data(example: Example, spec: ShapeSpec) -> bool:
    """Whether a seed example is committed as data (and counts toward its task's quota) in a run of `spec`:
    every one in a single run, only those of the shape in a shaped run (the plan counts seeds by it too)."""
    return spec.label == "single" or has_shape(example, spec)


def has_shape(example: Example, spec: ShapeSpec) -> bool:
    """Whether a seed example is already of the run's shape (a person may seed a conversation run with
    conversations): its `shape` field says so, else its parts do (`messages` for a conversation, `reasoning` on
    the example or on every assistant answer)."""
    extra = example.model_extra or {}
    if "shape" in extra:
        try:
            return normal_shape(str(extra["shape"])) == spec.label
        except ValueError:
            return False
    messages = extra.get("messages")
    messages = messages if isinstance(messages, list) else []
    if spec.conversation != bool(messages):
        return False
    if not spec.reasoning:
        return True
    if not spec.conversation:
        return bool(extra.get("reasoning"))
    answers = [m for m in messages if isinstance(m, dict) and m.get("role") == "assistant" and m.get("content")]
    return bool(answers) and all(m.get("reasoning") for m in answers)


def budget_gate(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Stop resumably: the run pauses here until resumed (with a larger budget, or once the provider is back)."""
    stop = stop_reason(state, runtime.context)
    if stop:
        interrupt({"kind": stop[0], "reason": stop[1], "stats": state.get("stats", {})})
    return {"status": "exploring", "provider_streak": 0}


def finish(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Write the final tree and return a compact summary (the data stays in the run directory)."""
    ctx = runtime.context
    store = store_of(state, ctx)
    tree = tree_of(state)
    store.write_tree(tree, state.get("examples_offset", 0), state.get("judgements_offset"))
    kept_per_depth: dict[str, int] = {}
    shortfall: dict[str, int] = {}
    for n in tree.preorder():
        kept, want = state["nodes"][n.id].get("kept", 0), ctx.examples_at(n.depth)
        kept_per_depth[str(n.depth)] = kept_per_depth.get(str(n.depth), 0) + kept
        if kept < want and not (ctx.strategy == "flat" and n.parent is None):  # a flat run's root asks for none
            shortfall[n.id] = want - kept
    summary = {
        "root": tree.root.name,
        "nodes_per_depth": {str(k): v for k, v in tree.nodes_per_depth().items()},
        "tasks_pruned": sum(1 for n in tree.nodes.values() if n.status == NodeStatus.PRUNED),
        "examples_per_depth": kept_per_depth,
        "examples": sum(kept_per_depth.values()),
        "shortfall": shortfall,
        "paths": {"run_dir": str(store.root), "tree": str(store.path(TREE_DIR)), "examples": str(store.path(EXAMPLES))},
    }
    get_stream_writer()({"event": "finished", **summary})
    return {"status": "done", "summary": summary, "stats": unrecorded(state.get("stats", {}), store)}
