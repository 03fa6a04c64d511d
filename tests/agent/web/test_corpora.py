"""The web chat's documents box, without a browser: which corpora a session may pick and where its uploads go
(the paths it refuses are test_web_guard.py's)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from support.corpus import HashEmbedder

from explore_instruct.agent.runs.limits import Limits
from explore_instruct.agent.web import corpora
from explore_instruct.tools.corpus import store


@pytest.fixture
def limits(tmp_path: Path) -> Limits:
    return Limits(output_root=str(tmp_path / "root"))


def corpus_at(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "corpus.json").write_text("{}")
    return folder


def test_a_session_sees_the_operators_corpora_and_only_its_own_upload(limits: Limits) -> None:
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    corpus_at(limits.seeds / "manuals" / "printer")
    corpus_at(limits.seeds / "contracts")
    corpus_at(corpora.session_dir(limits, mine) / "corpus")
    corpus_at(corpora.session_dir(limits, theirs) / "corpus")
    (limits.seeds / "not-a-corpus").mkdir()
    own = f"web-uploads/{uuid.UUID(mine).hex}/corpus"
    assert corpora.list_corpora(limits, mine) == ["contracts", "manuals/printer", own]
    assert uuid.UUID(theirs).hex not in " ".join(corpora.list_corpora(limits, mine))
    assert corpora.list_corpora(limits, None) == ["contracts", "manuals/printer"]
    with pytest.raises(ValueError):
        corpora.session_dir(limits, "../../etc")


def test_uploads_are_ingested_into_the_sessions_corpus(
    limits: Limits, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "make_embedder", lambda spec=None: HashEmbedder())  # no MiniLM in a unit test
    uploads = tmp_path / "gradio" / "h1"
    uploads.mkdir(parents=True)
    (uploads / "guide.md").write_text("# Guide\n\n## Setup\n\nThe setup rule says to unplug the printer first.\n")
    (uploads / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    session = str(uuid.uuid4())
    line = corpora.ingest_uploads(limits, session, [str(uploads / "guide.md"), str(uploads / "blob.txt")],
                                  tmp_path / "gradio")  # fmt: skip
    name = f"web-uploads/{uuid.UUID(session).hex}/corpus"
    assert line.startswith(f"Ingested guide.md (1 chunks) into `{name}`") and "Skipped blob.txt: " in line
    assert corpora.list_corpora(limits, session)[-1] == name
    assert (limits.seeds / name / "corpus.json").is_file()
    assert sorted(p.name for p in (corpora.session_dir(limits, session) / "files").iterdir()) == [
        "blob.txt",
        "guide.md",
    ]
