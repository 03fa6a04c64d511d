"""Retrieval for a grounded run: the corpus a run names in `docs`, opened once per process, and what nodes ask of it.

A run's graph nodes ask the corpus many small questions (the chunks for a task, the best score of a proposed
name, the chunks no task reaches yet); opening Chroma for each would cost more than the query, so stores are kept
per corpus folder for the process's life (read only: the ingest lock is never taken). Every answer is a pure
function of the corpus and the question, so a resumed run retrieves what the killed one did.

What a prompt and an example carry is a `Passage` (plain JSON: id, document, page, heading path, text, score):
checkpoints stay portable and no Chroma object leaves this module.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any, TypedDict

from explore_instruct.tools.corpus.manifest import MANIFEST, CorpusError
from explore_instruct.tools.corpus.store import CorpusStore, Hit

__all__ = ["CorpusError", "Passage", "best_score", "chunk_ids", "open_corpus", "passages", "root_name", "source_of"]

FETCH_K = 20  # nearest chunks MMR picks its k from

_STORES: dict[tuple[str, str | None, int | None], CorpusStore] = {}
_STAMPS: dict[tuple[str, str | None, int | None], int] = {}  # the manifest's mtime when each store was opened
_LOCK = threading.Lock()


class Passage(TypedDict):
    chunk_id: str
    doc: str
    page: int | None
    headings: list[str]
    text: str
    score: float


def open_corpus(docs: str, chroma_host: str | None = None, chroma_port: int | None = None) -> CorpusStore:
    """The corpus at `docs` (a folder made by `ingest`), opened once per process (again after a re-ingest changed its
    manifest); a one-line CorpusError if not."""
    key = (str(Path(docs).expanduser().resolve()), chroma_host, chroma_port)
    manifest = Path(key[0]) / MANIFEST
    stamp = manifest.stat().st_mtime_ns if manifest.is_file() else 0
    with _LOCK:
        store = _STORES.get(key)
        if store is not None and _STAMPS.get(key) != stamp:  # re-ingested since: read the new manifest
            store.close()
            store = None
        if store is None:
            if not Path(key[0]).is_dir():
                raise CorpusError(f"docs: {docs!r} is not a corpus folder (make one with `explore-instruct ingest`)")
            store = CorpusStore(Path(key[0]), chroma_host=chroma_host, chroma_port=chroma_port)
            if store.count() == 0:
                raise CorpusError(f"docs: {docs!r} holds no chunks (ingest some documents into it first)")
            _STORES[key], _STAMPS[key] = store, stamp
        return store


def forget_corpora() -> None:
    """Close every opened corpus (tests that rebuild a corpus in the same folder)."""
    with _LOCK:
        _INGESTED.clear()
        for store in _STORES.values():
            store.close()
        _STORES.clear()


RUN_CORPUS = "corpus"  # where raw documents given as `docs` are ingested, inside the run directory
_INGESTED: set[tuple[str, str]] = set()


def resolve_docs(
    docs: str,
    run_dir: str | None,
    embedder: str,
    chroma_host: str | None = None,
    chroma_port: int | None = None,
) -> str:
    """The corpus folder for `docs`: itself when it is one (made by `ingest`), else the run directory's `corpus/`,
    into which `docs` (files or folders not yet ingested) is ingested once per process. Ingesting is resumable
    and reuses unchanged files by hash, so a resumed run re-reads nothing."""
    if (Path(docs) / MANIFEST).is_file() or not run_dir:
        return docs
    if not Path(docs).exists():
        raise CorpusError(f"docs: {docs!r} is neither a corpus folder nor a file or folder to ingest")
    out = Path(run_dir) / RUN_CORPUS
    key = (str(Path(docs).resolve()), str(out.resolve()))
    with _LOCK:
        if key not in _INGESTED:
            from explore_instruct.tools.corpus.ingest import ingest

            report = ingest([docs], out, embedder=embedder, chroma_host=chroma_host, chroma_port=chroma_port)
            manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8")) if (out / MANIFEST).is_file() else {}
            if not manifest.get("documents"):
                why = "; ".join(f"{s.path}: {s.reason}" for s in report.skipped[:3]) or "no documents"
                raise CorpusError(f"docs: nothing in {docs!r} could be ingested ({why})")
            _INGESTED.add(key)
    return str(out)


def _passage(hit: Hit) -> Passage:
    c = hit.chunk
    return Passage(
        chunk_id=c.chunk_id, doc=c.doc, page=c.page, headings=list(c.headings), text=c.text, score=round(hit.score, 4)
    )


def passages(store: CorpusStore, text: str, k: int) -> list[Passage]:
    """k chunks for `text`, picked for relevance and variety (MMR among the FETCH_K nearest)."""
    return [_passage(h) for h in store.mmr(text, k=k, fetch_k=max(FETCH_K, k))]


def best_score(store: CorpusStore, text: str) -> float:
    """The cosine similarity of `text` to its nearest chunk (0 for an empty corpus)."""
    hits = store.query(text, k=1)
    return hits[0].score if hits else 0.0


def _metadata(store: CorpusStore) -> list[tuple[str, dict[str, Any]]]:
    got = store.collection.get(include=["metadatas"])
    return list(zip(got["ids"], got["metadatas"] or [], strict=True))


def chunk_ids(store: CorpusStore) -> list[str]:
    """Every chunk id, in document then chunk order (a stable order for coverage and outlines)."""
    rows = _metadata(store)
    rows.sort(key=lambda r: (str(r[1].get("doc")), int(r[1].get("index") or 0)))
    return [cid for cid, _ in rows]


def root_name(store: CorpusStore) -> str:
    """A name for a corpus's root task: the top-level heading most of its chunks sit under, else the titles of a
    few documents, else the documents' folder (or the one file's) name."""
    tops: Counter[str] = Counter()
    for _, meta in _metadata(store):
        headings = json.loads(str(meta.get("headings") or "[]"))
        if headings and str(headings[0]).strip():
            tops[str(headings[0]).strip()] += 1
    if tops:
        ranked = tops.most_common()
        if ranked[0][1] * 2 > sum(tops.values()):  # one title holds most of the corpus
            return ranked[0][0][:200]
        if len(ranked) <= 3:  # a few documents: all their titles
            return ", ".join(sorted(name for name, _ in ranked))[:200]
    paths = sorted(store.documents)
    if len(paths) == 1:
        return Path(paths[0]).stem.replace("_", " ").replace("-", " ")
    parent = Path(paths[0]).parent.name if paths else ""
    return (parent or store.dir.name).replace("_", " ").replace("-", " ")


def source_of(p: Passage, quote: str) -> dict[str, Any]:
    """The provenance record an example carries: which document, chunk and page, and the verified quote."""
    return {"doc": p["doc"], "chunk_id": p["chunk_id"], "page": p["page"], "quote": quote}
