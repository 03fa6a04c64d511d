"""The run's similarity indexes (kept instructions, accepted task names), cached per process.

Rebuilding an index at every step would re-read (ROUGE, exact) or re-embed (Chroma) the whole run, so each
run keeps one of each kind in this process. The cache is keyed by the example sequence number it reflects:
an index that is ahead of the last checkpoint (a step was killed or failed after adding to it) is rolled
back, or rebuilt from `examples.jsonl`, before anyone reads it.

A run's indexes hold its Chroma client, and that holds SQLite handles, memory-mapped HNSW files and
a Rust runtime's threads: measured, about 8 MB, 17 open files and 7 threads per run, never given back, so a
server failed with "Too many open files" after a few dozen runs. So the cache is per run directory: `release`
closes a run's client when its drive ends (the Runner calls it, agent/runs/runner.py), and the cache keeps at
most `MAX_RUNS` runs, closing the least recently used (runs no Runner drives, e.g. under the Agent Server).
A released run's collections stay on disk; its next step reopens them.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.state import State
from explore_instruct.tools.dataset.runstore import CHROMA_DIR, ExampleRecord, RunStore
from explore_instruct.tools.similarity.embeddings import ChromaIndex, chroma_client, make_embedder
from explore_instruct.tools.similarity.indexes import Item, Scope, SimilarityIndex, memory_index
from explore_instruct.tools.tree.model import DomainTree

STALE = -1  # the sequence number of an index that is ahead of the file
MAX_RUNS = 16  # runs whose indexes stay open at once (above the background cap of runs going on, 4 by default)


@dataclass
class _RunIndexes:
    """One run's cached indexes (key -> (sequence number, index)) and the one Chroma client they share."""

    indexes: dict[str, tuple[int, SimilarityIndex]] = field(default_factory=dict)
    chroma: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, store: RunStore, ctx: Context) -> Any:
        """The run's Chroma client, made once, under a lock: chromadb registers its per-path system without one,
        so two nodes making clients for one path in two threads could each start a system of their own."""
        with self.lock:
            if self.chroma is None:
                self.chroma = chroma_client(str(store.path(CHROMA_DIR)), ctx.chroma_host, ctx.chroma_port)
            return self.chroma

    def close(self) -> None:
        with self.lock:
            self.indexes.clear()
            if self.chroma is not None:
                self.chroma.close()  # chromadb's documented release: the last client of a path stops its system
            self.chroma = None


_RUNS: OrderedDict[Path, _RunIndexes] = OrderedDict()
_LOCK = threading.Lock()  # the nodes of several runs (and a run's sync nodes) reach the cache from many threads


def _run(store: RunStore) -> _RunIndexes:
    """The run's cache entry, most recently used; the least recently used run past MAX_RUNS is closed."""
    root = store.root.resolve()
    evicted: list[_RunIndexes] = []
    with _LOCK:
        entry = _RUNS.get(root)
        if entry is None:
            entry = _RUNS[root] = _RunIndexes()
        _RUNS.move_to_end(root)
        while len(_RUNS) > MAX_RUNS:
            evicted.append(_RUNS.popitem(last=False)[1])
    for old in evicted:
        old.close()
    return entry


def release(run_dir: str | Path) -> None:
    """Close the run's Chroma client and forget its indexes: its drive ended (done, paused, failed, cancelled)."""
    with _LOCK:
        entry = _RUNS.pop(Path(run_dir).resolve(), None)
    if entry is not None:
        entry.close()


def open_runs() -> int:
    """How many runs hold cached indexes now (tests, the soak bench)."""
    with _LOCK:
        return len(_RUNS)


def _key(ctx: Context, kind: str) -> str:
    return f"{kind}|{ctx.similarity}|{ctx.dedup_scope}|{ctx.filter_at}|{ctx.prune_at}"


def mark(store: RunStore, ctx: Context, index: SimilarityIndex, seq: int) -> None:
    """Record which example sequence number the cached instruction index reflects (STALE: none)."""
    _run(store).indexes[_key(ctx, "instructions")] = (seq, index)


def item_of(rec: ExampleRecord) -> Item:
    return Item(id=rec.id, text=rec.example.instruction, seq=rec.seq, group=rec.node_id)


def instruction_index(state: State, store: RunStore, ctx: Context) -> SimilarityIndex:
    """The kept instructions as of the last checkpoint; anything a killed step added is rolled back."""
    seq = state.get("example_seq", 0)
    cached = _run(store).indexes.get(_key(ctx, "instructions"))
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
    key = _key(ctx, "tasks")
    cached = _run(store).indexes.get(key)
    chroma = cached[1] if cached else chroma_index(store, ctx, "tasks", ctx.prune_at, "tree")
    assert isinstance(chroma, ChromaIndex)
    have, want = chroma.ids(), {i.id for i in items}
    if have - want:  # tasks a killed step added: the tree as checkpointed is the truth
        chroma.collection.delete(ids=sorted(have - want))
    chroma.add([i for i in items if i.id not in have])
    _run(store).indexes[key] = (0, chroma)
    return chroma


def chroma_index(store: RunStore, ctx: Context, kind: str, threshold: float, scope: Scope) -> ChromaIndex:
    """This run's collection of `kind`: on disk in the run directory, or on the configured Chroma server."""
    client = _run(store).client(store, ctx)  # closed with the run's indexes
    return ChromaIndex(client, collection_name(store.root, kind), make_embedder(ctx.embedder), threshold, scope)


def collection_name(run_dir: str | Path, kind: str) -> str:
    """Chroma names: 3-512 chars of [a-zA-Z0-9._-]; one collection per run (and kind) on a shared server."""
    resolved = Path(run_dir).resolve()
    run = re.sub(r"[^a-zA-Z0-9._-]", "-", resolved.name)[:200].strip("-._") or "run"
    return f"ei-{kind}-{run}-{hashlib.sha1(str(resolved).encode()).hexdigest()[:10]}"
