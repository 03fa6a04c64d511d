"""The exploration state machine: lookahead and backtracking over a domain tree, then enrichment.

Read it top to bottom:
1. `load_seed` builds the tree from a sentence or a seed and puts the cursor on the root.
2. `choose` is where the cursor decides; `route` (a pure function of the state) names the transition:
   - **lookahead**: decompose the cursor's task into finer subtasks (depth + 1);
   - **descend**: move the cursor into the next child not yet visited;
   - **backtracking**: move up to the parent and ask for alternative sibling branches (widening);
   - **expand_level** (BFS only): extend a whole level of the queue at once, fanned out with `Send`;
   - **budget_gate**: a budget cap was reached; pause resumably;
   - **plan_enrich**: exploration is over.
3. Every proposal passes **similarity_check** (optionally a person's **review** first) before it becomes
   a task; rejected ones are recorded as pruned and never explored, enriched or sampled.
4. `plan_enrich` fans out one `enrich_batch` per LLM call with `Send`; `dedup` folds each round into the
   run directory; rounds repeat until every task has its examples or stops making progress.
5. `finish` writes the tree and returns a compact summary.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
from pathlib import Path
from typing import Any, Literal

from langgraph.config import get_config, get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, RetryPolicy, Send, interrupt

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.state import InputState, OutputState, State
from explore_instruct.tools.decompose import DecomposeRequest, decompose
from explore_instruct.tools.embeddings import ChromaIndex, chroma_client, make_embedder
from explore_instruct.tools.generate import GenerateRequest, generate
from explore_instruct.tools.llm import cost_usd, shared_chat_model
from explore_instruct.tools.runstore import (
    BAD_COMPLETIONS,
    CHROMA_DIR,
    DROPPED,
    QUERY_LOG,
    ExampleRecord,
    RunStore,
)
from explore_instruct.tools.seeds import domain_tree_from_sentence
from explore_instruct.tools.seeds import load_seed as load_seed_tree
from explore_instruct.tools.similarity import Item, Match, Scope, SimilarityIndex, memory_index
from explore_instruct.tools.structured import CallRecord
from explore_instruct.tools.tree import DomainTree, Example, NodeStatus, Origin, TaskNode

DEMO_POOL = 8
# Only faults a rerun can fix; malformed replies are handled (and recorded) inside the tools.
LLM_RETRY = RetryPolicy(max_attempts=3, initial_interval=1.0, jitter=True, retry_on=(ConnectionError, TimeoutError))

# ---- reading the state ----------------------------------------------------------------------------


def tree_of(state: State) -> DomainTree:
    return DomainTree(
        root_id=state["root_id"], nodes={k: TaskNode.model_validate(v) for k, v in state["nodes"].items()}
    )


def room(node: dict[str, Any], n_children: int, ctx: Context) -> int:
    """How many more children exploration may still give this task."""
    if node.get("status") == NodeStatus.PRUNED or node.get("fruitless", 0) >= ctx.max_fruitless:
        return 0
    wanted = ctx.breadth_at(node["depth"]) - node.get("new_children", 0)
    return max(0, min(wanted, ctx.max_children - n_children))


def accepted_children(state: State, node_id: str) -> list[dict[str, Any]]:
    nodes = state["nodes"]
    return [nodes[c] for c in nodes[node_id]["children"] if nodes[c]["status"] == NodeStatus.ACCEPTED]


def stop_reason(state: State, ctx: Context) -> tuple[str, str] | None:
    """(kind, reason) when the run must pause: a budget is spent, or the provider keeps refusing."""
    budget = over_budget(state.get("stats", {}), ctx)
    if budget:
        return "budget", budget
    if state.get("provider_streak", 0) >= ctx.max_provider_failures:
        return "provider", (
            f"the model provider failed {state.get('provider_streak')} calls in a row after retries "
            f"(faults so far: {state.get('stats', {}).get('faults', {})}); resume when it is back"
        )
    return None


def provider_mark(records: list[CallRecord]) -> int | None:
    """The streak update for one task's calls: 1 if the provider refused, 0 if it answered, None if no call."""
    if not records:
        return None
    return 1 if all(r.error_kind == "api" for r in records) else 0


