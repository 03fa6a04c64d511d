"""The run's similarity indexes (kept instructions, accepted task names), cached per process.

Rebuilding an index at every step would re-read (ROUGE, exact) or re-embed (Chroma) the whole run, so each
run keeps one of each kind in this process. The cache is keyed by the example sequence number it reflects:
an index that is ahead of the last checkpoint (a step was killed or failed after adding to it) is rolled
back, or rebuilt from `examples.jsonl`, before anyone reads it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.state import State
from explore_instruct.tools.dataset.runstore import CHROMA_DIR, ExampleRecord, RunStore
from explore_instruct.tools.similarity.embeddings import ChromaIndex, chroma_client, make_embedder
from explore_instruct.tools.similarity.indexes import Item, Scope, SimilarityIndex, memory_index
from explore_instruct.tools.tree.model import DomainTree

_INDEXES: dict[str, tuple[int, SimilarityIndex]] = {}
STALE = -1  # the sequence number of an index that is ahead of the file


def _key(store: RunStore, ctx: Context, kind: str) -> str:
    return f"{store.root.resolve()}|{kind}|{ctx.similarity}|{ctx.dedup_scope}|{ctx.filter_at}|{ctx.prune_at}"


def mark(store: RunStore, ctx: Context, index: SimilarityIndex, seq: int) -> None:
    """Record which example sequence number the cached instruction index reflects (STALE: none)."""
    _INDEXES[_key(store, ctx, "instructions")] = (seq, index)


def item_of(rec: ExampleRecord) -> Item:
    return Item(id=rec.id, text=rec.example.instruction, seq=rec.seq, group=rec.node_id)


def instruction_index(state: State, store: RunStore, ctx: Context) -> SimilarityIndex:
    """The kept instructions as of the last checkpoint; anything a killed step added is rolled back."""
    seq = state.get("example_seq", 0)
    cached = _INDEXES.get(_key(store, ctx, "instructions"))
    index: SimilarityIndex
    if ctx.similarity == "embedding":
        chroma = cached[1] if cached else chroma_index(store, ctx, "instructions", ctx.filter_at, ctx.dedup_scope)
        assert isinstance(chroma, ChromaIndex)
        chroma.rollback(seq)
        if len(chroma) < state.get("examples_total", 0):  # a new or emptied collection: add what is missing
            have = chroma.ids()
            chroma.add([item_of(r) for r in store.iter_examples(state.get("examples_offset", 0)) if r.id not in have])
        index = chroma
    elif cached and cached[0] == seq:
        index = cached[1]
    else:
        index = memory_index(ctx.similarity, ctx.filter_at, ctx.dedup_scope)
        index.add([item_of(r) for r in store.iter_examples(state.get("examples_offset", 0))])
    mark(store, ctx, index, seq)
    return index


def task_text(name: str, reason: str, ctx: Context) -> str:
    """What the similarity check compares for a task: its name, or name and reason."""
    return f"{name}: {reason}" if ctx.prune_with_reason and reason else name


def name_index(store: RunStore, ctx: Context, tree: DomainTree) -> SimilarityIndex:
    """Every accepted task of the tree, for the similarity check of new proposals."""
    items = [Item(id=n.id, text=task_text(n.name, n.reason, ctx), seq=i) for i, n in enumerate(tree.preorder())]
    if ctx.similarity != "embedding":
        index = memory_index(ctx.similarity, ctx.prune_at, "tree")
        index.add(items)
        return index
    key = _key(store, ctx, "tasks")
    cached = _INDEXES.get(key)
    chroma = cached[1] if cached else chroma_index(store, ctx, "tasks", ctx.prune_at, "tree")
    assert isinstance(chroma, ChromaIndex)
    have, want = chroma.ids(), {i.id for i in items}
    if have - want:  # tasks a killed step added: the tree as checkpointed is the truth
        chroma.collection.delete(ids=sorted(have - want))
    chroma.add([i for i in items if i.id not in have])
    _INDEXES[key] = (0, chroma)
    return chroma


def chroma_index(store: RunStore, ctx: Context, kind: str, threshold: float, scope: Scope) -> ChromaIndex:
    """This run's collection of `kind`: on disk in the run directory, or on the configured Chroma server."""
    client = chroma_client(str(store.path(CHROMA_DIR)), ctx.chroma_host, ctx.chroma_port)
    return ChromaIndex(client, collection_name(store.root, kind), make_embedder(ctx.embedder), threshold, scope)


def collection_name(run_dir: str | Path, kind: str) -> str:
    """Chroma names: 3-512 chars of [a-zA-Z0-9._-]; one collection per run (and kind) on a shared server."""
    resolved = Path(run_dir).resolve()
    run = re.sub(r"[^a-zA-Z0-9._-]", "-", resolved.name)[:200].strip("-._") or "run"
    return f"ei-{kind}-{run}-{hashlib.sha1(str(resolved).encode()).hexdigest()[:10]}"
