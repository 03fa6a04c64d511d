"""A sturdier first level for a bare sentence: several decomposition samples, pooled and ranked (self-consistency).

Given only a one-sentence domain, a small model has nothing to stand on at the first level, and one bad name
sends a whole branch astray ("write a thank you note for an employee" under customer support replies). So the
root's decompositions are each drawn several times (each call samples anew), the proposals are pooled and
deduplicated, and the k that become tasks are chosen greedily by relevance to the domain minus similarity to
those already chosen (maximal marginal relevance): on the domain, and spread over it. The rest are recorded as
`outranked` drops with their scores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np
from langchain_core.language_models import BaseChatModel

from explore_instruct.tools.generation.decompose import (
    DecomposeRequest,
    DecomposeResult,
    ProposedSubtask,
    Skip,
    decompose,
    room_for,
)
from explore_instruct.tools.similarity.embeddings import Embedder
from explore_instruct.tools.tree.model import slugify

SAMPLES = 3  # decomposition samples pooled per call that widens a bare sentence's first level


async def sample_decompositions(
    model: BaseChatModel, req: DecomposeRequest, samples: int, *, model_label: str = ""
) -> DecomposeResult:
    """`samples` independent calls for the same request, pooled: every distinct name once, all calls kept."""
    results = await asyncio.gather(*(decompose(model, req, model_label=model_label) for _ in range(samples)))
    seen: set[str] = set()
    pooled: list[ProposedSubtask] = []
    skipped: list[Skip] = []
    for r in results:
        skipped.extend(r.skipped)
        for s in r.subtasks:
            key = slugify(s.name)
            if key in seen:
                skipped.append(Skip("subtask", "duplicate_name", f"{s.name} (another sample)", {"name": s.name}))
                continue
            seen.add(key)
            pooled.append(s)
    calls = [c for r in results for c in r.calls]
    return DecomposeResult(pooled, skipped, calls[0] if calls else None, calls[1:])


def choose_spread(
    result: DecomposeResult, k: int, embed: Embedder, root: str, existing: Sequence[str] = ()
) -> DecomposeResult:
    """Keep the k proposals that maximise relevance to `root` minus cosine similarity to the nearest of those kept
    before them and of the task's `existing` children (a later call must widen the level, not repeat it)."""
    if len(result.subtasks) <= k:
        return result
    names = [s.name for s in result.subtasks]
    vecs = embed([root, *names, *existing])
    vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    n = len(names)
    rel, sims = vecs[1 : n + 1] @ vecs[0], vecs[1 : n + 1] @ vecs[1:].T  # columns: the names, then `existing`
    old = list(range(n, n + len(existing)))

    def nearest(i: int, chosen: list[int]) -> float:
        return max((float(sims[i, j]) for j in chosen + old), default=0.0)

    chosen: list[int] = []
    left = list(range(n))
    while left and len(chosen) < k:
        gain = [float(rel[i]) - nearest(i, chosen) for i in left]
        chosen.append(left.pop(int(np.argmax(gain))))
    kept = [result.subtasks[i] for i in chosen]
    out = [
        Skip(
            "subtask",
            "outranked",
            f"relevance to the domain {rel[i]:.2f}, nearest chosen {nearest(i, chosen):.2f}",
            {"name": names[i]},
        )
        for i in left
    ]
    return DecomposeResult(kept, result.skipped + out, result.call, result.more_calls)


def first_level(parent: str | None, seeded: bool, samples: int, req: DecomposeRequest) -> bool:
    """Whether this call widens a bare sentence's first level: the root, none of its children given by a seed (a
    preset's root has its first level), more than one sample asked, and room for children. Every such call is
    pooled, the first and the retries or backtracking that widen a level the first left short."""
    return parent is None and not seeded and samples > 1 and room_for(req) > 0
