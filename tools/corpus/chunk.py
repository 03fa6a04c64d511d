"""Sections into chunks small enough to embed and to show a model, each carrying its provenance.

`RecursiveCharacterTextSplitter` (langchain-text-splitters) cuts at paragraphs, then lines, then words, so
a chunk rarely stops mid-sentence. Chunks never cross sections: a chunk has one page and one heading path.
MiniLM reads about 256 word pieces (~1000-1200 characters of English), so chunks of up to 1000 characters
are embedded whole; the overlap keeps a sentence cut at a boundary findable from either side.

A chunk's id is `<first 16 hex of the file's sha256>:<index>`: the same bytes always give the same ids, so
writing a document's chunks twice (a resumed ingest) overwrites rather than doubles them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from explore_instruct.tools.corpus.parse import Format, ParsedDoc

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 100


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc: str  # the document's path, as the manifest holds it
    sha256: str
    format: Format
    index: int  # position of the chunk in its document
    start: int  # [start, end) in the document's extracted text
    end: int
    text: str
    page: int | None = None
    headings: tuple[str, ...] = ()

    def metadata(self) -> dict[str, Any]:
        """Chroma metadata: scalars only, so the heading path is a JSON list and a missing page is absent."""
        meta: dict[str, Any] = {
            "doc": self.doc,
            "sha256": self.sha256,
            "format": self.format,
            "index": self.index,
            "start": self.start,
            "end": self.end,
            "headings": json.dumps(list(self.headings), ensure_ascii=False),
        }
        if self.page is not None:
            meta["page"] = self.page
        return meta

    @classmethod
    def from_stored(cls, chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
        return cls(
            chunk_id=chunk_id,
            doc=str(meta["doc"]),
            sha256=str(meta["sha256"]),
            format=meta["format"],
            index=int(meta["index"]),
            start=int(meta["start"]),
            end=int(meta["end"]),
            text=text,
            page=int(meta["page"]) if meta.get("page") is not None else None,
            headings=tuple(json.loads(meta.get("headings") or "[]")),
        )


def chunk_id(sha256: str, index: int) -> str:
    return f"{sha256[:16]}:{index}"


def chunk_document(
    parsed: ParsedDoc, doc: str, sha256: str, size: int = CHUNK_SIZE, overlap: int = CHUNK_OVERLAP
) -> list[Chunk]:
    """Every section split into chunks of at most `size` characters, in document order."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    if not 0 <= overlap < size:
        raise ValueError(f"chunking: overlap {overlap} must be at least 0 and below the size {size}")
    splitter = RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=overlap, add_start_index=True)
    chunks: list[Chunk] = []
    for section in parsed.sections:
        for piece in splitter.create_documents([section.text]):
            at = int(piece.metadata["start_index"])
            if at < 0 or section.text[at : at + len(piece.page_content)] != piece.page_content:
                at = section.text.find(piece.page_content)  # the splitter's own search missed: search it all
            if at < 0:  # cannot happen with this splitter (pieces are substrings); never store a wrong span
                raise ValueError(f"{doc}: a chunk is not a span of its section")
            start = section.start + at
            index = len(chunks)
            chunks.append(
                Chunk(
                    chunk_id=chunk_id(sha256, index),
                    doc=doc,
                    sha256=sha256,
                    format=parsed.format,
                    index=index,
                    start=start,
                    end=start + len(piece.page_content),
                    text=piece.page_content,
                    page=section.page,
                    headings=section.headings,
                )
            )
    return chunks
