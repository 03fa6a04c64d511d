"""A small grounded run for the web tests: a corpus under the seed root and a run over it, both made in process.

The corpus (two Markdown documents with headings and a two-page PDF) is ingested with the counting `HashEmbedder`
(spec `test:hash`, no MiniLM to load) into `ROOT/seeds/NAME`, where the web chat's corpus picker looks; the run
is the exploration graph on the scripted model (`Script(quotes="copy")`: each example quotes the first sentence
of the chunk it cites), so every kept example carries `sources` and the run.json names the corpus as `docs`.
Reading the chunks back (the task panel's Sources tab) needs no embedder, so a web server in another process can
show them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from explore_instruct.tools.similarity.embeddings import Embedder
from support.corpus import SPEC, HashEmbedder, make_pdf, write_markdown
from support.scripted import Script

if TYPE_CHECKING:
    from explore_instruct.graphs.context import Context

TOPICS = {"email": "Email writing for work", "meetings": "Meeting notes"}


def write_documents(folder: Path) -> list[Path]:
    """Markdown with a heading per section, and a PDF whose pages carry their own rules."""
    paths = write_markdown(folder, TOPICS, work=True)
    pages = [
        (f"Handbook/Page {p}", f"The handbook rule on page {p} says every email to a client is answered in a day. "
         f"Email part {p} keeps work writing polite and short.")
        for p in (1, 2)
    ]  # fmt: skip
    pdf = folder / "handbook.pdf"
    pdf.write_bytes(make_pdf(pages))
    return [*paths, pdf]


def make_corpus(root: Path, name: str = "office-manual") -> Path:
    """`root/seeds/name`: a corpus made by `ingest` (the seed root is where remote callers' corpora live)."""
    from explore_instruct.tools.corpus.ingest import ingest

    out = root / "seeds" / name
    ingest(write_documents(root.parent / f"{name}-documents"), out, embed=HashEmbedder(), embedder=SPEC)
    return out


def grounded_context(folder: Path, model: Any, corpus: Path, name: str = "run", **kw: Any) -> Context:
    """The Context of a grounded test run `folder/name` over `corpus` on `model`: exact similarity, the full
    profile, no relevance or grounding floor (the hashed embedder's scores are not MiniLM's); `kw` overrides."""
    from explore_instruct.graphs.context import Context

    params: dict[str, Any] = {
        "chat_model": model,
        "run_dir": str(folder / name),
        "similarity": "exact",
        "prompt_profile": "full",
        "min_relevance": None,
        "min_root_relevance": None,
        "docs": str(corpus),
        "min_grounding": 0.0,
        **kw,
    }
    return Context(**params)


def make_grounded_run(root: Path, name: str = "grounded", corpus: Path | None = None) -> Path:
    """A finished grounded run `root/name` over `corpus` (made under the seed root when not given)."""
    from langgraph.checkpoint.memory import InMemorySaver

    from explore_instruct.graphs.explore import builder
    from explore_instruct.tools.corpus import retrieve, store

    corpus = corpus or make_corpus(root)
    real = store.make_embedder

    def embedder(spec: str = SPEC) -> Embedder:
        return HashEmbedder() if spec == SPEC else real(spec)

    store.make_embedder = embedder
    try:
        small = {"max_depth": 1, "breadth": [2], "subtasks_per_call": 2, "examples": [3], "examples_per_call": 3}
        ctx = grounded_context(root, Script().chat_model(), corpus, name, **small)
        config: Any = {"configurable": {"thread_id": name}, "recursion_limit": 10000}
        graph = builder.compile(checkpointer=InMemorySaver())
        asyncio.run(graph.ainvoke({"domain": "Email writing for work"}, config, context=ctx))
    finally:
        store.make_embedder = real
        retrieve.forget_corpora()
    return root / name
