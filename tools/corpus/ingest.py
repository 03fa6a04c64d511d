"""Files, folders and globs into a corpus: parse, chunk, embed, store; every unreadable file a recorded skip.

The report is what `explore-instruct ingest --json` prints: `{"documents": [...], "skipped": [...]}`. A file
is skipped with one line saying why (unsupported type, over the size cap, empty, binary, not UTF-8, a corrupt
or encrypted PDF, a symlink loop, ...) and the others go on: one bad file in a folder of thousands must not
cost the rest, and a person must be able to see what was left out.

Re-ingesting is cheap: a file whose sha256 under the same name is in the manifest keeps its chunks (nothing is
parsed or embedded); a changed file replaces its chunks. Chunks are written in batches across documents (the
embedder is fastest on full batches) and a document enters the manifest only once all its chunks are in, so a
killed ingest, run again, finishes without doubling anything (see store.py).

Documents are named relative to the folder they were ingested from, never by their absolute path (walk.py says
how); where a document was read is kept only in the manifest (`source`, to check a stored twin by hash). A file
met again under a new name keeps its chunks, renamed, and so does a corpus from before this rule (absolute names)
when its files are ingested again; until then an old corpus loads and shows its absolute names as they are.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, Field

from explore_instruct.tools.corpus.chunk import CHUNK_OVERLAP, CHUNK_SIZE, Chunk, chunk_document
from explore_instruct.tools.corpus.manifest import CorpusError, DocEntry
from explore_instruct.tools.corpus.parse import Format, ParseError, format_of, parse_bytes
from explore_instruct.tools.corpus.store import CorpusStore
from explore_instruct.tools.corpus.walk import collect as collect  # re-exported: bench/ingest.py
from explore_instruct.tools.corpus.walk import collect_named, os_reason
from explore_instruct.tools.similarity.embeddings import BATCH, DEFAULT_EMBEDDER, Embedder

DEFAULT_MAX_BYTES = 50_000_000  # 50 MB: a manual is rarely larger; a 200 MB log or dump is not a document
FLUSH_CHUNKS = BATCH  # chunks gathered across documents before one embed-and-write


class DocumentReport(BaseModel):
    path: str
    sha256: str
    format: str
    pages: int | None
    chunks: int


class SkipReport(BaseModel):
    path: str
    reason: str


class IngestReport(BaseModel):
    documents: list[DocumentReport] = Field(default_factory=list)
    skipped: list[SkipReport] = Field(default_factory=list)
    # For the human summary and the bench; not part of the JSON (its shape is fixed by the CLI's contract).
    reused: int = Field(default=0, exclude=True)  # documents whose chunks were kept as they were
    embedded: int = Field(default=0, exclude=True)  # chunks embedded by this call
    seconds: dict[str, float] = Field(default_factory=dict, exclude=True)  # wall time by phase

    def skip(self, path: str, reason: str) -> None:
        self.skipped.append(SkipReport(path=path, reason=reason))


def read_file(path: str, max_bytes: int) -> tuple[Format, bytes] | str:
    """The file's format and bytes, or the reason it is skipped."""
    fmt = format_of(os.path.basename(path))
    if fmt is None:
        suffix = os.path.splitext(path)[1] or "(no suffix)"
        return f"unsupported file type {suffix}"
    try:
        st = os.stat(path)
        if not os.path.isfile(path):
            return "not a regular file"
        if st.st_size > max_bytes:
            return f"over the size cap ({_mb(st.st_size)} > {_mb(max_bytes)})"
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        return os_reason(e)
    if len(data) > max_bytes:  # grew while we looked
        return f"over the size cap (> {_mb(max_bytes)})"
    if not data:
        return "empty file"
    return fmt, data


def _where(entry: DocEntry) -> str | None:
    """Where a stored document was last read: its recorded source, else its name when that is absolute (a corpus
    from before documents were named relative to their folder)."""
    return entry.source or (entry.path if os.path.isabs(entry.path) else None)


def _same_file(stored: str | None, path: str) -> bool:
    try:
        return stored is not None and os.path.samefile(stored, path)
    except OSError:
        return False


def _holds(path: str | None, sha256: str) -> bool:
    """Whether the file at `path` has this sha256 now (a stored twin may have moved or changed since)."""
    if path is None:
        return False
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest() == sha256
    except OSError:
        return False


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n} bytes"


