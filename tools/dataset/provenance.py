"""Provenance of a grounded run: the corpus it drew on, and how much of it the kept examples cite.

Coverage is the grounded search's own goal made measurable: the share of the corpus's chunks that at least one
kept example cites, which documents are cited and how unevenly (per-document skew), and the share of examples
that carry a verified quote (the quote gate drops the rest, so in a grounded run this should be 1.0; a seed's
examples cite nothing). The card lists the corpus by path, sha256 and chunk count, never its text: the only
document text a dataset carries is its examples' quotes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

MANIFEST = "corpus.json"  # tools/corpus/store.py; read as JSON here so a report needs no Chroma


def corpus_manifest(docs: str | Path | None) -> dict[str, Any] | None:
    """The corpus's manifest (documents with sha256 and chunk counts), or None when there is none to read."""
    if not docs:
        return None
    path = Path(docs) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("documents"), dict) else None


def corpus_coverage(manifest: Mapping[str, Any], sources: Iterable[list[dict[str, Any]] | None]) -> dict[str, Any]:
    """Coverage of `manifest`'s corpus by examples with these `sources` lists (one per kept example)."""
    docs: dict[str, Any] = dict(manifest.get("documents") or {})
    total_chunks = sum(int(d.get("chunks") or 0) for d in docs.values())
    chunks: set[str] = set()
    per_doc: Counter[str] = Counter()
    examples = quoted = 0
    for srcs in sources:
        examples += 1
        good = [s for s in srcs or [] if isinstance(s, dict) and s.get("chunk_id") and s.get("quote")]
        if good:
            quoted += 1
        for s in good:
            chunks.add(str(s["chunk_id"]))
            per_doc[str(s.get("doc"))] += 1
    counts = [per_doc.get(p, 0) for p in docs]
    mean = sum(counts) / len(counts) if counts else 0.0
    return {
        "documents": len(docs),
        "chunks": total_chunks,
        "chunks_cited": len(chunks),
        "chunk_coverage": round(len(chunks) / total_chunks, 4) if total_chunks else 0.0,
        "documents_cited": sum(1 for c in counts if c),
        "citations_per_document": dict(sorted(per_doc.items())),
        # max / mean citations over the corpus's documents: 1.0 is even, higher is skewed toward a few
        "document_skew": round(max(counts) / mean, 3) if mean else None,
        "examples": examples,
        "examples_with_verified_quote": quoted,
        "verified_quote_share": round(quoted / examples, 4) if examples else 0.0,
    }


def run_docs(run_dir: Path) -> str | None:
    """The corpus folder a run was given (`docs` in run.json), or None."""
    try:
        meta = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    docs = (meta.get("context") or {}).get("docs") if isinstance(meta, dict) else None
    if docs and not (Path(docs) / MANIFEST).is_file() and (run_dir / "corpus" / MANIFEST).is_file():
        return str(run_dir / "corpus")  # raw documents, ingested into the run directory
    return str(docs) if docs else None


def run_corpus_stats(run_dir: Path) -> dict[str, Any]:
    """`{"corpus": coverage}` for a grounded run directory (examples.jsonl against its corpus), else {}."""
    manifest = corpus_manifest(run_docs(run_dir))
    path = run_dir / "examples.jsonl"
    if manifest is None or not path.is_file():
        return {}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {"corpus": corpus_coverage(manifest, (r.get("sources") for r in rows))}


def corpus_card_section(
    context: Mapping[str, Any], sources: Iterable[list[dict[str, Any]] | None], run_dir: Path | None = None
) -> list[str]:
    """The card's `## Corpus`: each document by path, sha256 and chunks, and the coverage of these examples."""
    manifest = corpus_manifest((run_docs(run_dir) if run_dir is not None else None) or context.get("docs"))
    if manifest is None:
        return []
    cov = corpus_coverage(manifest, sources)
    lines = [
        "",
        "## Corpus",
        "",
        "Examples were grounded in these documents; each carries `sources` (document, chunk id, page and a quote",
        "verified to be a span of the chunk). No document text is copied here beyond those quotes.",
        "",
        f"- chunks cited by at least one example: {cov['chunks_cited']} of {cov['chunks']} "
        f"({cov['chunk_coverage']:.0%}); documents cited: {cov['documents_cited']} of {cov['documents']}",
        f"- examples with a verified quote: {cov['examples_with_verified_quote']} of {cov['examples']}",
        "",
        "| document | sha256 | chunks | citations |",
        "| --- | --- | --- | --- |",
    ]
    for path, doc in sorted((manifest.get("documents") or {}).items()):
        cited = cov["citations_per_document"].get(path, 0)
        name = str(path).replace("|", "\\|")
        lines.append(f"| {name} | `{str(doc.get('sha256', ''))[:16]}` | {doc.get('chunks', 0)} | {cited} |")
    return lines
