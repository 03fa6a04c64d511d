"""What the graph asks of a run's corpus (`docs`): the root's name, a task's chunks, a proposal's grounding.

Every function here is inert without `docs`: the hooks in lifecycle, enrich and proposals call them only when
a corpus is given. The flat baseline (`strategy: flat`) is the same graph with a different start: `flat_tree`
makes one task per chunk under the root, routing skips exploration, and enrichment shows each task its chunk.
Retrieval runs in a worker thread (embedding a query is CPU work) and is a pure function of
the corpus and the task, so a resumed run is shown the chunks the killed one was.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.state import State
from explore_instruct.graphs.view import tree_of
from explore_instruct.tools.corpus.outline import chunk_tasks, representatives, sections
from explore_instruct.tools.corpus.retrieve import (
    FETCH_K,
    Passage,
    best_score,
    chunk_ids,
    open_corpus,
    passages,
    resolve_docs,
    root_name,
)
from explore_instruct.tools.corpus.store import CorpusStore
from explore_instruct.tools.generation.decompose import DecomposeResult, ProposedSubtask, Skip
from explore_instruct.tools.prompts.grounded import coverage_lines, first_level_lines, grounding_lines
from explore_instruct.tools.quality.faithful import check_faithful
from explore_instruct.tools.quality.judge import Judged
from explore_instruct.tools.tree.model import DomainTree, Example, Origin


def corpus_of(ctx: Context) -> CorpusStore | None:
    """The run's corpus, or None when it has none."""
    if not ctx.docs:
        return None
    docs = resolve_docs(ctx.docs, ctx.run_dir, ctx.embedder, ctx.chroma_host, ctx.chroma_port)  # raw: ingested once
    return open_corpus(docs, ctx.chroma_host, ctx.chroma_port)


def corpus_root(ctx: Context) -> str | None:
    """A root task's name for a run given `docs` and no domain: named from the corpus."""
    store = corpus_of(ctx)
    return root_name(store) if store is not None else None


def task_query(name: str, reason: str = "") -> str:
    """What a task retrieves with: its name, and its reason when it has one (it says what the task is for)."""
    return f"{name}. {reason}".strip() if reason else name


async def task_passages(ctx: Context, name: str, reason: str = "", batch: str | None = None) -> list[Passage]:
    """The task's `retrieve_k` chunks (MMR), or none without a corpus; a flat run's task is shown its own chunk.

    `batch` (an enrich batch id, `r{round}:{node}:{b}`) rotates the chunks: the task's first batch is shown the
    `retrieve_k` chunks MMR ranks first, its next batches the following ones of a pool `ROTATION_POOL` times as
    wide, so a task asked for many examples cites more of the corpus than its top k (a pure function of the batch
    id: a resumed run is shown what the killed one was).
    """
    store = corpus_of(ctx)
    if store is None:
        return []
    if ctx.strategy == "flat":
        own = flat_chunk(store, name)
        if own is not None:
            return own
    turn = rotation_index(batch)
    k = 1 if ctx.profile == "compact" else ctx.retrieve_k  # compact: one text a call (tools/prompts/grounded.py)
    if not turn:
        return await asyncio.to_thread(passages, store, task_query(name, reason), k)
    pool = await asyncio.to_thread(passages, store, task_query(name, reason), ctx.retrieve_k * ROTATION_POOL)
    return rotated(pool, k, turn)


ROTATION_POOL = 3  # a task's batches take turns over its 3k chunks ranked by MMR


def rotation_index(batch: str | None) -> int:
    """Which turn an enrich batch takes: its number within the round plus the rounds before (0: the first)."""
    parts = (batch or "").split(":")
    if len(parts) < 3 or not parts[0].startswith("r"):
        return 0
    try:
        return max(0, int(parts[0][1:]) - 1) + int(parts[-1])
    except ValueError:
        return 0


def rotated(pool: list[Passage], k: int, turn: int) -> list[Passage]:
    """The `turn`-th window of k passages over `pool`, wrapping around (the pool itself when it is no larger)."""
    if len(pool) <= k:
        return pool
    start = (turn * k) % len(pool)
    return [pool[(start + i) % len(pool)] for i in range(k)]


def flat_chunk(store: CorpusStore, name: str) -> list[Passage] | None:
    """The one chunk behind a flat run's task, or None when `name` is no chunk's task (the root)."""
    by_name = {t.name: t.chunk_id for t in chunk_tasks(store)}
    cid = by_name.get(name)
    if cid is None:
        return None
    return [
        Passage(chunk_id=c.chunk_id, doc=c.doc, page=c.page, headings=list(c.headings), text=c.text, score=1.0)
        for c in store.chunks([cid])
    ]


def flat_tree(ctx: Context, tree: DomainTree) -> DomainTree:
    """The flat baseline's tree: the root and one task per chunk (no lookahead, no backtracking: the anchors'
    way of generating, chunk by chunk). A seed's own tasks have no place in it, so a seed is refused."""
    store = corpus_of(ctx)
    if store is None:
        raise ValueError("strategy flat: give docs (a corpus); its chunks are the tasks")
    if len(tree.nodes) > 1:
        raise ValueError("strategy flat: the tasks are the corpus's chunks; give a domain or nothing, not a seed tree")
    for t in chunk_tasks(store):
        tree.add_child(tree.root_id, t.name, reason=t.reason, extra={"chunk_id": t.chunk_id})
    return tree


