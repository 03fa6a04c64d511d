"""The example ledger: the one way examples enter a run, exactly once, in a fixed order.

`commit` dedups candidates in order against everything kept, appends the kept ones to `examples.jsonl` after
the offset of the last checkpoint (truncating what a killed step left) and returns the new offset and
sequence number for the state. Every candidate, kept or not, takes the next sequence number, so ids and
seqs are the same when a step is replayed after a kill.
"""

from __future__ import annotations

from typing import Any

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.indexes import STALE, instruction_index, mark
from explore_instruct.graphs.state import State
from explore_instruct.graphs.view import DEMO_POOL
from explore_instruct.tools.dataset.runstore import DROPPED, ExampleRecord, RunStore
from explore_instruct.tools.similarity.indexes import Item, Match
from explore_instruct.tools.tree.model import Example

Batches = list[tuple[str, list[Example]]]


def commit(
    state: State, store: RunStore, batches: Batches, seq_key: str, ctx: Context, *, check: bool = True
) -> tuple[dict[str, Any], dict[str, int], list[dict[str, Any]]]:
    """(state update, kept per node, drops); `check=False` keeps everything (a person's seed examples)."""
    offset = state.get("examples_offset", 0)
    base = state.get("example_seq", 0)
    index = instruction_index(state, store, ctx)
    # Until this commit lands the index is ahead of the file: if it fails (a full disk), a rerun of the step in
    # this process must not reuse it, or the step's own examples would count as duplicates of themselves.
    mark(store, ctx, index, STALE)
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
    mark(store, ctx, index, new_seq)
    if dropped:
        store.append_jsonl(DROPPED, dropped)
    update = {
        "examples_offset": new_offset,
        "example_seq": new_seq,
        "examples_total": state.get("examples_total", 0) + len(records),
    }
    return update, kept, dropped


def kept_updates(state: State, kept: dict[str, int], batches: Batches) -> dict[str, dict[str, Any]]:
    """Per node: the new kept count and its demonstration pool topped up from what this commit offered."""
    out: dict[str, dict[str, Any]] = {}
    for node_id, n in kept.items():
        node = state["nodes"][node_id]
        pool = list(node.get("examples", []))
        for nid, exs in batches:
            if nid == node_id:
                pool.extend(e.model_dump() for e in exs[: max(0, DEMO_POOL - len(pool))])
        out[node_id] = {"kept": node.get("kept", 0) + n, "examples": pool[:DEMO_POOL]}
    return out
