"""Similarity checks on trees that already exist (the reference's `prune` and `filter`, done right)."""

from __future__ import annotations

import uuid
from typing import Any

from explore_instruct.tools.quality.degeneracy import Thresholds, degenerate
from explore_instruct.tools.similarity.indexes import (
    DEFAULT_THRESHOLDS,
    Item,
    Mode,
    Scope,
    SimilarityIndex,
    memory_index,
)
from explore_instruct.tools.tree.model import DomainTree


def open_index(
    mode: Mode,
    threshold: float | None,
    scope: Scope,
    *,
    kind: str,
    embedder: str | None = None,
    chroma_host: str | None = None,
    chroma_port: int | None = None,
) -> SimilarityIndex:
    """An empty index for a one-off check; embedding mode uses an in-memory (or server) Chroma collection."""
    default = DEFAULT_THRESHOLDS[mode][0 if kind == "tasks" else 1]
    thr = default if threshold is None else threshold
    if mode != "embedding":
        return memory_index(mode, thr, scope)
    from explore_instruct.tools.similarity.embeddings import DEFAULT_EMBEDDER, ChromaIndex, chroma_client, make_embedder

    client = chroma_client(None, chroma_host, chroma_port)
    return ChromaIndex(
        client, f"ei-{kind}-{uuid.uuid4().hex[:12]}", make_embedder(embedder or DEFAULT_EMBEDDER), thr, scope
    )


def prune_report(tree: DomainTree, index: SimilarityIndex) -> list[dict[str, Any]]:
    """Level order, the root kept first, first one wins: tasks too similar to an earlier kept task."""
    out = []
    for seq, node in enumerate(tree.level_order(include_pruned=True)):
        (match,) = index.greedy([Item(id=node.id, text=node.name, seq=seq)])
        if not match.keep:
            out.append(
                {
                    "task": node.id,
                    "name": node.name,
                    "depth": node.depth,
                    "nearest_id": match.nearest_id,
                    "nearest": match.nearest_text,
                    "score": round(match.score, 4),
                }
            )
    return out


def filter_tree(tree: DomainTree, index: SimilarityIndex) -> tuple[DomainTree, list[dict[str, Any]]]:
    """Greedy instruction dedup in level order, node by node; returns the filtered copy and the drops."""
    out = tree.model_copy(deep=True)
    drops: list[dict[str, Any]] = []
    seq = 0
    for node in out.level_order(include_pruned=True):
        items = [
            Item(id=f"{node.id}:{i}", text=ex.instruction, seq=seq + i, group=node.id)
            for i, ex in enumerate(node.examples)
        ]
        seq += len(items)
        matches = index.greedy(items)
        kept = []
        for item, ex, match in zip(items, node.examples, matches, strict=True):
            if match.keep:
                kept.append(ex)
            else:
                drops.append(
                    {
                        "task": node.id,
                        "id": item.id,
                        "instruction": ex.instruction,
                        "nearest_id": match.nearest_id,
                        "nearest": match.nearest_text,
                        "score": round(match.score, 4),
                    }
                )
        node.examples = kept
    return out, drops


def quality_filter_tree(
    tree: DomainTree, thresholds: Thresholds | None = None, *, rewriting: bool = False
) -> tuple[DomainTree, list[dict[str, Any]]]:
    """The degeneracy rules (tools/quality/degeneracy.py) on every example of an existing tree; the copy and the
    drops."""
    thresholds = thresholds or Thresholds()
    out = tree.model_copy(deep=True)
    drops: list[dict[str, Any]] = []
    for node in out.level_order(include_pruned=True):
        kept = []
        for i, ex in enumerate(node.examples):
            bad = degenerate(ex, thresholds, rewriting=rewriting)
            if bad is None:
                kept.append(ex)
            else:
                drops.append({"task": node.id, "id": f"{node.id}:{i}", "instruction": ex.instruction, "rule": bad[0],
                              "detail": bad[1]})  # fmt: skip
        node.examples = kept
    return out, drops
