"""A corpus's manifest (`corpus.json`): which documents, at which sha256, gave how many chunks, embedded how and
stored where. It is the corpus's truth (tools/corpus/store.py writes it only after the chunks are in Chroma).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from explore_instruct.tools.corpus.chunk import CHUNK_OVERLAP, CHUNK_SIZE
from explore_instruct.tools.similarity.embeddings import DEFAULT_EMBEDDER

MANIFEST = "corpus.json"


class CorpusError(ValueError):
    """A corpus that cannot be opened as asked; one line."""


class DocEntry(BaseModel):
    path: str  # the document's name in the corpus: relative to the folder it was ingested from (ingest.py)
    # Where it was last read (absolute), so a re-ingest can check a stored twin by hash; kept in the manifest only,
    # never in chunks, sources, exports or the card. None in corpora from before it was recorded.
    source: str | None = None
    sha256: str
    format: str
    pages: int | None = None
    chunks: int


class Manifest(BaseModel):
    version: int = 1
    embedder: str = DEFAULT_EMBEDDER
    chunk_size: int = CHUNK_SIZE
    chunk_overlap: int = CHUNK_OVERLAP
    chroma_server: str | None = None  # host:port when the chunks are on a Chroma server, else chroma/ here
    documents: dict[str, DocEntry] = Field(default_factory=dict)  # by path


def read_manifest(corpus_dir: Path, embedder: str | None = None) -> Manifest:
    """The folder's manifest; `embedder`, when given, must be the one the corpus was built with."""
    path = corpus_dir / MANIFEST
    try:
        manifest = Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise CorpusError(f"{path}: not a corpus manifest ({type(e).__name__})") from None
    if embedder is not None and manifest.embedder != embedder:
        raise CorpusError(f"{corpus_dir}: embedded with {manifest.embedder}, not {embedder}; use a new corpus folder")
    return manifest