def over_budget(stats: dict[str, Any], ctx: Context) -> str | None:
    if ctx.max_calls is not None and stats.get("calls", 0) >= ctx.max_calls:
        return f"max_calls {ctx.max_calls} reached"
    tokens = stats.get("input_tokens", 0) + stats.get("output_tokens", 0)
    if ctx.max_tokens is not None and tokens >= ctx.max_tokens:
        return f"max_tokens {ctx.max_tokens} reached"
    if ctx.max_cost_usd is not None and stats.get("cost_usd", 0.0) >= ctx.max_cost_usd:
        return f"max_cost_usd {ctx.max_cost_usd} reached"
    return None


# ---- the router: one small pure function ----------------------------------------------------------

Transition = Literal["lookahead", "descend", "backtracking", "expand_level", "budget_gate", "plan_enrich"]


def route(state: State, ctx: Context) -> Transition:
    if stop_reason(state, ctx):
        return "budget_gate"
    if ctx.strategy == "bfs":
        return "expand_level" if state.get("queue") else "plan_enrich"
    cursor = state["nodes"][state["cursor"]]  # type: ignore[index]
    kids = accepted_children(state, cursor["id"])
    # A lookahead that added nothing (empty reply, all pruned or rejected) is retried until max_fruitless;
    # otherwise one bad decomposition of the root would end the whole exploration.
    if (
        (not cursor.get("extended") or not kids)
        and cursor["depth"] < ctx.max_depth
        and room(cursor, len(kids), ctx) > 0
    ):
        return "lookahead"
    if any(not k.get("entered") for k in kids):
        return "descend"
    if cursor["parent"] is None:
        return "plan_enrich"
    return "backtracking"


# ---- helpers the nodes share ----------------------------------------------------------------------


def chat_model(ctx: Context) -> Any:
    return ctx.chat_model if ctx.chat_model is not None else shared_chat_model(ctx.model_spec())


def demonstrations(state: State, node_id: str, ctx: Context, salt: str) -> list[Example]:
    """A seeded random pick from the task's own examples, else its parent's."""
    node = state["nodes"][node_id]
    pool = node.get("examples") or (state["nodes"][node["parent"]].get("examples") if node["parent"] else None) or []
    rng = random.Random(f"{ctx.seed}:{node_id}:{salt}")
    picked = rng.sample(pool, min(ctx.demonstrations, len(pool)))
    return [Example.model_validate(e) for e in picked]


def call_stats(record: CallRecord, model: str) -> dict[str, Any]:
    stats: dict[str, Any] = {
        "calls": 1,
        "llm_requests": record.attempts,
        "calls_ok": int(record.ok),
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
        "latency_s": round(record.latency_s, 3),
    }
    cost = cost_usd(model, record.input_tokens, record.output_tokens)
    if cost is None:
        stats["cost_unknown_calls"] = 1
    else:
        stats["cost_usd"] = cost
    if record.error_kind:
        stats["faults"] = {record.error_kind: 1}
    return stats


def log_call(store: RunStore, record: CallRecord, **where: Any) -> None:
    row = {**where, **record.as_dict()}
    raw = row.pop("raw_text", None)
    store.append_jsonl(QUERY_LOG, [row])
    if not record.ok:
        store.append_jsonl(
            BAD_COMPLETIONS, [{**where, "error_kind": record.error_kind, "error": record.error, "raw": raw}]
        )


def decompose_request(state: State, target_id: str, k: int, ctx: Context, salt: str) -> DecomposeRequest:
    tree = tree_of(state)
    target = tree.node(target_id)
    return DecomposeRequest(
        target=target.name,
        target_reason=target.reason,
        existing_children=[c.name for c in tree.children(target_id)],
        peers=[p.name for p in tree.peers(target_id)],
        demonstrations=demonstrations(state, target_id, ctx, salt),
        k=k,
        examples_per_subtask=ctx.examples_per_subtask,
        max_children=ctx.max_children,
        flavour=ctx.flavour,
    )


