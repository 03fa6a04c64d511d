"""Corpus test helpers: documents made by the libraries that write each format, and a counting embedder.

`HashEmbedder` is a bag of hashed words (cosine similarity follows shared words), so retrieval answers are
predictable without loading MiniLM, and it counts the texts it embeds: a reused document must cost none.
Run as `python -m support.corpus OUT PATH...` it ingests with a slow HashEmbedder and one document per write,
so a test can SIGKILL it between and inside writes.
"""

from __future__ import annotations

import hashlib
import io
import re
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

DIM = 64
SPEC = "test:hash"  # the embedder spec a corpus made here records; `hashed_corpus` makes the store resolve it


class HashEmbedder:
    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.texts = 0
        self.delay = delay

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        if self.delay:
            time.sleep(self.delay)
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest()[:6], 16) % DIM] += 1.0
            out[row, DIM - 1] += 1e-3  # never the zero vector
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def write_markdown(folder: Path, topics: dict[str, str], sections: int = 3, *, work: bool = False) -> list[Path]:
    """One Markdown document a topic (`name: title`), a `## TITLE section J` heading a section, two rules in each;
    `work` adds a third sentence tying every section to work email (shared words for grounded retrieval)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, title in topics.items():
        sections_text = []
        for j in range(1, sections + 1):
            text = f"The {name} rule number {j} says to keep every {name} short and clear"
            text += " for the reader." if work else "."
            text += f" A good {name} part {j} names its purpose in the first line."
            text += f" Email part {j} helps work writing." if work else ""
            sections_text.append(f"## {title} section {j}\n\n{text}")
        body = "\n\n".join(sections_text)
        path = folder / f"{name}.md"
        path.write_text(f"# {title}\n\n{body}\n", encoding="utf-8")
        paths.append(path)
    return paths


@contextmanager
def hashed_corpus(docs: Path, out: Path, monkeypatch: Any) -> Iterator[Path]:
    """`docs` ingested into the corpus `out` with `HashEmbedder` (spec `SPEC`), which the store resolves while
    this lasts; the retrieval cache is cleared on the way in and out."""
    from explore_instruct.tools.corpus import retrieve, store
    from explore_instruct.tools.corpus.ingest import ingest

    real = store.make_embedder
    monkeypatch.setattr(store, "make_embedder", lambda spec: HashEmbedder() if spec == SPEC else real(spec))
    ingest([docs], out, embed=HashEmbedder(), embedder=SPEC)
    retrieve.forget_corpora()
    try:
        yield out
    finally:
        retrieve.forget_corpora()


def chunk_texts(corpus: Path) -> dict[str, str]:
    """Every chunk of a corpus by id."""
    from explore_instruct.tools.corpus.store import CorpusStore

    with CorpusStore(corpus, embed=HashEmbedder()) as s:
        got = s.collection.get(include=["documents"])
        return dict(zip(got["ids"], got["documents"] or [], strict=True))


def make_pdf(pages: Sequence[tuple[str | None, str]], password: str | None = None) -> bytes:
    """One PDF page per (outline title or None, text), written by fpdf2; encrypted by pypdf if a password is given."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for title, text in pages:
        pdf.add_page()
        if title is not None:
            level = title.count("/")
            pdf.start_section(title.rsplit("/", 1)[-1], level=level)
        pdf.multi_cell(0, 6, text)
    data = bytes(pdf.output())
    if password is None:
        return data
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=password, owner_password=password + "-owner")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def make_docx(blocks: Sequence[tuple[str, str]]) -> bytes:
    """(style, text) paragraphs, e.g. ("Heading 1", "Install"), ("", "body"); ("table", "a|b;c|d") a table."""
    from docx import Document

    doc = Document()
    for style, text in blocks:
        if style == "table":
            rows = [r.split("|") for r in text.split(";")]
            table = doc.add_table(rows=len(rows), cols=len(rows[0]))
            for i, row in enumerate(rows):
                for j, cell in enumerate(row):
                    table.cell(i, j).text = cell
        elif style.startswith("Heading "):
            doc.add_heading(text, level=int(style.split()[1]))
        else:
            doc.add_paragraph(text)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def main(argv: list[str]) -> None:
    from explore_instruct.tools.corpus import ingest as ingest_module

    ingest_module.FLUSH_CHUNKS = 1  # every document is its own write: many kill points between and inside them
    out, *paths = argv
    report = ingest_module.ingest(paths, out, embed=HashEmbedder(delay=0.05), embedder="test:hash")
    print(len(report.documents), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