def ingest(
    paths: Iterable[str | Path],
    out_dir: str | Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    embedder: str = DEFAULT_EMBEDDER,
    embed: Embedder | None = None,
    chunk_size: int = CHUNK_SIZE,
    chunk_overlap: int = CHUNK_OVERLAP,
    chroma_host: str | None = None,
    chroma_port: int | None = None,
    progress: bool = False,
) -> IngestReport:
    """Ingest `paths` into the corpus at `out_dir` (created if new); skips are recorded, never raised.

    Raises CorpusError only for the corpus itself: another ingest holds it, or it was built with another
    embedder or chunking.
    """
    from tqdm import tqdm

    out = Path(out_dir)
    report = IngestReport()
    clock = time.perf_counter()
    files = collect_named(paths, report, exclude=out)
    with CorpusStore(
        out, embedder=embedder, embed=embed, chroma_host=chroma_host, chroma_port=chroma_port, writable=True
    ) as store:
        manifest = store.manifest
        if manifest.documents and (manifest.chunk_size, manifest.chunk_overlap) != (chunk_size, chunk_overlap):
            raise CorpusError(
                f"{out}: chunked at {manifest.chunk_size}/{manifest.chunk_overlap} characters, "
                f"not {chunk_size}/{chunk_overlap}; use a new corpus folder"
            )
        manifest.chunk_size, manifest.chunk_overlap = chunk_size, chunk_overlap
        store.reconcile()
        report.seconds["open"] = time.perf_counter() - clock
        writer = _Writer(store, report)
        # Chunk ids come from the content, so two documents with the same bytes must never both be stored:
        # `shas` maps each stored (or about to be stored) sha256 to its one name; `seen` are the names whose
        # bytes this call has read, so their sha256 is known to be current.
        shas = {e.sha256: e.path for e in store.documents.values()}
        seen: set[str] = set()
        bar = tqdm(files, disable=not progress, file=sys.stderr, unit="file", desc="ingest", dynamic_ncols=True)
        for path, name in bar:
            got = read_file(path, max_bytes)
            if isinstance(got, str):
                report.skip(path, got)
                continue
            fmt, data = got
            sha = hashlib.sha256(data).hexdigest()
            seen.add(name)
            old = store.documents.get(name)
            if old is not None and old.sha256 == sha:
                store.set_source(name, path)  # the folder may have moved: where to look for it next time
                report.documents.append(DocumentReport(**old.model_dump()))
                report.reused += 1
                continue
            if old is not None and shas.get(old.sha256) == name:
                del shas[old.sha256]  # that content is no longer at this name
            twin = shas.get(sha)
            if twin is not None and twin not in seen and _same_file(_where(store.documents[twin]), path):
                # this very file, stored under another name (an older corpus's absolute one, or ingested from
                # another folder): its chunks are kept and renamed, nothing is parsed or embedded again
                writer.flush()
                if old is not None:
                    store.forget([name])
                store.rename(twin, name, source=path)
                shas[sha] = name
                report.documents.append(DocumentReport(**store.documents[name].model_dump()))
                report.reused += 1
                continue
            if twin is not None and (twin in seen or _holds(_where(store.documents[twin]), sha)):
                report.skip(path, f"same content as {twin}")  # one copy is enough
                continue
            if twin is not None:  # moved here, or changed there since: its old entry goes (re-read if still named)
                store.forget([twin])
                del shas[sha]
            started = time.perf_counter()
            try:
                parsed = parse_bytes(data, fmt)
                chunks = chunk_document(parsed, name, sha, chunk_size, chunk_overlap)
            except ParseError as e:
                reason = str(e)
            except Exception as e:  # a parser's surprise on odd input: still one line, and the others go on
                reason = f"could not parse ({type(e).__name__}: {(str(e).splitlines() or [''])[0][:160]})"
            else:
                reason = ""
            report.seconds["parse"] = report.seconds.get("parse", 0.0) + time.perf_counter() - started
            if reason:
                if old is not None:  # the file changed into something unreadable: its old text is gone
                    writer.flush()
                    store.forget([name])
                    reason += "; its earlier chunks were removed"
                report.skip(path, reason)
                continue
            shas[sha] = name
            entry = DocEntry(path=name, source=path, sha256=sha, format=fmt, pages=parsed.pages, chunks=len(chunks))
            report.documents.append(DocumentReport(**entry.model_dump()))
            writer.add(entry, chunks)
            bar.set_postfix(chunks=report.embedded + writer.pending, refresh=False)
        writer.flush()
    report.seconds["total"] = time.perf_counter() - clock
    return report


class _Writer:
    """Documents wait here until FLUSH_CHUNKS chunks are gathered, then are embedded and stored together."""

    def __init__(self, store: CorpusStore, report: IngestReport) -> None:
        self.store, self.report = store, report
        self.batch: list[tuple[DocEntry, list[Chunk]]] = []
        self.pending = 0

    def add(self, entry: DocEntry, chunks: list[Chunk]) -> None:
        self.batch.append((entry, chunks))
        self.pending += len(chunks)
        if self.pending >= FLUSH_CHUNKS:
            self.flush()

    def flush(self) -> None:
        if not self.batch:
            return
        seconds = self.report.seconds
        started = time.perf_counter()
        texts = [c.text for _, cs in self.batch for c in cs]
        vectors = self.store.embed(texts) if texts else None
        embedded = time.perf_counter()
        self.store.put(self.batch, vectors)
        seconds["embed"] = seconds.get("embed", 0.0) + embedded - started
        seconds["store"] = seconds.get("store", 0.0) + time.perf_counter() - embedded
        self.report.embedded += self.pending
        self.batch, self.pending = [], 0