async def propose(state: State, target_id: str, origin: Origin, k: int, ctx: Context) -> dict[str, Any]:
    """One decomposition call whose subtasks wait in `proposals` for the similarity check."""
    salt = f"{origin}:{state['nodes'][target_id].get('extend_calls', 0)}"
    req = decompose_request(state, target_id, k, ctx, salt)
    result = await decompose(chat_model(ctx), req, model_label=ctx.model)
    store = RunStore(state["run_dir"])
    update: dict[str, Any] = {
        "nodes": {target_id: {"extend_calls": state["nodes"][target_id].get("extend_calls", 0) + 1}},
        "proposals": [
            {
                "target": target_id,
                "origin": origin.value,
                "name": s.name,
                "reason": s.reason,
                "examples": [e.model_dump() for e in s.examples],
            }
            for s in result.subtasks
        ],
    }
    if not result.subtasks:
        update["proposals"].append({"target": target_id, "origin": origin.value, "empty": True})
    # File writes leave the event loop: parallel LLM calls keep running while one task logs.
    await asyncio.to_thread(record_decompose, store, result.skipped, result.call, target=target_id, origin=origin.value)
    if result.call is not None:
        update["stats"] = call_stats(result.call, ctx.model) | {"drops": _count_rules(s.rule for s in result.skipped)}
        update["provider_streak"] = provider_mark([result.call])
    get_stream_writer()(
        {
            "event": "proposed",
            "origin": origin.value,
            "target": target_id,
            "subtasks": [s.name for s in result.subtasks],
        }
    )
    return update


def record_decompose(store: RunStore, skipped: list[Any], call: CallRecord | None, **where: Any) -> None:
    if skipped:
        store.append_jsonl(DROPPED, [{"stage": "decompose", **where, **s.__dict__} for s in skipped])
    if call is not None:
        log_call(store, call, purpose="decompose", **where)


def record_generate(store: RunStore, result: Any, payload: dict[str, Any]) -> None:
    for call in result.calls:
        log_call(store, call, purpose="generate", node_id=payload["node_id"], batch=payload["batch_id"])
    if result.skipped:
        store.append_jsonl(
            DROPPED, [{"stage": "generate", "node_id": payload["node_id"], **s.__dict__} for s in result.skipped]
        )


