"""The chunks a task of a grounded run was grounded on, as the task panel's "Sources" tab shows them.

A grounded run's kept examples each cite `sources: [{doc, chunk_id, page, quote}]` (docs/grounding.md). A reviewer
checks a task against its documents: so each chunk its examples cite is shown once, with its document, page and
heading path, its whole text with every quote cited from it highlighted, and how many examples cite it. The text
comes from the run's own corpus (`docs` in run.json, or the corpus ingested into the run directory), opened
read-only through `retrieve.open_corpus`; only chunks the run's examples cite are read, so the page shows nothing
of the corpus the run did not already quote from. A run without sources gets one line saying so. A document is
named relative to its corpus's folder (names.doc_name), and a line about the corpus names no server path either.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from explore_instruct.agent.errors import one_line
from explore_instruct.agent.web import names, tables
from explore_instruct.agent.web.tree_view import RunView
from explore_instruct.tools.dataset.provenance import run_docs

NOT_GROUNDED = "This run was not grounded in documents (no `--docs`): its examples cite no sources."
MAX_CHUNKS = 30  # chunks shown for one task (its most cited first)


def cited(view: RunView, task: str) -> dict[str, dict[str, Any]]:
    """chunk id -> {doc, page, quotes, examples} over the task's kept examples (curation applied), most cited first."""
    out: dict[str, dict[str, Any]] = defaultdict(lambda: {"doc": "", "page": None, "quotes": [], "examples": 0})
    for example in view.view.tree.nodes[task].examples:
        for source in (example.model_extra or {}).get("sources") or []:
            if not isinstance(source, dict) or not source.get("chunk_id"):
                continue
            entry = out[str(source["chunk_id"])]
            entry["doc"], entry["page"] = str(source.get("doc") or ""), source.get("page")
            entry["examples"] += 1
            if source.get("quote") and source["quote"] not in entry["quotes"]:
                entry["quotes"].append(str(source["quote"]))
    return dict(sorted(out.items(), key=lambda kv: -kv[1]["examples"]))


def _server(run_dir: Path) -> tuple[str | None, int | None]:
    try:
        context = json.loads((run_dir / "run.json").read_text(encoding="utf-8")).get("context") or {}
    except (OSError, ValueError, AttributeError):
        return None, None
    return context.get("chroma_host"), context.get("chroma_port")


def chunk_texts(run_dir: Path, ids: list[str]) -> tuple[dict[str, Any], str]:
    """The stored chunks (id -> Chunk) of the run's corpus, and a line saying why there are none when so."""
    from explore_instruct.tools.corpus.retrieve import open_corpus

    docs = run_docs(run_dir)
    if not docs:
        return {}, "The run names no corpus; the citations are shown without their chunks."
    try:
        store = open_corpus(docs, *_server(run_dir))
        return {c.chunk_id: c for c in store.chunks(ids)}, ""
    except Exception as e:
        why = names.hide(one_line(e), [Path(docs).parent, run_dir.parent])
        return {}, f"The run's corpus cannot be read ({why}); the citations are shown without their chunks."


def _quoted(text: str, quotes: list[str]) -> str:
    """The chunk's text with every quote found in it highlighted (of two overlapping quotes, the earlier one)."""
    spans = sorted(s for q in quotes if (s := tables.find_span(text, q)) is not None)
    out, at = [], 0
    for start, end in spans:
        if start < at:
            continue  # overlapping quotes: the first one marked wins
        out.append(tables.text(text[at:start]) + f"<mark>{tables.text(text[start:end])}</mark>")
        at = end
    return "".join(out) + tables.text(text[at:])


def panel(view: RunView, task: str) -> str:
    """HTML: one block per chunk the task's examples cite (most cited first, at most MAX_CHUNKS)."""
    chunks = cited(view, task)
    if not chunks:
        grounded = not view.is_run or run_docs(view.source)
        line = "No example of this task cites a source." if grounded else NOT_GROUNDED
        return f'<p class="wb-empty">{tables.text(line)}</p>'
    shown = list(chunks)[:MAX_CHUNKS]
    stored, note = chunk_texts(view.source, shown) if view.is_run else ({}, "")
    corpus = run_docs(view.source) if view.is_run else None
    blocks = [f'<p class="wb-empty">{tables.text(note)}</p>'] if note else []
    for cid in shown:
        entry, chunk = chunks[cid], stored.get(cid)
        page = chunk.page if chunk is not None else entry["page"]
        doc = entry["doc"] or (chunk.doc if chunk else "")
        where = [names.doc_name(doc, corpus) if doc else "", f"page {page}" if page is not None else ""]
        heading = " › ".join(chunk.headings) if chunk is not None and chunk.headings else ""
        head = " · ".join(x for x in [*where, heading] if x)
        count = f"cited by {entry['examples']} example{'s' if entry['examples'] != 1 else ''}"
        if chunk is not None:
            body = _quoted(chunk.text, entry["quotes"])
        else:
            body = "<br>".join(f"<mark>{tables.text(q)}</mark>" for q in entry["quotes"])
        blocks.append(
            f'<div class="wb-chunk" data-chunk="{tables.text(cid)}"><p><b>{tables.text(head)}</b> '
            f"<code>{tables.text(cid)}</code> · {count}</p><blockquote>{body}</blockquote></div>"
        )
    if len(chunks) > MAX_CHUNKS:
        blocks.append(f'<p class="wb-empty">and {len(chunks) - MAX_CHUNKS} more chunks</p>')
    return "".join(blocks)
