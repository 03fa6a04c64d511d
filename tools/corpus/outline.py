"""Where a corpus's tree should start: its outline (section headings) and clusters of its chunk embeddings.

A first level proposed from a sentence follows what the model knows; one proposed from the documents' own
sections and from a representative chunk of each region of the embedding space follows what the documents hold.
The outline comes from chunk metadata (heading paths written at ingest); the clusters from k-means over the
stored embeddings (scikit-learn, from the `dataset` extra; without it the outline alone is shown). Both are
deterministic (fixed document order, a fixed k-means seed), so a resumed run is shown the same first level.
The flat baseline (`strategy: flat`) has no tree to start: its tasks are the chunks themselves, named here too.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import PurePath
from typing import Any, NamedTuple

import numpy as np

from explore_instruct.tools.corpus.chunk import Chunk
from explore_instruct.tools.corpus.store import CorpusStore

MAX_CLUSTERED = 4000  # chunks k-means sees at most (an even sample of a larger corpus)


def _rows(store: CorpusStore, include: list[str]) -> dict[str, Any]:
    got: dict[str, Any] = dict(store.collection.get(include=include))
    return got


def sections(store: CorpusStore, limit: int) -> list[str]:
    """Up to `limit` section names in document order: a heading path below each document's title, deduplicated."""
    got = _rows(store, ["metadatas"])
    rows = sorted(zip(got["ids"], got["metadatas"] or [], strict=True), key=lambda r: (str(r[1]["doc"]), r[1]["index"]))
    seen: list[str] = []
    for _, meta in rows:
        headings = [str(h).strip() for h in json.loads(str(meta.get("headings") or "[]")) if str(h).strip()]
        if not headings:
            continue
        name = " > ".join(headings[1:3]) if len(headings) > 1 else headings[0]
        if name not in seen:
            seen.append(name)
    if len(seen) <= limit:
        return seen
    step = len(seen) / limit  # an even spread over the whole corpus, not its first document
    return [seen[int(i * step)] for i in range(limit)]


def representatives(store: CorpusStore, n: int, seed: int = 0) -> list[Chunk]:
    """One chunk per k-means cluster of the chunk embeddings (the one nearest its centroid), largest cluster first."""
    try:
        from sklearn.cluster import KMeans
    except ImportError:  # the dataset extra is not installed: the outline alone seeds the first level
        return []
    got = _rows(store, ["embeddings", "metadatas"])
    ids = list(got["ids"])
    if not ids or n < 1:
        return []
    order = sorted(range(len(ids)), key=lambda i: (str(got["metadatas"][i]["doc"]), got["metadatas"][i]["index"]))
    if len(order) > MAX_CLUSTERED:
        order = [order[int(i * len(order) / MAX_CLUSTERED)] for i in range(MAX_CLUSTERED)]
    vectors = np.asarray([got["embeddings"][i] for i in order], dtype=np.float32)
    k = min(n, len(order))
    km = KMeans(n_clusters=k, random_state=seed, n_init=4).fit(vectors)
    sizes = np.bincount(km.labels_, minlength=k)
    picked: list[str] = []
    for c in sorted(range(k), key=lambda c: (-sizes[c], c)):
        members = np.flatnonzero(km.labels_ == c)
        if len(members) == 0:
            continue
        nearest = members[np.argmin(np.linalg.norm(vectors[members] - km.cluster_centers_[c], axis=1))]
        picked.append(ids[order[int(nearest)]])
    return store.chunks(picked)


class ChunkTask(NamedTuple):
    """A flat run's task: one chunk, named from its heading path (tools/corpus/outline.py: `chunk_tasks`)."""

    name: str
    reason: str
    chunk_id: str


MAX_TASK_NAME = 120


def chunk_tasks(store: CorpusStore) -> list[ChunkTask]:
    """One task per chunk, in document then chunk order: the flat baseline's tasks (`strategy: flat`).

    A task is named from its chunk's heading path below the document's title (the title alone, else the file's
    name, when there is nothing below it); chunks that share a name are told apart by `(part i)`. The names are a
    pure function of the corpus, so a resumed run finds the same chunk behind each task.
    """
    got = _rows(store, ["metadatas"])
    rows = sorted(zip(got["ids"], got["metadatas"] or [], strict=True), key=lambda r: (str(r[1]["doc"]), r[1]["index"]))
    bases: list[str] = []
    for _, meta in rows:
        headings = [str(h).strip() for h in json.loads(str(meta.get("headings") or "[]")) if str(h).strip()]
        stem = PurePath(str(meta["doc"])).stem.replace("_", " ").replace("-", " ")
        base = " > ".join(headings[1:3]) if len(headings) > 1 else (headings[0] if headings else stem)
        bases.append(" ".join(base.split())[:MAX_TASK_NAME] or stem)
    totals = Counter(bases)
    seen: Counter[str] = Counter()
    tasks: list[ChunkTask] = []
    for (cid, meta), base in zip(rows, bases, strict=True):
        seen[base] += 1
        name = f"{base} (part {seen[base]})" if totals[base] > 1 else base
        reason = f"passage {int(meta['index']) + 1} of {meta['doc']}"
        tasks.append(ChunkTask(name, reason, cid))
    return tasks