def _count_rules(rules: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rules:
        out[r] = out.get(r, 0) + 1
    return out


_INDEXES: dict[str, tuple[int, SimilarityIndex]] = {}


def _index_key(store: RunStore, ctx: Context, kind: str) -> str:
    return f"{store.root.resolve()}|{kind}|{ctx.similarity}|{ctx.dedup_scope}|{ctx.filter_at}|{ctx.prune_at}"


def instruction_index(state: State, store: RunStore, ctx: Context) -> SimilarityIndex:
    """The kept instructions as of the last checkpoint; anything a killed step added is rolled back."""
    seq = state.get("example_seq", 0)
    key = _index_key(store, ctx, "instructions")
    cached = _INDEXES.get(key)
    if ctx.similarity == "embedding":
        index = (
            cached[1] if cached else _chroma_index(state, store, ctx, "instructions", ctx.filter_at, ctx.dedup_scope)
        )
        index.rollback(seq)
        if len(index) < state.get("examples_total", 0):  # a new or emptied collection: add what is missing
            have = index.ids()  # type: ignore[attr-defined]
            index.add([_item(r) for r in store.iter_examples(state.get("examples_offset", 0)) if r.id not in have])
    elif cached and cached[0] == seq:
        index = cached[1]
    else:
        index = memory_index(ctx.similarity, ctx.filter_at, ctx.dedup_scope)
        index.add([_item(r) for r in store.iter_examples(state.get("examples_offset", 0))])
    _INDEXES[key] = (seq, index)
    return index


def _chroma_index(
    state: State, store: RunStore, ctx: Context, kind: str, threshold: float, scope: Scope
) -> ChromaIndex:
    """This run's collection of `kind`: on disk in the run directory, or on the configured Chroma server."""
    client = chroma_client(str(store.path(CHROMA_DIR)), ctx.chroma_host, ctx.chroma_port)
    return ChromaIndex(client, _collection_name(state, kind), make_embedder(ctx.embedder), threshold, scope)


def _collection_name(state: State, kind: str) -> str:
    """Chroma names: 3-512 chars of [a-zA-Z0-9._-]; one collection per run (and kind) on a shared server."""
    run = re.sub(r"[^a-zA-Z0-9._-]", "-", Path(state["run_dir"]).resolve().name)[:200].strip("-._") or "run"
    return f"ei-{kind}-{run}-{hashlib.sha1(str(Path(state['run_dir']).resolve()).encode()).hexdigest()[:10]}"


def _item(rec: ExampleRecord) -> Item:
    return Item(id=rec.id, text=rec.example.instruction, seq=rec.seq, group=rec.node_id)


def commit(
    state: State,
    store: RunStore,
    batches: list[tuple[str, list[Example]]],
    seq_key: str,
    ctx: Context,
    *,
    check: bool = True,
) -> tuple[dict[str, Any], dict[str, int], list[dict[str, Any]]]:
    """Dedup examples in order against everything kept, append the kept ones; idempotent on rerun.

    Every candidate gets the next sequence number, kept or not, so ids and seqs are the same on a replay.
    """
    offset = state.get("examples_offset", 0)
    base = state.get("example_seq", 0)
    index = instruction_index(state, store, ctx)
    # Until this commit lands the index is ahead of the file: if it fails (a full disk), a rerun of the step in
    # this process must not reuse it, or the step's own examples would count as duplicates of themselves.
    _INDEXES[_index_key(store, ctx, "instructions")] = (-1, index)
    flat = [(node_id, ex) for node_id, exs in batches for ex in exs]
    items = [
        Item(id=f"{node_id}:{seq_key}:{base + i}", text=ex.instruction, seq=base + i, group=node_id)
        for i, (node_id, ex) in enumerate(flat)
    ]
    if check:
        matches = index.greedy(items)
    else:
        index.add(items)
        matches = [Match(True)] * len(items)
    records: list[ExampleRecord] = []
    kept: dict[str, int] = {}
    dropped: list[dict[str, Any]] = []
    for item, (node_id, ex), match in zip(items, flat, matches, strict=True):
        if not match.keep:
            dropped.append(
                {
                    "stage": "dedup",
                    "node_id": node_id,
                    "rule": "similar_instruction",
                    "instruction": ex.instruction,
                    "nearest_id": match.nearest_id,
                    "nearest": match.nearest_text,
                    "score": round(match.score, 4),
                }
            )
            continue
        depth = state["nodes"][node_id]["depth"] if node_id in state["nodes"] else 0
        records.append(ExampleRecord(id=item.id, node_id=node_id, example=ex, depth=depth, seq=item.seq))
        kept[node_id] = kept.get(node_id, 0) + 1
    new_offset = store.commit_examples(records, offset)
    new_seq = base + len(items)
    _INDEXES[_index_key(store, ctx, "instructions")] = (new_seq, index)
    if dropped:
        store.append_jsonl(DROPPED, dropped)
    update = {
        "examples_offset": new_offset,
        "example_seq": new_seq,
        "examples_total": state.get("examples_total", 0) + len(records),
    }
    return update, kept, dropped


def name_index(state: State, store: RunStore, ctx: Context, tree: DomainTree) -> SimilarityIndex:
    """Every accepted task of the tree, for the similarity check of new proposals."""

    def text(n: TaskNode) -> str:
        return f"{n.name}: {n.reason}" if ctx.prune_with_reason and n.reason else n.name

    items = [Item(id=n.id, text=text(n), seq=i) for i, n in enumerate(tree.preorder())]
    if ctx.similarity != "embedding":
        index = memory_index(ctx.similarity, ctx.prune_at, "tree")
        index.add(items)
        return index
    key = _index_key(store, ctx, "tasks")
    cached = _INDEXES.get(key)
    chroma = cached[1] if cached else _chroma_index(state, store, ctx, "tasks", ctx.prune_at, "tree")
    assert isinstance(chroma, ChromaIndex)
    have, want = chroma.ids(), {i.id for i in items}
    if have - want:
        chroma.collection.delete(ids=sorted(have - want))
    chroma.add([i for i in items if i.id not in have])
    _INDEXES[key] = (0, chroma)
    return chroma


def node_updates_for_kept(state: State, kept: dict[str, int], batches: list[tuple[str, list[Example]]]) -> dict:
    out: dict[str, dict[str, Any]] = {}
    for node_id, n in kept.items():
        node = state["nodes"][node_id]
        pool = list(node.get("examples", []))
        for nid, exs in batches:
            if nid == node_id:
                pool.extend(e.model_dump() for e in exs[: max(0, DEMO_POOL - len(pool))])
        out[node_id] = {"kept": node.get("kept", 0) + n, "examples": pool[:DEMO_POOL]}
    return out


def node_state(node: TaskNode, **flags: Any) -> dict[str, Any]:
    return node.model_dump(mode="json") | flags


# ---- 1. seed ------------------------------------------------------------------------------------


def load_seed(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    source = state.get("seed") or state.get("domain")
    if not source:
        raise ValueError("input: give 'domain' (a sentence) or 'seed' (a seed file or tree directory)")
    tree = load_seed_tree(source) if state.get("seed") else domain_tree_from_sentence(source)
    thread_id = get_config().get("configurable", {}).get("thread_id")
    run_dir = ctx.run_dir or f"{ctx.runs_root}/{thread_id or tree.root_id}"
    store = RunStore(run_dir).ensure()
    store.write_meta(
        {
            "input": {k: state[k] for k in ("domain", "seed") if k in state},
            "context": ctx.public(),
        }
    )
    nodes = {
        n.id: node_state(n, examples=[], kept=0, entered=n.parent is None) for n in tree.preorder(include_pruned=True)
    }
    partial: State = {
        "nodes": nodes,
        "root_id": tree.root_id,
        "run_dir": run_dir,  # type: ignore[typeddict-item]
        "examples_offset": 0,
        "example_seq": 0,
        "examples_total": 0,
    }
    seeds = [(n.id, n.examples) for n in tree.preorder() if n.examples]
    # Seeds are a person's data: kept as they are (the reference never filters them), but indexed so that
    # generated examples are compared with them.
    update, kept, _ = commit(partial, store, seeds, "seed", ctx, check=False)
    nodes = {**nodes, **{k: {**nodes[k], **v} for k, v in node_updates_for_kept(partial, kept, seeds).items()}}
    store.write_tree(tree_of({**partial, "nodes": nodes}), update["examples_offset"])
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


# ---- 2. the cursor decides ------------------------------------------------------------------------


def choose(state: State) -> dict[str, Any]:
    """Where the cursor stands still; the edge out of here is the transition `route` picks."""
    return {}


def route_from_choose(state: State, runtime: Runtime[Context]) -> Transition:
    return route(state, runtime.context)


async def lookahead(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Go deeper: decompose the cursor's task into finer subtasks."""
    ctx = runtime.context
    cursor = state["cursor"]
    assert cursor is not None
    node = state["nodes"][cursor]
    k = min(ctx.subtasks_per_call, room(node, len(accepted_children(state, cursor)), ctx))
    update = await propose(state, cursor, Origin.LOOKAHEAD, k, ctx)
    update["nodes"][cursor]["extended"] = True
    update["visits"] = [{"step": "lookahead", "node": cursor}]
    return update


def descend(state: State) -> dict[str, Any]:
    """Move the cursor into the next child nobody has visited yet."""
    assert state["cursor"] is not None
    child = next(k for k in accepted_children(state, state["cursor"]) if not k.get("entered"))
    get_stream_writer()({"event": "visit", "node": child["id"], "depth": child["depth"]})
    return {
        "cursor": child["id"],
        "nodes": {child["id"]: {"entered": True}},
        "visits": [{"step": "descend", "node": child["id"]}],
    }


async def backtracking(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Go wider: return to the parent and ask for alternative siblings that do not overlap the existing ones."""
    ctx = runtime.context
    assert state["cursor"] is not None
    parent_id = state["nodes"][state["cursor"]]["parent"]
    parent = state["nodes"][parent_id]
    k = min(ctx.subtasks_per_call, room(parent, len(accepted_children(state, parent_id)), ctx))
    update: dict[str, Any] = {"cursor": parent_id, "visits": [{"step": "backtracking", "node": parent_id}]}
    if k > 0 and parent["depth"] < ctx.max_depth:
        moved: State = {**state, "cursor": parent_id}
        update |= await propose(moved, parent_id, Origin.BACKTRACKING, k, ctx)
        update["visits"] = [{"step": "backtracking", "node": parent_id}]
    return update


def after_proposing(state: State, runtime: Runtime[Context]) -> Literal["review", "similarity_check", "choose"]:
    if not state.get("proposals"):
        return "choose"
    return "review" if runtime.context.review else "similarity_check"


def after_worker(state: State, runtime: Runtime[Context]) -> Literal["review", "similarity_check"]:
    return "review" if runtime.context.review else "similarity_check"


def expand_level(state: State, runtime: Runtime[Context]) -> Command[Literal["extend_worker", "choose"]]:
    """BFS: take the queue's front level and extend each of its tasks in parallel."""
    ctx = runtime.context
    queue = list(state.get("queue", []))
    depth = state["nodes"][queue[0]]["depth"]
    level = [q for q in queue if state["nodes"][q]["depth"] == depth]
    rest = [q for q in queue if state["nodes"][q]["depth"] != depth]
    sends = []
    for node_id in level:
        node = state["nodes"][node_id]
        k = min(ctx.subtasks_per_call, room(node, len(accepted_children(state, node_id)), ctx))
        if k > 0 and node["depth"] < ctx.max_depth:
            sends.append(Send("extend_worker", {**state, "target": node_id, "k": k}))
    update = {"queue": rest, "visits": [{"step": "expand_level", "node": n} for n in level]}
    return Command(goto=sends or "choose", update=update)


async def extend_worker(payload: dict[str, Any], runtime: Runtime[Context]) -> dict[str, Any]:
    target = payload["target"]
    update = await propose(payload, target, Origin.LOOKAHEAD, payload["k"], runtime.context)  # type: ignore[arg-type]
    update["nodes"][target]["extended"] = True
    return update


# ---- 3. human review and the similarity check ---------------------------------------------------


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
            kept.append(
                {
                    "target": p["target"],
                    "origin": p["origin"],
                    "name": p["name"],
                    "reason": p["reason"],
                    "examples": [],
                    "rejected_by": "review",
                }
            )
        else:
            kept.append({**p, "name": str(rename.get(p["name"], p["name"]))})
    return {"proposals": kept}


def similarity_check(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Accept a proposal only if no accepted task anywhere in the tree is too similar to it."""
    ctx = runtime.context
    store = RunStore(state["run_dir"])
    tree = tree_of(state)
    names = name_index(state, store, ctx, tree)
    new_nodes: dict[str, dict[str, Any]] = {}
    accepted_per_target: dict[str, int] = {}
    to_commit: list[tuple[str, list[Example]]] = []
    queue_add: list[str] = []
    pruned = 0
    for p in sorted(state.get("proposals", []), key=lambda p: list(state["nodes"]).index(p["target"])):
        target = p["target"]
        accepted_per_target.setdefault(target, 0)
        if p.get("empty"):
            continue
        why: str | None
        if p.get("rejected_by"):
            status, why = NodeStatus.PRUNED, "rejected in review"
        else:
            node_id = tree.unique_id(p["name"])
            text = f"{p['name']}: {p['reason']}" if ctx.prune_with_reason and p["reason"] else p["name"]
            (match,) = names.greedy([Item(id=node_id, text=text, seq=len(tree.nodes))])
            status = NodeStatus.ACCEPTED if match.keep else NodeStatus.PRUNED
            why = None if match.keep else f"similar to {match.nearest_text!r} (score {match.score:.2f})"
            if not match.keep:
                store.append_jsonl(
                    DROPPED,
                    [
                        {
                            "stage": "similarity_check",
                            "rule": "similar_task",
                            "name": p["name"],
                            "target": target,
                            "nearest_id": match.nearest_id,
                            "nearest": match.nearest_text,
                            "score": round(match.score, 4),
                        }
                    ],
                )
        node = tree.add_child(
            target, p["name"], reason=p["reason"], origin=Origin(p["origin"]), status=status, status_reason=why
        )
        new_nodes[node.id] = node_state(node, examples=[], kept=0)
        new_nodes[target] = {"children": list(tree.node(target).children)}
        if status == NodeStatus.ACCEPTED:
            accepted_per_target[target] += 1
            to_commit.append((node.id, [Example.model_validate(e) for e in p["examples"]]))
            if node.depth < ctx.max_depth:
                queue_add.append(node.id)
        else:
            pruned += 1
            get_stream_writer()({"event": "pruned", "name": p["name"], "why": why})
    for target, n_accepted in accepted_per_target.items():
        old = state["nodes"][target]
        new_nodes.setdefault(target, {})
        new_nodes[target] |= {
            "new_children": old.get("new_children", 0) + n_accepted,
            "fruitless": 0 if n_accepted else old.get("fruitless", 0) + 1,
        }
    merged: State = {
        **state,
        "nodes": {**state["nodes"], **{k: {**state["nodes"].get(k, {}), **v} for k, v in new_nodes.items()}},
    }
    update, kept, dropped = commit(merged, store, to_commit, "x", ctx)
    for node_id, upd in node_updates_for_kept(merged, kept, to_commit).items():
        new_nodes[node_id] = {**new_nodes.get(node_id, {}), **upd}
    out: dict[str, Any] = {
        "nodes": new_nodes,
        "proposals": [None],
        "stats": {"tasks_pruned": pruned, "drops": {"similar_instruction": len(dropped)} if dropped else {}},
        **update,
    }
    if ctx.strategy == "bfs":
        # Tasks that still have room go round again before the next level; new tasks join the back.
        again = [t for t in accepted_per_target if room({**merged["nodes"][t]}, len(accepted_children(merged, t)), ctx)]
        out["queue"] = again + list(state.get("queue", [])) + queue_add
    final = {**merged["nodes"], **{k: {**merged["nodes"].get(k, {}), **v} for k, v in new_nodes.items()}}
    store.write_tree(tree_of({**merged, "nodes": final}), update["examples_offset"])
    return out


# ---- budget -------------------------------------------------------------------------------------


def budget_gate(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Stop resumably: the run pauses here until resumed (with a larger budget, or once the provider is back)."""
    stop = stop_reason(state, runtime.context)
    if stop:
        interrupt({"kind": stop[0], "reason": stop[1], "stats": state.get("stats", {})})
    return {"status": "exploring", "provider_streak": 0}


def after_budget(state: State) -> Literal["choose", "plan_enrich"]:
    return "plan_enrich" if state.get("enrich_round", 0) > 0 else "choose"


# ---- 4. enrichment ------------------------------------------------------------------------------


def enrich_needs(state: State, ctx: Context) -> dict[str, int]:
    needs: dict[str, int] = {}
    for node in tree_of(state).preorder():
        info = state["nodes"][node.id]
        if info.get("enrich_done"):
            continue
        need = ctx.examples_at(node.depth) - info.get("kept", 0)
        if need > 0:
            needs[node.id] = need
    return needs


def plan_enrich(state: State, runtime: Runtime[Context]) -> Command[Literal["enrich_batch", "finish", "budget_gate"]]:
    """One `Send` per LLM call; the run's max_concurrency bounds how many run at once."""
    ctx = runtime.context
    if stop_reason(state, ctx):
        return Command(goto="budget_gate", update={"enrich_round": max(1, state.get("enrich_round", 0))})
    left = None if ctx.max_calls is None else ctx.max_calls - state.get("stats", {}).get("calls", 0)
    rnd = state.get("enrich_round", 0) + 1
    tree = tree_of(state)
    sends: list[Send] = []
    for node_id, need in enrich_needs(state, ctx).items():
        node = tree.node(node_id)
        parent = tree.node(node.parent) if node.parent else None
        for b in range((need + ctx.examples_per_call - 1) // ctx.examples_per_call):
            if left is not None and len(sends) >= left:
                break
            n = min(ctx.examples_per_call, need - b * ctx.examples_per_call)
            request = {
                "task": node.name,
                "task_reason": node.reason,
                "parent": parent.name if parent else None,
                "siblings": [p.name for p in tree.peers(node_id)],
                "demonstrations": [d.model_dump() for d in demonstrations(state, node_id, ctx, f"enrich:{rnd}:{b}")],
                "n": n,
                "flavour": ctx.flavour.value,
            }
            sends.append(
                Send(
                    "enrich_batch",
                    {
                        "batch_id": f"r{rnd:04d}:{node_id}:{b:04d}",
                        "node_id": node_id,
                        "run_dir": state["run_dir"],
                        "request": request,
                    },
                )
            )
    if not sends:
        return Command(goto="finish", update={"status": "finishing"})
    get_stream_writer()({"event": "enrich_round", "round": rnd, "calls": len(sends)})
    return Command(goto=sends, update={"enrich_round": rnd, "status": "enriching"})


async def enrich_batch(payload: dict[str, Any], runtime: Runtime[Context]) -> dict[str, Any]:
    """One generation call; its examples wait in `candidates` for the round's dedup."""
    ctx = runtime.context
    req = payload["request"]
    result = await generate(
        chat_model(ctx),
        GenerateRequest(
            task=req["task"],
            task_reason=req["task_reason"],
            parent=req["parent"],
            siblings=req["siblings"],
            demonstrations=[Example.model_validate(d) for d in req["demonstrations"]],
            n=req["n"],
            flavour=ctx.flavour,
        ),
        model_label=ctx.model,
    )
    await asyncio.to_thread(record_generate, RunStore(payload["run_dir"]), result, payload)
    stats: dict[str, Any] = {"drops": _count_rules(s.rule for s in result.skipped)}
    for call in result.calls:
        stats = {**stats, **call_stats(call, ctx.model)}
    get_stream_writer()(
        {
            "event": "generated",
            "node": payload["node_id"],
            "examples": len(result.examples),
            "tokens": sum(c.output_tokens for c in result.calls),
        }
    )
    mark = provider_mark(result.calls)
    return {
        **({"provider_streak": mark} if mark is not None else {}),
        "candidates": {
            payload["batch_id"]: {"node_id": payload["node_id"], "examples": [e.model_dump() for e in result.examples]}
        },
        "stats": stats,
    }


def dedup(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Fold the round's candidates into the run in a fixed order, so a resumed run ends the same."""
    ctx = runtime.context
    store = RunStore(state["run_dir"])
    candidates = state.get("candidates", {})
    batches = [
        (c["node_id"], [Example.model_validate(e) for e in c["examples"]]) for _, c in sorted(candidates.items())
    ]
    update, kept, dropped = commit(state, store, batches, f"r{state.get('enrich_round', 0)}", ctx)
    nodes = node_updates_for_kept(state, kept, batches)
    for node_id in {n for n, _ in batches}:
        info = state["nodes"][node_id]
        total = info.get("kept", 0) + kept.get(node_id, 0)
        fruitless = 0 if kept.get(node_id) else info.get("enrich_fruitless", 0) + 1
        done = total >= ctx.examples_at(info["depth"]) or fruitless >= ctx.max_fruitless
        nodes[node_id] = {**nodes.get(node_id, {}), "enrich_fruitless": fruitless, "enrich_done": done}
    merged = {**state["nodes"], **{k: {**state["nodes"][k], **v} for k, v in nodes.items()}}
    store.write_tree(tree_of({**state, "nodes": merged}), update["examples_offset"])
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


# ---- 5. finish ----------------------------------------------------------------------------------


def finish(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    store = RunStore(state["run_dir"])
    tree = tree_of(state)
    store.write_tree(tree, state.get("examples_offset", 0))
    kept_per_depth: dict[str, int] = {}
    for n in tree.preorder():
        key = str(n.depth)
        kept_per_depth[key] = kept_per_depth.get(key, 0) + state["nodes"][n.id].get("kept", 0)
    shortfall = {
        n.id: runtime.context.examples_at(n.depth) - state["nodes"][n.id].get("kept", 0)
        for n in tree.preorder()
        if state["nodes"][n.id].get("kept", 0) < runtime.context.examples_at(n.depth)
    }
    summary = {
        "root": tree.root.name,
        "nodes_per_depth": {str(k): v for k, v in tree.nodes_per_depth().items()},
        "tasks_pruned": sum(1 for n in tree.nodes.values() if n.status == NodeStatus.PRUNED),
        "examples_per_depth": kept_per_depth,
        "examples": sum(kept_per_depth.values()),
        "shortfall": shortfall,
        "paths": {
            "run_dir": state["run_dir"],
            "tree": str(store.path("tree")),
            "examples": str(store.path("examples.jsonl")),
        },
    }
    get_stream_writer()({"event": "finished", **summary})
    return {"status": "done", "summary": summary}


# ---- wiring -------------------------------------------------------------------------------------

builder = StateGraph(State, context_schema=Context, input_schema=InputState, output_schema=OutputState)
builder.add_node("load_seed", load_seed)
builder.add_node("choose", choose)
builder.add_node("lookahead", lookahead, retry_policy=LLM_RETRY)
builder.add_node("descend", descend)
builder.add_node("backtracking", backtracking, retry_policy=LLM_RETRY)
builder.add_node("expand_level", expand_level)
builder.add_node("extend_worker", extend_worker, retry_policy=LLM_RETRY)  # type: ignore[arg-type]
builder.add_node("review", review)
builder.add_node("similarity_check", similarity_check)
builder.add_node("budget_gate", budget_gate)
builder.add_node("plan_enrich", plan_enrich)
builder.add_node("enrich_batch", enrich_batch, retry_policy=LLM_RETRY)  # type: ignore[arg-type]
builder.add_node("dedup", dedup)
builder.add_node("finish", finish)

builder.add_edge(START, "load_seed")
builder.add_edge("load_seed", "choose")
builder.add_conditional_edges("choose", route_from_choose)
builder.add_conditional_edges("lookahead", after_proposing)
builder.add_conditional_edges("backtracking", after_proposing)
builder.add_edge("descend", "choose")
builder.add_conditional_edges("extend_worker", after_worker)
builder.add_edge("review", "similarity_check")
builder.add_edge("similarity_check", "choose")
builder.add_conditional_edges("budget_gate", after_budget)
builder.add_edge("enrich_batch", "dedup")
builder.add_edge("dedup", "plan_enrich")
builder.add_edge("finish", END)

graph = builder.compile(name="explore_instruct")
