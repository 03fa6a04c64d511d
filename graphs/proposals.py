"""Proposing subtasks and deciding which become tasks: the call, a person's review, the similarity check.

Lookahead and backtracking (and BFS's `extend_worker`) differ only in the target they propose children
for; all three plan a `ProposeTask` from the state and run it here. Proposals wait in the state's
`proposals` until `similarity_check` accepts or prunes each one against every accepted task of the tree.
"""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from explore_instruct.graphs.accounting import calls_stats, count_rules, provider_mark, record_calls
from explore_instruct.graphs.context import Context
from explore_instruct.graphs.grounding import decompose_grounding, ground_subtasks
from explore_instruct.graphs.indexes import name_index, task_text
from explore_instruct.graphs.ledger import commit, kept_updates
from explore_instruct.graphs.routing import room
from explore_instruct.graphs.state import DecomposeArgs, ProposeTask, State, merge_by_id
from explore_instruct.graphs.view import accepted_children, demonstrations, model_for, node_state, run_dir, tree_of
from explore_instruct.tools.dataset.runstore import DROPPED, RunStore
from explore_instruct.tools.generation.decompose import DecomposeRequest, DecomposeResult, Skip, decompose, room_for
from explore_instruct.tools.generation.pool import SAMPLES, choose_spread, first_level, sample_decompositions
from explore_instruct.tools.shapes.params import shape_spec
from explore_instruct.tools.similarity.embeddings import make_embedder, relevance
from explore_instruct.tools.similarity.indexes import Item
from explore_instruct.tools.tree.model import Example, NodeStatus, Origin

# ---- the call -------------------------------------------------------------------------------------


def plan_proposal(state: State, target_id: str, origin: Origin, k: int, ctx: Context) -> ProposeTask:
    """Everything one decomposition call needs, read from the state now (a `Send` carries only this)."""
    tree = tree_of(state)
    target = tree.node(target_id)
    calls = state["nodes"][target_id].get("extend_calls", 0)
    request: DecomposeArgs = {
        "target": target.name,
        "target_reason": target.reason,
        "existing_children": [c.name for c in tree.children(target_id)],
        "peers": [p.name for p in tree.peers(target_id)],
        "demonstrations": [d.model_dump() for d in demonstrations(state, target_id, ctx, f"{origin}:{calls}")],
        "k": k,
        "examples_per_subtask": ctx.examples_per_subtask,
        "max_children": ctx.max_children,
        "parent": tree.node(target.parent).name if target.parent else None,
        "root": tree.root.name,
        "path": [tree.node(a).name for a in ancestors(tree, target_id)],
    }
    if ctx.docs:  # grounded: the target's chunks (lookahead) or chunks no task covers yet (backtracking)
        request["grounding"] = decompose_grounding(state, target_id, origin, ctx)
    where = {"target": target_id, "origin": origin.value, "run_dir": run_dir(state, ctx)}
    seeded = any(c.origin == Origin.SEED for c in tree.children(target_id))  # a preset's or a seed's first level
    return {**where, "extend_calls": calls, "seeded": seeded, "request": request}  # type: ignore[typeddict-item]


async def run_proposal(task: ProposeTask, ctx: Context) -> dict[str, Any]:
    """One decomposition call; its subtasks wait in `proposals` for the similarity check."""
    target, origin = task["target"], task["origin"]
    args = task["request"]
    req = DecomposeRequest(
        **{**args, "demonstrations": [Example.model_validate(d) for d in args["demonstrations"]]},  # type: ignore[arg-type]
        flavour=ctx.flavour,
        profile=ctx.profile,
        quality=ctx.quality(),
    )
    # The first level comes first in a run, so its samples fit a calls budget as the run's opening calls.
    samples = SAMPLES if ctx.max_calls is None else min(SAMPLES, ctx.max_calls)
    pooled = pools_first_level(ctx) and first_level(req.parent, task.get("seeded", False), samples, req)
    if pooled:  # a bare sentence's first level: several samples, ranked below (self-consistency)
        result = await sample_decompositions(model_for(ctx), req, samples, model_label=ctx.model)
    else:
        result = await decompose(model_for(ctx), req, model_label=ctx.model)
    scores: dict[str, dict[str, float]] = {}
    if relevance_rule(ctx) and result.subtasks:
        result, scores = await asyncio.to_thread(drop_off_topic, result, req, ctx)
    grounded: dict[str, dict[str, Any]] = {}
    if ctx.docs:  # grounded: a subtask the corpus cannot answer is dropped (ungrounded_task)
        result, grounded = await asyncio.to_thread(ground_subtasks, result, ctx)
    if pooled:
        embed = make_embedder(ctx.embedder)
        root, existing = req.root or req.target, list(req.existing_children)
        result = await asyncio.to_thread(choose_spread, result, room_for(req), embed, root, existing)
    proposals: list[dict[str, Any]] = [
        {
            "target": target,
            "origin": origin,
            "name": s.name,
            "reason": s.reason,
            "examples": [e.model_dump() for e in s.examples],
            **({"relevance": scores[s.name]} if s.name in scores else {}),
            **({"proposed_as": s.proposed_as} if s.proposed_as else {}),
            **grounded.get(s.name, {}),
        }
        for s in result.subtasks
    ]
    if not result.subtasks:
        proposals.append({"target": target, "origin": origin, "empty": True})
    update: dict[str, Any] = {
        "nodes": {target: {"extend_calls": task["extend_calls"] + 1, "asked": args["k"]}},
        "proposals": proposals,
    }
    calls = result.calls
    # File writes leave the event loop: parallel LLM calls keep running while one task logs.
    store = RunStore(task["run_dir"])
    await asyncio.to_thread(
        record_calls, store, calls, result.skipped, ctx.model, "decompose", target=target, origin=origin
    )
    if calls:
        update["stats"] = calls_stats(calls, ctx.model) | {"drops": count_rules(s.rule for s in result.skipped)}
        update["provider_streak"] = provider_mark(calls)
    get_stream_writer()(
        {"event": "proposed", "origin": origin, "target": target, "subtasks": [s.name for s in result.subtasks]}
    )
    return update