def ground_subtasks(result: DecomposeResult, ctx: Context) -> tuple[DecomposeResult, dict[str, dict[str, Any]]]:
    """A decomposition's subtasks held to the corpus: (result, per kept name its `grounding` score and flag).

    A subtask whose best chunk scores under `min_grounding` is dropped as `ungrounded_task`; with
    `allow_parametric` it is kept, flagged `parametric`. The examples a (full-profile) decomposition proposes
    with each subtask cite nothing, so in a grounded run they are left out: every kept example comes from
    grounded enrichment and carries its sources.
    """
    store = corpus_of(ctx)
    if store is None:
        return result, {}
    kept: list[ProposedSubtask] = []
    skipped = list(result.skipped)
    marks: dict[str, dict[str, Any]] = {}
    for s in result.subtasks:
        score = round(best_score(store, task_query(s.name, s.reason)), 4)
        if score < ctx.min_grounding and not ctx.allow_parametric:
            item = {"name": s.name, "reason": s.reason, "grounding": score}
            skipped.append(Skip("subtask", "ungrounded_task", f"best chunk {score:.2f} < {ctx.min_grounding}", item))
            continue
        marks[s.name] = {"grounding": score} | ({"parametric": True} if score < ctx.min_grounding else {})
        kept.append(replace(s, examples=[]))
    return replace(result, subtasks=kept, skipped=skipped), marks


def decompose_grounding(state: State, target_id: str, origin: Origin, ctx: Context) -> str:
    """The chunks a decomposition is shown: the target's own (lookahead), or, when alternatives are asked for
    (backtracking), chunks no accepted task retrieves yet, nearest the target first (coverage as the goal)."""
    store = corpus_of(ctx)
    if store is None:
        return ""
    tree = tree_of(state)
    target = tree.node(target_id)
    if target.parent is None and origin == Origin.LOOKAHEAD:  # the first level starts where the documents are
        return first_level(store, max(ctx.breadth_at(0), ctx.retrieve_k), ctx.seed)
    if origin == Origin.BACKTRACKING:
        shown = uncovered(store, state, task_query(target.name, target.reason), ctx.retrieve_k, ctx.retrieve_k)
        return coverage_lines(shown)
    return grounding_lines(passages(store, task_query(target.name, target.reason), ctx.retrieve_k))


def covered_chunks(store: CorpusStore, state: State, k: int) -> set[str]:
    """Chunks some accepted task retrieves among its k nearest (one batched embedding and query)."""
    tree = tree_of(state)
    queries = [task_query(n.name, n.reason) for n in tree.preorder()]
    if not queries:
        return set()
    vectors = store.embed(queries)
    got = store.collection.query(query_embeddings=vectors.tolist(), n_results=k, include=[])
    return {cid for ids in got["ids"] for cid in ids}


def uncovered(store: CorpusStore, state: State, text: str, n: int, k: int) -> list[Passage]:
    """Up to n chunks that no accepted task retrieves, nearest `text` first (then in document order)."""
    covered = covered_chunks(store, state, k)
    near = [p for p in passages_nearest(store, text, FETCH_K * 2) if p["chunk_id"] not in covered]
    if len(near) < n:
        rest = [c for c in chunk_ids(store) if c not in covered and c not in {p["chunk_id"] for p in near}]
        near += [
            Passage(chunk_id=c.chunk_id, doc=c.doc, page=c.page, headings=list(c.headings), text=c.text, score=0.0)
            for c in store.chunks(rest[: n - len(near)])
        ]
    return near[:n]


def passages_nearest(store: CorpusStore, text: str, k: int) -> list[Passage]:
    return [
        Passage(chunk_id=h.chunk.chunk_id, doc=h.chunk.doc, page=h.chunk.page, headings=list(h.chunk.headings),
                text=h.chunk.text, score=round(h.score, 4))
        for h in store.query(text, k=k)
    ]  # fmt: skip


def first_level(store: CorpusStore, n: int, seed: int) -> str:
    """The corpus's outline (up to 2n sections) and one passage per embedding cluster (n clusters)."""
    reps = [
        Passage(chunk_id=c.chunk_id, doc=c.doc, page=c.page, headings=list(c.headings), text=c.text, score=0.0)
        for c in representatives(store, n, seed)
    ]
    return first_level_lines(sections(store, 2 * n), reps)


async def judge_faithfulness(ctx: Context, model: Any, examples: list[Example], judged: list[Judged]) -> list[Any]:
    """Set `faithful` on each judged example that cites chunks (one extra judge call); returns the call records."""
    store = corpus_of(ctx)
    if store is None:
        return []
    cited = [[str(s.get("chunk_id")) for s in (e.model_extra or {}).get("sources") or []] for e in examples]
    texts = {
        c.chunk_id: c.text for c in await asyncio.to_thread(store.chunks, sorted({i for ids in cited for i in ids}))
    }
    evidence = ["\n".join(texts[i] for i in ids if i in texts) for ids in cited]
    shown = [i for i, ev in enumerate(evidence) if ev.strip()]
    if not shown:
        return []
    flags, record = await check_faithful(
        model, [examples[i] for i in shown], [evidence[i] for i in shown], model_label=ctx.judge_label
    )
    for i, flag in zip(shown, flags, strict=True):
        judged[i].faithful = flag
    return [record]
