"""A corpus on disk: chunks with their embeddings in Chroma, and a manifest of the documents they came from.

Layout of CORPUS_DIR: `corpus.json` (the manifest: which documents, at which sha256, gave how many chunks)
and `chroma/` (a persistent Chroma collection), or a collection on a Chroma server given host and port, as
runs already can. Embeddings come from the project's embedder (`tools/similarity/embeddings.py`, offline
MiniLM by default) and are handed to Chroma, as the similarity indexes do.

The manifest is the truth, written atomically and only after a document's chunks are in Chroma; a document
is dropped from it before its old chunks are deleted. So after a kill, Chroma may hold chunks the manifest
does not list (an unfinished write) but never lacks chunks the manifest lists; `reconcile`, run when the
store opens for writing, deletes the former (and forgets an entry whose chunks are missing, e.g. a deleted
chroma/ folder), so a resumed ingest neither doubles nor loses chunks.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from explore_instruct.tools.corpus.chunk import Chunk
from explore_instruct.tools.corpus.manifest import MANIFEST, CorpusError, DocEntry, Manifest, read_manifest
from explore_instruct.tools.fileio import write_text_atomic
from explore_instruct.tools.similarity.embeddings import BATCH, DEFAULT_EMBEDDER, Embedder, chroma_client, make_embedder

CHROMA_DIR = "chroma"
LOCK = ".ingest.lock"
_PAGE = 5000  # rows per Chroma read or write (its batch limit is ~5k)


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # cosine similarity to the query


def collection_name(corpus_dir: Path) -> str:
    """Chroma names: 3-512 chars of [a-zA-Z0-9._-]; one collection per corpus folder on a shared server."""
    resolved = corpus_dir.resolve()
    name = re.sub(r"[^a-zA-Z0-9._-]", "-", resolved.name)[:200].strip("-._") or "corpus"
    return f"ei-corpus-{name}-{hashlib.sha1(str(resolved).encode()).hexdigest()[:10]}"


class CorpusStore:
    """One corpus: its manifest and its Chroma collection. `writable` takes the folder's ingest lock.

    `embedder` (a `make_embedder` spec) must be the one the corpus was built with; None means that one (or
    the default for a new corpus). `embed` replaces the embedder's function (tests, benches).
    """

    def __init__(
        self,
        corpus_dir: Path,
        *,
        embedder: str | None = None,
        embed: Embedder | None = None,
        chroma_host: str | None = None,
        chroma_port: int | None = None,
        writable: bool = False,
    ) -> None:
        self.dir = Path(corpus_dir)
        self._lock: Any = None
        try:
            self._open(embedder, embed, chroma_host, chroma_port, writable)
        except BaseException:
            self.close()
            raise

    def _open(
        self,
        embedder: str | None,
        embed: Embedder | None,
        chroma_host: str | None,
        chroma_port: int | None,
        writable: bool,
    ) -> None:
        path = self.dir / MANIFEST
        if writable:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._lock = open(self.dir / LOCK, "a")  # noqa: SIM115 (held until close)
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._lock.close()
                raise CorpusError(f"{self.dir}: another ingest is writing to this corpus") from None
        elif not path.is_file():
            raise CorpusError(f"{self.dir}: not a corpus (no {MANIFEST}); make one with `explore-instruct ingest`")
        if path.is_file():
            self.manifest = read_manifest(self.dir, embedder)
        else:
            self.manifest = Manifest(embedder=embedder or DEFAULT_EMBEDDER)
        # Where the chunks live is part of the corpus: a reader that names no server finds the one it was
        # built on, rather than an empty folder beside the manifest.
        server = f"{chroma_host}:{chroma_port or 8000}" if chroma_host else None
        if server is None and self.manifest.chroma_server:
            chroma_host, _, port = self.manifest.chroma_server.rpartition(":")
            chroma_port = int(port)
        elif self.manifest.documents and server != self.manifest.chroma_server:
            where = self.manifest.chroma_server or f"{self.dir / CHROMA_DIR}"
            raise CorpusError(f"{self.dir}: its chunks are in {where}; open it there or use a new corpus folder")
        else:
            self.manifest.chroma_server = server
        self._embed = embed
        client = chroma_client(None if chroma_host else str(self.dir / CHROMA_DIR), chroma_host, chroma_port)
        self.collection = client.get_or_create_collection(
            collection_name(self.dir), configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )

    # ---- reading ---------------------------------------------------------------------------------------

    @property
    def documents(self) -> dict[str, DocEntry]:
        return self.manifest.documents

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings in the embedder's batches; the model loads on first use (a no-op ingest never loads it)."""
        if self._embed is None:
            self._embed = make_embedder(self.manifest.embedder)
        parts = [self._embed(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]
        return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)

    def count(self) -> int:
        return int(self.collection.count())

    def _all_metadata(self) -> list[tuple[str, dict[str, Any]]]:
        rows: list[tuple[str, dict[str, Any]]] = []
        offset = 0
        while True:
            got = self.collection.get(include=["metadatas"], limit=_PAGE, offset=offset)
            rows.extend(zip(got["ids"], got["metadatas"] or [], strict=True))
            if len(got["ids"]) < _PAGE:
                return rows
            offset += _PAGE

    def chunks(self, ids: Sequence[str]) -> list[Chunk]:
        """The stored chunks with these ids, in the order asked (unknown ids left out)."""
        got = self.collection.get(ids=list(ids), include=["documents", "metadatas"])
        found = {
            i: Chunk.from_stored(i, text or "", dict(meta or {}))
            for i, text, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True)
        }
        return [found[i] for i in ids if i in found]

    def query(self, text: str, k: int = 5, where: dict[str, Any] | None = None) -> list[Hit]:
        """The k chunks nearest to `text`, best first, with their cosine similarity."""
        return self._query(self.embed([text])[0], k, where)[0]

    def mmr(
        self, text: str, k: int = 5, fetch_k: int = 20, lambda_mult: float = 0.5, where: dict[str, Any] | None = None
    ) -> list[Hit]:
        """k chunks picked for relevance and variety (maximal marginal relevance) among the fetch_k nearest."""
        from langchain_core.vectorstores.utils import maximal_marginal_relevance

        query = self.embed([text])[0]
        hits, vectors = self._query(query, max(k, fetch_k), where)
        if not hits:
            return []
        picked = maximal_marginal_relevance(query, vectors, lambda_mult=lambda_mult, k=min(k, len(hits)))
        return [hits[i] for i in picked]

    def _query(self, vector: np.ndarray, k: int, where: dict[str, Any] | None) -> tuple[list[Hit], list[list[float]]]:
        if k < 1 or self.count() == 0:
            return [], []
        res = self.collection.query(
            query_embeddings=[vector.tolist()],
            n_results=k,
            where=where,
            include=["documents", "metadatas", "distances", "embeddings"],
        )
        ids = res["ids"][0]
        docs, metas = (res["documents"] or [[]])[0], (res["metadatas"] or [[]])[0]
        dists, vecs = (res["distances"] or [[]])[0], (res["embeddings"] or [[]])[0]
        hits = [
            Hit(Chunk.from_stored(i, text or "", dict(meta or {})), 1.0 - float(d))
            for i, text, meta, d in zip(ids, docs, metas, dists, strict=True)
        ]
        return hits, [list(map(float, v)) for v in vecs]

    # ---- writing ---------------------------------------------------------------------------------------

    def reconcile(self) -> int:
        """Delete chunks no manifest entry owns and forget entries whose chunks are not all there.

        Returns how many chunks were deleted. Called when a writer opens the store: after a kill it makes
        Chroma and the manifest agree again before anything new is written.
        """
        owned = {(e.path, e.sha256) for e in self.documents.values()}
        stray: list[str] = []
        held: Counter[tuple[str, str]] = Counter()
        for cid, meta in self._all_metadata():
            key = (str(meta.get("doc")), str(meta.get("sha256")))
            if key in owned:
                held[key] += 1
            else:
                stray.append(cid)
        for s in range(0, len(stray), _PAGE):
            self.collection.delete(ids=stray[s : s + _PAGE])
        missing = {p for p, e in self.documents.items() if held[(e.path, e.sha256)] != e.chunks}
        if missing:  # their chunks were lost (a deleted chroma/ folder): forget them, so they are ingested anew
            ids = [cid for cid, meta in self._all_metadata() if str(meta.get("doc")) in missing]
            for s in range(0, len(ids), _PAGE):
                self.collection.delete(ids=ids[s : s + _PAGE])
            self.forget(sorted(missing))
        return len(stray)

    def forget(self, paths: Sequence[str]) -> None:
        """Drop documents from the manifest (first) and their chunks from Chroma (then)."""
        paths = [p for p in paths if p in self.documents]
        if not paths:
            return
        for p in paths:
            del self.documents[p]
        self._save()
        for s in range(0, len(paths), 100):
            self.collection.delete(where={"doc": {"$in": list(paths[s : s + 100])}})

    def put(self, batch: Sequence[tuple[DocEntry, list[Chunk]]], vectors: np.ndarray | None = None) -> None:
        """Store documents with their chunks, replacing any earlier version of each path; manifest last."""
        if not batch:
            return
        self.forget([entry.path for entry, _ in batch])
        chunks = [c for _, cs in batch for c in cs]
        if chunks:
            if vectors is None:
                vectors = self.embed([c.text for c in chunks])
            for s in range(0, len(chunks), _PAGE):
                part = chunks[s : s + _PAGE]
                self.collection.upsert(
                    ids=[c.chunk_id for c in part],
                    embeddings=vectors[s : s + _PAGE].tolist(),
                    documents=[c.text for c in part],
                    metadatas=[c.metadata() for c in part],
                )
        for entry, _ in batch:
            self.documents[entry.path] = entry
        self._save()

    def rename(self, old: str, new: str, source: str | None = None) -> None:
        """Give a stored document a new name, its chunks kept (no embedding). Chunks are relabelled first, the
        manifest last: a kill in between leaves chunks no entry owns and an entry without its chunks, which
        `reconcile` deletes and forgets, so the document is ingested anew, never doubled."""
        entry = self.documents[old]
        ids, metas = [], []
        offset = 0
        while True:
            got = self.collection.get(where={"doc": old}, include=["metadatas"], limit=_PAGE, offset=offset)
            ids += got["ids"]
            metas += [{**dict(m or {}), "doc": new} for m in got["metadatas"] or []]
            if len(got["ids"]) < _PAGE:
                break
            offset += _PAGE
        for s in range(0, len(ids), _PAGE):
            self.collection.update(ids=ids[s : s + _PAGE], metadatas=metas[s : s + _PAGE])
        del self.documents[old]
        self.documents[new] = entry.model_copy(update={"path": new, "source": source or entry.source})
        self._save()

    def set_source(self, name: str, source: str) -> None:
        """Record where a stored document was read this time (saved only when it changed)."""
        entry = self.documents[name]
        if entry.source != source:
            entry.source = source
            self._save()

    def _save(self) -> None:
        write_text_atomic(self.dir / MANIFEST, json.dumps(self.manifest.model_dump(), ensure_ascii=False, indent=1))

    def close(self) -> None:
        lock = self._lock
        if lock is not None and not lock.closed:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()

    def __enter__(self) -> CorpusStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