# ---- relevance ------------------------------------------------------------------------------------


def ancestors(tree: Any, node_id: str) -> list[str]:
    """The ids from the root down to the node's parent: the path the prompts show."""
    path: list[str] = []
    parent = tree.node(node_id).parent
    while parent is not None:
        path.append(parent)
        parent = tree.node(parent).parent
    return path[::-1]


def relevance_rule(ctx: Context) -> bool:
    """Whether proposals are scored for relevance (with the offline embedder, whatever the similarity mode).

    With embedding similarity, always. Otherwise for the compact profile: small models drift, and there the rule's
    false drops (MiniLM scores "explaining how to reset a password" 0.11 against customer support replies) cost
    less than the drift it stops; a capable model on the full profile rarely drifts, so it keeps the rule it had.
    Unset `min_relevance` turns the rule off; a run from before the root rule (`min_root_relevance` unset, LEGACY)
    keeps its old rule: embedding similarity only."""
    if ctx.min_relevance is None:
        return False
    return ctx.similarity == "embedding" or (ctx.min_root_relevance is not None and ctx.profile == "compact")


def pools_first_level(ctx: Context) -> bool:
    """The pooled first level is for small models (the compact profile), whose single draw drifts; it is ranked by
    relevance, so it comes with the rule, and not to runs from before it."""
    return ctx.profile == "compact" and ctx.min_root_relevance is not None and relevance_rule(ctx)


def drop_off_topic(
    result: DecomposeResult, req: DecomposeRequest, ctx: Context
) -> tuple[DecomposeResult, dict[str, dict[str, float]]]:
    """Subtasks whose name is barely about the task they split, or about the domain (a small model's drift), become
    drops; every proposal's scores are returned, to travel with it, and written with each drop."""
    embed = make_embedder(ctx.embedder)
    names = [s.name for s in result.subtasks]
    to_task = relevance(embed, req.target, names)
    root = req.root or req.target
    to_root = to_task if root == req.target else relevance(embed, root, names)
    kept, off, scores = [], [], {}
    for s, task, dom in zip(result.subtasks, to_task, to_root, strict=True):
        scores[s.name] = {"task": round(task, 4), "root": round(dom, 4)}
        why = []
        # Barely about its task and about the domain: drift. About the domain but not its task: misplaced, yet on
        # the domain, so kept (a drifted parent must not take its on-domain children down with it).
        if ctx.min_relevance is not None and max(task, dom) < ctx.min_relevance:
            why.append(f"relevance to the task {task:.2f} and to the domain {dom:.2f} < {ctx.min_relevance}")
        if ctx.min_root_relevance is not None and dom < ctx.min_root_relevance:
            why.append(f"relevance to the domain {dom:.2f} < {ctx.min_root_relevance}")
        if why:
            item = {"name": s.name, "relevance": round(task, 4), "root_relevance": round(dom, 4)}
            off.append(Skip("subtask", "off_topic", "; ".join(why), item))
        else:
            kept.append(s)
    return DecomposeResult(kept, result.skipped + off, result.call, result.more_calls), scores


# ---- a person's review ----------------------------------------------------------------------------


