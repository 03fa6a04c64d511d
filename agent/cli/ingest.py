"""`ingest`: documents (PDF, HTML, Markdown, text, DOCX) into a corpus folder that grounded runs retrieve from.

The work is `tools/corpus/ingest.py`; this face parses the options, shows a progress bar on a terminal, and
prints either a short summary or the report as JSON. Files that cannot be read are listed with their reason
and do not fail the command: only a corpus that cannot be opened (locked, another embedder) exits non-zero.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from explore_instruct.agent.cli.console import guard, say
from explore_instruct.tools.corpus.ingest import DEFAULT_MAX_BYTES, IngestReport


def ingest_cmd(
    paths: Annotated[list[str], typer.Argument(help="Files, folders (walked recursively) or glob patterns.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Corpus folder (created if new; re-ingesting reuses it).")],
    max_mb: Annotated[float, typer.Option("--max-mb", help="Skip files larger than this (MB).")] = DEFAULT_MAX_BYTES
    / 1e6,
    chunk_size: Annotated[
        int | None,
        typer.Option(
            min=200, help="Characters a chunk holds at most (default 1000; fixed per corpus; flat: a task per chunk)."
        ),
    ] = None,
    chroma_host: Annotated[str | None, typer.Option(help="Chroma server host (default: on disk in --out).")] = None,
    chroma_port: Annotated[int | None, typer.Option(help="Chroma server port.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Parse, chunk and embed documents into a corpus; unreadable files are skipped with a reason."""

    def run() -> IngestReport:
        from explore_instruct.tools.corpus.chunk import CHUNK_SIZE
        from explore_instruct.tools.corpus.ingest import ingest

        if max_mb <= 0:
            raise ValueError(f"--max-mb: {max_mb} must be above 0")
        return ingest(
            paths,
            out_dir,
            max_bytes=int(max_mb * 1e6),
            chunk_size=chunk_size or CHUNK_SIZE,
            chroma_host=chroma_host,
            chroma_port=chroma_port,
            progress=not as_json and sys.stderr.isatty(),
        )

    report = guard(run)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    print_summary(report, out_dir)


def print_summary(report: IngestReport, out_dir: Path) -> None:
    chunks = sum(d.chunks for d in report.documents)
    say(
        f"{len(report.documents)} documents, {chunks} chunks in {out_dir} "
        f"({report.embedded} chunks embedded now, {report.reused} unchanged documents reused); "
        f"{len(report.skipped)} skipped"
    )
    for s in report.skipped:
        say(f"  skipped {s.path}: {s.reason}")


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_cmd)
