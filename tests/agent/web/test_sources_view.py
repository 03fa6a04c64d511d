"""The task panel's Sources tab on a grounded run (made in process over a HashEmbedder corpus): each chunk a task's
examples cite, once, with its document, page and heading path, its text and the quoted sentence marked; a run
without `--docs` says it was not grounded, and a corpus that cannot be read leaves the quotes, with one line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from support.grounded_run import make_grounded_run
from support.review_run import make_review_run

from explore_instruct.agent.web import sources_view, tree_view


@pytest.fixture(scope="module")
def grounded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_grounded_run(tmp_path_factory.mktemp("grounded") / "root")


def test_each_cited_chunk_is_shown_with_its_place_and_the_quote_marked(grounded: Path) -> None:
    view = tree_view.open_view(grounded)
    task = next(n.id for n in view.raw.tree.preorder() if n.depth == 1)
    cited = sources_view.cited(view, task)
    citations = sum(len((e.model_extra or {})["sources"]) for e in view.view.tree.nodes[task].examples)
    assert cited and sum(int(c["examples"]) for c in cited.values()) == citations
    html = sources_view.panel(view, task)
    assert re.findall(r'data-chunk="([^"]+)"', html) == list(cited)
    for entry in cited.values():
        for quote in entry["quotes"]:  # the quote, marked inside its chunk's text
            assert f"<mark>{quote}</mark>" in re.sub(r"\s+", " ", html)
    assert ".md · " in html or ".pdf · page " in html
    assert "<blockquote>" in html and "cited by" in html


def test_a_run_without_docs_says_so(tmp_path: Path) -> None:
    view = tree_view.open_view(make_review_run(tmp_path / "root"))
    assert sources_view.NOT_GROUNDED in sources_view.panel(view, "t0")


def test_a_corpus_that_cannot_be_read_leaves_the_quotes(grounded: Path, tmp_path: Path) -> None:
    copy = tmp_path / "root" / "grounded"
    shutil.copytree(grounded, copy)
    meta = (copy / "run.json").read_text(encoding="utf-8")
    corpus = re.search(r'"docs": "([^"]+)"', meta)
    assert corpus is not None
    (copy / "run.json").write_text(meta.replace(corpus[1], str(tmp_path / "gone")), encoding="utf-8")
    view = tree_view.open_view(copy)
    task = next(n.id for n in view.raw.tree.preorder() if n.depth == 1)
    html = sources_view.panel(view, task)
    assert "cannot be read" in html and "<mark>" in html and "<blockquote>" in html
    assert str(tmp_path) not in html and str(grounded.parent) not in html  # the reason names no server path


def test_documents_are_named_without_the_server_path(grounded: Path) -> None:
    """A cited document is shown relative to its corpus's folder: the page never shows where the server keeps it."""
    view = tree_view.open_view(grounded)
    task = next(n.id for n in view.raw.tree.preorder() if n.depth == 1)
    docs = {str(entry["doc"]) for entry in sources_view.cited(view, task).values()}
    assert docs and not any(Path(d).is_absolute() for d in docs)  # the corpus names documents by their folder
    html = sources_view.panel(view, task)
    for doc in docs:
        assert doc in html
    assert str(grounded.parent.parent) not in html
