"""A grounded run's citations, exports and card name documents relative to the corpus's folders: no server path.

The corpus is ingested from a folder (documents in a subfolder) and from a single file; the run is the scripted
model's (support.grounded_run). Every export format is written through the CLI and each written file's bytes are
searched for the temporary folder's path: the names must be there, the path must not.
"""

from __future__ import annotations

import json
from pathlib import Path

from support.corpus import HashEmbedder
from support.grounded_run import SPEC, make_grounded_run, write_documents
from typer.testing import CliRunner

from explore_instruct.tools.corpus.ingest import ingest
from explore_instruct.tools.dataset.export import FORMATS


def test_grounded_sources_exports_and_card_carry_relative_names_only(tmp_path: Path) -> None:
    from explore_instruct.agent.cli.main import app

    *markdown, pdf = write_documents(tmp_path / "docs" / "manuals")
    pdf.rename(tmp_path / "handbook.pdf")
    corpus = tmp_path / "seeds" / "office"
    report = ingest([tmp_path / "docs", tmp_path / "handbook.pdf"], corpus, embed=HashEmbedder(), embedder=SPEC)
    names = {"manuals/email.md", "manuals/meetings.md", "handbook.pdf"}
    assert {d.path for d in report.documents} == names and len(markdown) == 2
    run_dir = make_grounded_run(tmp_path, corpus=corpus)

    rows = [json.loads(x) for x in (run_dir / "examples.jsonl").read_text(encoding="utf-8").splitlines() if x]
    cited = {s["doc"] for r in rows for s in r.get("sources") or []}
    assert cited and cited <= names

    secret = str(tmp_path).encode()
    for fmt in FORMATS:
        out = tmp_path / "out" / fmt
        result = CliRunner().invoke(app, ["export", str(run_dir), "--format", fmt, "--out", str(out)])
        assert result.exit_code == 0, result.output
        files = [p for p in out.rglob("*") if p.is_file()]
        data = b"".join(p.read_bytes() for p in files)
        assert any(name.encode() in data for name in cited), fmt  # the citations are there ...
        assert secret not in data, [p.name for p in files if secret in p.read_bytes()]  # ... the path is not
        card = (out / "README.md").read_text(encoding="utf-8")
        assert "## Corpus" in card and all(f"| {name} |" in card for name in names)
