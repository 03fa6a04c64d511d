"""Enrichment (the paper's `enrich`): examples for every accepted task, in rounds of parallel calls.

`plan_enrich` sends one `enrich_batch` per LLM call (the run's `max_concurrency` bounds how many run at
once); each batch's examples wait in `candidates` until the round's `dedup` folds them into the run in
batch-id order, so a resumed run ends exactly like an uninterrupted one. Rounds repeat until every task
has its examples or stops making progress.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from explore_instruct.graphs.accounting import calls_stats, count_rules, provider_mark, record_calls
from explore_instruct.graphs.context import Context
from explore_instruct.graphs.grounding import task_passages
from explore_instruct.graphs.ledger import commit, kept_updates
from explore_instruct.graphs.routing import spent, stop_reason
from explore_instruct.graphs.state import EnrichTask, GenerateArgs, State, merge_by_id
from explore_instruct.graphs.view import demonstrations, model_for, run_dir, tree_of
from explore_instruct.tools.dataset.runstore import RunStore
from explore_instruct.tools.generation.generate import GenerateRequest, generate
from explore_instruct.tools.generation.grounded import generate_grounded
from explore_instruct.tools.shapes.dispatch import generate_shaped, run_toolset
from explore_instruct.tools.shapes.params import shape_spec
from explore_instruct.tools.tree.model import Example


def enrich_needs(state: State, ctx: Context) -> dict[str, int]:
    """Examples still wanted per task, in preorder."""
    needs: dict[str, int] = {}
    for node in tree_of(state).preorder():
        info = state["nodes"][node.id]
        if info.get("enrich_done"):
            continue
        need = ctx.examples_at(node.depth) - info.get("kept", 0)
        if need > 0:
            needs[node.id] = need
    return needs


def plan_enrich(
    state: State, runtime: Runtime[Context]
) -> Command[Literal["enrich_batch", "plan_judge", "finish", "budget_gate"]]:
    """One `Send` per LLM call, as many as the calls budget still allows."""
    ctx = runtime.context
    if stop_reason(state, ctx):
        return Command(goto="budget_gate", update={"enrich_round": max(1, state.get("enrich_round", 0))})
    if ctx.judge and state.get("judged_offset", 0) < state.get("examples_offset", 0):
        return Command(goto="plan_judge")  # what the last round kept is judged before the next round is planned
    left = None if ctx.max_calls is None else ctx.max_calls - spent(state.get("stats", {}))[0]
    rnd = state.get("enrich_round", 0) + 1
    tree = tree_of(state)
    sends: list[Send] = []
    for node_id, need in enrich_needs(state, ctx).items():
        node = tree.node(node_id)
        parent = tree.node(node.parent) if node.parent else None
        for b in range((need + ctx.examples_per_call - 1) // ctx.examples_per_call):
            if left is not None and len(sends) >= left:
                break
            request: GenerateArgs = {
                "task": node.name,
                "task_reason": node.reason,
                "parent": parent.name if parent else None,
                "siblings": [p.name for p in tree.peers(node_id)],
                "demonstrations": [d.model_dump() for d in demonstrations(state, node_id, ctx, f"enrich:{rnd}:{b}")],
                "n": min(ctx.examples_per_call, need - b * ctx.examples_per_call),
                "flavour": ctx.flavour.value,
            }
            task: EnrichTask = {
                "batch_id": f"r{rnd:04d}:{node_id}:{b:04d}",
                "node_id": node_id,
                "run_dir": run_dir(state, ctx),
                "request": request,
            }
            sends.append(Send("enrich_batch", task))
    if not sends:
        return Command(goto="finish", update={"status": "finishing"})
    get_stream_writer()({"event": "enrich_round", "round": rnd, "calls": len(sends)})
    return Command(goto=sends, update={"enrich_round": rnd, "status": "enriching"})


async def enrich_batch(state: EnrichTask, runtime: Runtime[Context]) -> dict[str, Any]:
    """One generation call (`state` is the `Send` payload); its examples wait in `candidates` for the dedup."""
    ctx, task = runtime.context, state
    req = task["request"]
    ask = GenerateRequest(
        task=req["task"],
        task_reason=req["task_reason"],
        parent=req["parent"],
        siblings=req["siblings"],
        demonstrations=[Example.model_validate(d) for d in req["demonstrations"]],
        n=req["n"],
        flavour=ctx.flavour,
        profile=ctx.profile,
        quality=ctx.quality(),
    )
    if ctx.docs:  # grounded: the task's chunks in the prompt, every example citing a verified quote
        shown = await task_passages(ctx, req["task"], req["task_reason"], task["batch_id"])
        result = await generate_grounded(model_for(ctx), ask, shown, model_label=ctx.model)
    elif shape_spec(ctx).label == "single":
        result = await generate(model_for(ctx), ask, model_label=ctx.model)
    else:  # the run's shape (tools/shapes/): reasoning, a conversation, calls to the run's tools
        spec, at = shape_spec(ctx), ctx.run_dir or task["run_dir"]
        toolset = await run_toolset(ctx, at) if spec.kind == "tool_calls" else None
        result = await generate_shaped(model_for(ctx), ask, spec, toolset, model_label=ctx.model)
    store = RunStore(ctx.run_dir or task["run_dir"])
    where = {"node_id": task["node_id"], "batch": task["batch_id"]}
    await asyncio.to_thread(record_calls, store, result.calls, result.skipped, ctx.model, "generate", **where)
    get_stream_writer()(
        {
            "event": "generated",
            "node": task["node_id"],
            "examples": len(result.examples),
            "tokens": sum(c.output_tokens for c in result.calls),
        }
    )
    mark = provider_mark(result.calls)
    return {
        **({"provider_streak": mark} if mark is not None else {}),
        "candidates": {
            task["batch_id"]: {"node_id": task["node_id"], "examples": [e.model_dump() for e in result.examples]}
        },
        "stats": calls_stats(result.calls, ctx.model) | {"drops": count_rules(s.rule for s in result.skipped)},
    }


def round_outcome(state: State, ctx: Context, rounds: dict[str, tuple[int, int]]) -> dict[str, dict[str, Any]]:
    """Per task (gained this round, kept in all): calls in a row that added nothing, and whether it is done."""
    out: dict[str, dict[str, Any]] = {}
    for node_id, (gain, total) in rounds.items():
        info = state["nodes"][node_id]
        fruitless = 0 if gain else info.get("enrich_fruitless", 0) + 1
        done = total >= ctx.examples_at(info["depth"]) or fruitless >= ctx.max_fruitless
        out[node_id] = {"enrich_fruitless": fruitless, "enrich_done": done}
    return out


def dedup(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Fold the round's candidates into the run in a fixed order, so a resumed run ends the same."""
    ctx = runtime.context
    store = RunStore(run_dir(state, ctx))
    candidates = state.get("candidates", {})
    batches = [
        (c["node_id"], [Example.model_validate(e) for e in c["examples"]]) for _, c in sorted(candidates.items())
    ]
    update, kept, dropped = commit(state, store, batches, f"r{state.get('enrich_round', 0)}", ctx)
    nodes = kept_updates(state, kept, batches)
    # With a judge, what a task gained this round is known only once its examples are judged (judge_fold).
    settled = {n for n, _ in batches} if not ctx.judge else {n for n, _ in batches if not kept.get(n)}
    rounds = {n: (kept.get(n, 0), state["nodes"][n].get("kept", 0) + kept.get(n, 0)) for n in settled}
    nodes = merge_by_id(nodes, round_outcome(state, ctx, rounds))
    tree = tree_of(state, merge_by_id(state["nodes"], nodes))
    store.write_tree(tree, update["examples_offset"], state.get("judgements_offset"))
    get_stream_writer()({"event": "kept", "kept": sum(kept.values()), "dropped": len(dropped)})
    return {
        "nodes": nodes,
        "candidates": dict.fromkeys(candidates),
        "stats": {
            "examples_kept": sum(kept.values()),
            "drops": {"similar_instruction": len(dropped)} if dropped else {},
        },
        **update,
    }