def review(state: State) -> dict[str, Any]:
    """Pause so a person can accept, rename or reject each proposed subtask.

    Resume with `{"reject": [names], "rename": {old: new}}`; anything not mentioned is accepted.
    """
    real = [p for p in state.get("proposals", []) if not p.get("empty")]
    if not real:
        return {}
    decision = interrupt(
        {
            "kind": "review_subtasks",
            "proposals": [{"target": p["target"], "name": p["name"], "reason": p["reason"]} for p in real],
        }
    )
    decision = decision if isinstance(decision, dict) else {}
    reject = set(decision.get("reject", []))
    rename = dict(decision.get("rename", {}))
    kept: list[dict[str, Any] | None] = [None]
    for p in state["proposals"]:
        if p.get("empty"):
            kept.append(p)
        elif p["name"] in reject:
            kept.append({**p, "examples": [], "rejected_by": "review"})
        else:
            kept.append({**p, "name": str(rename.get(p["name"], p["name"]))})
    return {"proposals": kept}


# ---- the similarity check -------------------------------------------------------------------------


def similarity_check(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Accept a proposal only if no accepted task anywhere in the tree is too similar to it."""
    ctx = runtime.context
    store = RunStore(run_dir(state, ctx))
    tree = tree_of(state)
    names = name_index(store, ctx, tree)
    new_nodes: dict[str, dict[str, Any]] = {}
    accepted: dict[str, int] = {}  # per target, in the order targets appear in the tree
    to_commit: list[tuple[str, list[Example]]] = []
    queue_add: list[str] = []
    pruned = 0
    shaped = shape_spec(ctx).label != "single"
    order = list(state["nodes"])
    for p in sorted(state.get("proposals", []), key=lambda p: order.index(p["target"])):
        target = p["target"]
        accepted.setdefault(target, 0)
        if p.get("empty"):
            continue
        status, why = NodeStatus.PRUNED, "rejected in review"  # type: NodeStatus, str | None
        if not p.get("rejected_by"):
            node_id = tree.unique_id(p["name"])
            text = task_text(p["name"], p["reason"], ctx)
            (match,) = names.greedy([Item(id=node_id, text=text, seq=len(tree.nodes))])
            status = NodeStatus.ACCEPTED if match.keep else NodeStatus.PRUNED
            why = None if match.keep else f"similar to {match.nearest_text!r} (score {match.score:.2f})"
            if not match.keep:
                row = {"stage": "similarity_check", "rule": "similar_task", "name": p["name"], "target": target}
                row |= {"relevance": p["relevance"]} if "relevance" in p else {}
                near = {"nearest_id": match.nearest_id, "nearest": match.nearest_text, "score": round(match.score, 4)}
                store.append_jsonl(DROPPED, [row | near])
        # What the tree keeps beside the name: relevance scores, and the name as written when a cut-off was trimmed.
        meta = {key: p[key] for key in ("relevance", "proposed_as") if key in p}
        scored = {"meta_extra": meta} if meta else None
        node = tree.add_child(
            target, p["name"], reason=p["reason"], origin=Origin(p["origin"]), status=status, status_reason=why,
            extra=scored,
        )  # fmt: skip
        # A run of another shape than single writes its examples in enrichment, in that shape: the plain examples
        # a subtask is proposed with only show the task (its demonstrations).
        shown = p["examples"] if shaped else []
        new_nodes[node.id] = node_state(node, examples=shown, kept=0)
        new_nodes[target] = {"children": list(tree.node(target).children)}
        if status == NodeStatus.ACCEPTED:
            accepted[target] += 1
            if not shaped:
                to_commit.append((node.id, [Example.model_validate(e) for e in p["examples"]]))
            if node.depth < ctx.max_depth:
                queue_add.append(node.id)
        else:
            pruned += 1
            get_stream_writer()({"event": "pruned", "name": p["name"], "why": why})
    for target, n in accepted.items():
        old = state["nodes"][target]
        fruitless = 0 if n else old.get("fruitless", 0) + 1
        # `short`: the call added fewer tasks than it asked for; a lookahead that came back short is tried once more
        # before the cursor descends (routing.route).
        widened = {
            "new_children": old.get("new_children", 0) + n,
            "fruitless": fruitless,
            "short": n < old.get("asked", 0),
        }
        new_nodes[target] = {**new_nodes.get(target, {}), **widened}
    merged: State = {**state, "nodes": merge_by_id(state["nodes"], new_nodes)}
    update, kept, dropped = commit(merged, store, to_commit, "x", ctx)
    new_nodes = merge_by_id(new_nodes, kept_updates(merged, kept, to_commit))
    out: dict[str, Any] = {
        "nodes": new_nodes,
        "proposals": [None],
        "stats": {"tasks_pruned": pruned, "drops": {"similar_instruction": len(dropped)} if dropped else {}},
        **update,
    }
    if ctx.strategy == "bfs":
        # Tasks that still have room go round again before the next level; new tasks join the back.
        again = [t for t in accepted if room(merged["nodes"][t], len(accepted_children(merged, t)), ctx)]
        out["queue"] = again + list(state.get("queue", [])) + queue_add
    tree = tree_of(state, merge_by_id(state["nodes"], new_nodes))
    store.write_tree(tree, update["examples_offset"], state.get("judgements_offset"))
    return out
