"""Retrieval for grounded runs: a corpus opened once per process and again after a re-ingest, its root's name, and
the quote gate's cases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.corpus import SPEC, HashEmbedder

from explore_instruct.tools.corpus import retrieve, store
from explore_instruct.tools.corpus.ingest import ingest
from explore_instruct.tools.corpus.quotes import supported


@pytest.fixture(autouse=True)
def hashed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real = store.make_embedder
    monkeypatch.setattr(store, "make_embedder", lambda spec: HashEmbedder() if spec == SPEC else real(spec))
    retrieve.forget_corpora()
    yield
    retrieve.forget_corpora()


def doc(folder: Path, name: str, title: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.md").write_text(f"# {title}\n\n## Part\n\nThe {name} guide explains every step.\n")


def test_a_reingested_corpus_is_reopened_and_its_root_named(tmp_path: Path) -> None:
    doc(tmp_path / "docs", "alpha", "Alpha guide")
    ingest([tmp_path / "docs"], tmp_path / "c", embed=HashEmbedder(), embedder=SPEC)
    first = retrieve.open_corpus(str(tmp_path / "c"))
    assert retrieve.open_corpus(str(tmp_path / "c")) is first
    assert retrieve.root_name(first) == "Alpha guide"
    doc(tmp_path / "docs", "beta", "Beta guide")
    ingest([tmp_path / "docs"], tmp_path / "c", embed=HashEmbedder(), embedder=SPEC)
    again = retrieve.open_corpus(str(tmp_path / "c"))
    assert again is not first and len(again.documents) == 2
    assert retrieve.root_name(again) == "Alpha guide, Beta guide"
    hits = retrieve.passages(again, "beta guide steps", 1)
    assert hits[0]["doc"].endswith("beta.md") and hits[0]["score"] > 0


def test_a_folder_that_is_no_corpus_gets_one_line(tmp_path: Path) -> None:
    with pytest.raises(retrieve.CorpusError, match=r"^docs: '.*' is not a corpus folder"):
        retrieve.open_corpus(str(tmp_path / "missing"))


@pytest.mark.parametrize(
    ("quote", "ok"),
    [
        ("The alpha guide explains every step.", True),
        ("the ALPHA guide   explains\nevery step", True),  # case and whitespace
        ("“The alpha guide explains every step.”", True),  # quote marks around it
        ("The alpha guide explain every step.", True),  # near-verbatim
        ("The alpha guide forbids every step.", False),
        ("every step", False),  # too short to prove anything
        ("The beta guide is about something else entirely.", False),
    ],
)
def test_the_quote_gate(quote: str, ok: bool) -> None:
    assert supported(quote, "# Alpha\n\nThe alpha guide explains every step. Then it stops.") is ok


def test_markup_marks_around_names_do_not_count() -> None:
    text = 'Run `git daemon` with `--base-path`. The file "git-daemon-export-ok" marks it.'
    assert supported("Run git daemon with --base-path.", text)  # what the compact grammar can write
    assert supported("The file git-daemon-export-ok marks it.", text)
    assert not supported("Run git daemon with --export-all.", text)
