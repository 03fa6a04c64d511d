"""`ingest --chunk-size`: how finely a corpus is cut (a flat run makes one task per chunk), fixed per corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.corpus import HashEmbedder
from typer.testing import CliRunner

from explore_instruct.agent.cli.main import app
from explore_instruct.tools.corpus import store as store_module
from explore_instruct.tools.corpus.store import CorpusStore


def test_chunk_size_sets_how_finely_a_corpus_is_cut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "make_embedder", lambda spec: HashEmbedder())
    docs = tmp_path / "docs"
    docs.mkdir()
    sentences = " ".join(f"Sentence {i} says something about rule {i} of the manual." for i in range(40))
    (docs / "manual.md").write_text(f"# Manual\n\n{sentences}\n", encoding="utf-8")

    def ingest(out: str, *extra: str) -> tuple[int, str]:
        got = CliRunner().invoke(app, ["ingest", str(docs), "--out", str(tmp_path / out), "--json", *extra])
        return got.exit_code, got.stdout + got.stderr

    code, text = ingest("default")
    assert code == 0
    coarse = json.loads(text)["documents"][0]["chunks"]
    code, text = ingest("fine", "--chunk-size", "300")
    assert code == 0
    fine = json.loads(text)["documents"][0]["chunks"]
    assert fine > coarse >= 1
    with CorpusStore(tmp_path / "fine", embed=HashEmbedder()) as s:
        texts = s.collection.get(include=["documents"])["documents"] or []
    assert len(texts) == fine and max(len(t) for t in texts) <= 300
    code, text = ingest("fine", "--chunk-size", "500")  # a corpus keeps the size it was cut at
    assert code != 0 and "use a new corpus folder" in text and "Traceback" not in text
    code, text = ingest("other", "--chunk-size", "50")
    assert code == 2 and "--chunk-size" in text
