"""Ingesting into a corpus: reuse by hash, replacement, every bad input a recorded skip, kill and resume, the CLI.

The embedder is `HashEmbedder` (tests/support/corpus.py) except in the tests on the real corpus, which run
the project's offline MiniLM through the real CLI.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.corpus import SPEC, HashEmbedder, make_pdf
from support.reliability import EXE, cli_env
from typer.testing import CliRunner

from explore_instruct.tools.corpus.ingest import IngestReport, ingest
from explore_instruct.tools.corpus.manifest import MANIFEST, CorpusError
from explore_instruct.tools.corpus.store import CorpusStore

TESTS = Path(__file__).resolve().parents[2]


def run(paths: list[str | Path], out: Path, embed: HashEmbedder | None = None, **kw: object) -> IngestReport:
    return ingest(paths, out, embed=embed or HashEmbedder(), embedder=SPEC, **kw)  # type: ignore[arg-type]


def stored_ids(out: Path) -> list[str]:
    with CorpusStore(out, embedder=SPEC, embed=HashEmbedder()) as store:
        return list(store.collection.get(include=[])["ids"])


def write_docs(folder: Path, n: int = 3) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"doc{i}.md"
        body = "\n\n".join(
            f"Topic {i} paragraph {j}: " + " ".join(f"t{i}w{j}x{k}" for k in range(30)) for j in range(6)
        )
        p.write_text(f"# Document {i}\n\n{body}\n", encoding="utf-8")
        paths.append(p)
    return paths


def test_unchanged_files_are_reused_without_embedding(tmp_path: Path) -> None:
    docs = write_docs(tmp_path / "docs")
    first_embed = HashEmbedder()
    first = run([tmp_path / "docs"], tmp_path / "corpus", first_embed)
    assert [d.path for d in first.documents] == [p.name for p in docs] and first.skipped == []
    assert first_embed.texts == sum(d.chunks for d in first.documents) == first.embedded > 0

    again = HashEmbedder()
    second = run([tmp_path / "docs"], tmp_path / "corpus", again)
    assert again.calls == 0 and second.embedded == 0 and second.reused == 3
    assert second.model_dump() == first.model_dump()
    assert len(stored_ids(tmp_path / "corpus")) == sum(d.chunks for d in first.documents)


def test_a_changed_file_replaces_its_chunks(tmp_path: Path) -> None:
    docs = write_docs(tmp_path / "docs")
    first = run([tmp_path / "docs"], tmp_path / "corpus")
    docs[1].write_text("# Changed\n\nOnly one short paragraph now.\n", encoding="utf-8")
    embed = HashEmbedder()
    second = run([tmp_path / "docs"], tmp_path / "corpus", embed)
    assert embed.texts == 1 and second.reused == 2
    old, new = first.documents[1], second.documents[1]
    assert new.path == old.path and new.sha256 != old.sha256 and new.chunks == 1
    ids = stored_ids(tmp_path / "corpus")
    assert not [i for i in ids if i.startswith(old.sha256[:16])]
    assert len(ids) == len(set(ids)) == sum(d.chunks for d in second.documents)
    with CorpusStore(tmp_path / "corpus", embedder=SPEC, embed=HashEmbedder()) as store:
        assert [c.text for c in store.chunks([f"{new.sha256[:16]}:0"])] == ["Only one short paragraph now."]


def test_query_and_mmr_return_chunks_with_provenance(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Volcanoes\n\nLava magma eruption crater ash.\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("# Baking\n\nFlour yeast oven dough bread.\n", encoding="utf-8")
    (tmp_path / "c.md").write_text("# Baking bread\n\nFlour yeast oven dough loaf.\n", encoding="utf-8")
    run([tmp_path / "a.md", tmp_path / "b.md", tmp_path / "c.md"], tmp_path / "corpus")
    with CorpusStore(tmp_path / "corpus", embedder=SPEC, embed=HashEmbedder()) as store:
        hits = store.query("magma and lava from a crater", k=2)
        assert hits[0].chunk.doc == "a.md" and hits[0].chunk.headings == ("Volcanoes",)
        assert hits[0].score > hits[1].score
        assert (hits[0].chunk.start, hits[0].chunk.end) == (0, len("Lava magma eruption crater ash."))
        picked = store.mmr("flour yeast oven dough", k=2, fetch_k=3, lambda_mult=0.3)
        assert {h.chunk.doc for h in picked} in (
            {"a.md", "b.md"},
            {"a.md", "c.md"},
        )


def test_every_bad_input_is_a_recorded_skip_and_the_rest_goes_on(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.md").write_text("# Fine\n\nA readable document.\n", encoding="utf-8")
    (docs / "corrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<\n/Type /Catalog\ntrailer broken")
    (docs / "locked.pdf").write_bytes(make_pdf([(None, "Secret.")], password="pw"))
    (docs / "empty.txt").write_bytes(b"")
    (docs / "binary.txt").write_bytes(bytes(range(256)))
    (docs / "latin1.txt").write_bytes("déjà vu".encode("latin-1"))
    (docs / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (docs / "big.txt").write_text("x" * 5000, encoding="utf-8")
    (docs / "good2.md").write_text("# Fine\n\nA readable document.\n", encoding="utf-8")
    (docs / "sub").mkdir()
    (docs / "sub" / "inner.txt").write_text("Inside a subfolder.", encoding="utf-8")
    os.symlink("..", docs / "sub" / "up")  # a loop: sub/up/sub/up/...
    os.symlink("self.txt", docs / "self.txt")  # a link to itself
    os.symlink("nowhere.md", docs / "dangling.md")
    (docs / ".git").mkdir()
    (docs / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    report = run([docs, tmp_path / "missing.pdf", str(tmp_path / "none-*.md")], tmp_path / "corpus", max_bytes=3000)
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert reasons == {
        "missing.pdf": "no such file or folder",
        "none-*.md": "no file matches this pattern",
        "big.txt": "over the size cap (5000 bytes > 3000 bytes)",
        "binary.txt": "binary content (NUL bytes), not text",
        "good2.md": "same content as good.md",
        "corrupt.pdf": reasons["corrupt.pdf"],
        "dangling.md": "broken symlink or vanished file",
        "empty.txt": "empty file",
        "image.png": "unsupported file type .png",
        "latin1.txt": "not UTF-8 text (byte 0xe9 at offset 1); convert it to UTF-8",
        "locked.pdf": "encrypted PDF (needs a password)",
        "self.txt": "symlink loop (too many levels of symbolic links)",
        "up": f"symlink loop: leads back to {docs}",
    }
    assert reasons["corrupt.pdf"].startswith("corrupt or unreadable PDF (")
    assert all("\n" not in s.reason for s in report.skipped)
    assert [Path(d.path).name for d in report.documents] == ["good.md", "inner.txt"]


def test_a_folder_reached_twice_through_a_symlink_is_walked_once(tmp_path: Path) -> None:
    write_docs(tmp_path / "real", n=1)
    (tmp_path / "top").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "top" / "a-link")
    os.symlink(tmp_path / "real", tmp_path / "top" / "b-link")
    report = run([tmp_path / "top"], tmp_path / "corpus")
    assert [Path(d.path).parent.name for d in report.documents] == ["a-link"]
    assert [(Path(s.path).name, s.reason) for s in report.skipped] == [
        ("b-link", f"symlink to a folder already walked: {tmp_path / 'real'}")
    ]


def test_moved_and_swapped_files_keep_one_copy_of_each_content(tmp_path: Path) -> None:
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    a.write_text("# A\n\nalpha words here\n", encoding="utf-8")
    b.write_text("# B\n\nbeta words here\n", encoding="utf-8")
    run([a, b], tmp_path / "corpus")
    a_bytes, b_bytes = a.read_bytes(), b.read_bytes()
    a.write_bytes(b_bytes)
    b.write_bytes(a_bytes)
    swapped = run([a, b], tmp_path / "corpus")
    assert swapped.skipped == [] and [d.path for d in swapped.documents] == ["a.md", "b.md"]
    b.rename(tmp_path / "c.md")  # a move: the old path's entry goes, the new one is ingested
    moved = run([a, tmp_path / "c.md"], tmp_path / "corpus")
    assert moved.skipped == []
    with CorpusStore(tmp_path / "corpus", embedder=SPEC, embed=HashEmbedder()) as store:
        assert sorted(store.documents) == ["a.md", "c.md"]
        got = store.collection.get(include=["documents", "metadatas"])
        by_doc = {Path(m["doc"]).name: t for t, m in zip(got["documents"], got["metadatas"], strict=True)}
        assert by_doc == {"a.md": "beta words here", "c.md": "alpha words here"}


def test_a_file_that_turns_unreadable_loses_its_old_chunks(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Some text.", encoding="utf-8")
    run([tmp_path / "a.txt"], tmp_path / "corpus")
    (tmp_path / "a.txt").write_bytes(b"\xff\xfe\x00garbage\x00")
    report = run([tmp_path / "a.txt"], tmp_path / "corpus")
    assert report.documents == [] and report.skipped[0].reason.endswith("; its earlier chunks were removed")
    assert stored_ids(tmp_path / "corpus") == []


def test_a_corpus_inside_the_folder_being_ingested_is_not_ingested(tmp_path: Path) -> None:
    write_docs(tmp_path, n=1)
    run([tmp_path], tmp_path / "corpus")
    report = run([tmp_path], tmp_path / "corpus")  # corpus.json and chroma/ exist now: not walked
    assert [Path(d.path).name for d in report.documents] == ["doc0.md"] and report.skipped == []


def test_a_second_writer_is_refused_and_settings_must_match(tmp_path: Path) -> None:
    write_docs(tmp_path / "docs", n=1)
    run([tmp_path / "docs"], tmp_path / "corpus")
    with CorpusStore(tmp_path / "corpus", embedder=SPEC, writable=True), pytest.raises(CorpusError, match="another"):
        run([tmp_path / "docs"], tmp_path / "corpus")
    with pytest.raises(CorpusError, match="chunked at 1000/100"):
        run([tmp_path / "docs"], tmp_path / "corpus", chunk_size=500)
    with pytest.raises(CorpusError, match="embedded with test:hash"):
        ingest([tmp_path / "docs"], tmp_path / "corpus", embed=HashEmbedder(), embedder="local:all-minilm-l6-v2")


def test_reconcile_removes_stray_chunks_and_refills_lost_ones(tmp_path: Path) -> None:
    write_docs(tmp_path / "docs", n=2)
    first = run([tmp_path / "docs"], tmp_path / "corpus")
    with CorpusStore(tmp_path / "corpus", embedder=SPEC, embed=HashEmbedder(), writable=True) as store:
        store.collection.upsert(
            ids=["ffff:0"],
            embeddings=[[1.0] + [0.0] * 63],
            documents=["x"],
            metadatas=[
                {"doc": "/gone", "sha256": "ff", "format": "text", "index": 0, "start": 0, "end": 1, "headings": "[]"}
            ],
        )
        store.collection.delete(ids=[f"{first.documents[0].sha256[:16]}:0"])  # as if chroma/ lost a chunk
        assert store.reconcile() == 1
        assert list(store.documents) == [first.documents[1].path]
    embed = HashEmbedder()
    again = run([tmp_path / "docs"], tmp_path / "corpus", embed)
    assert again.model_dump() == first.model_dump() and embed.texts == first.documents[0].chunks
    assert len(stored_ids(tmp_path / "corpus")) == sum(d.chunks for d in first.documents)


@pytest.mark.slow
def test_a_corpus_on_a_chroma_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from support import chroma_server as support_chroma

    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    write_docs(tmp_path / "docs", n=2)
    with support_chroma.chroma_server(tmp_path) as (host, port):
        first = run([tmp_path / "docs"], tmp_path / "corpus", chroma_host=host, chroma_port=port)
        assert not (tmp_path / "corpus" / "chroma").exists()
        embed = HashEmbedder()
        again = run([tmp_path / "docs"], tmp_path / "corpus", embed, chroma_host=host, chroma_port=port)
        assert embed.calls == 0 and again.model_dump() == first.model_dump()
        with CorpusStore(tmp_path / "corpus", embedder=SPEC, embed=HashEmbedder()) as store:  # finds the server
            assert store.count() == sum(d.chunks for d in first.documents)
            assert store.query("t1w2x5 t1w2x6 t1w2x7", k=1)[0].chunk.doc.endswith("doc1.md")
        with pytest.raises(CorpusError, match="its chunks are in"):
            run([tmp_path / "docs"], tmp_path / "corpus", chroma_host=host, chroma_port=port + 1)


@pytest.mark.slow
def test_kill_mid_ingest_then_resume_gives_no_duplicate_chunks(tmp_path: Path) -> None:
    write_docs(tmp_path / "docs", n=12)
    reference = run([tmp_path / "docs"], tmp_path / "reference")
    want = sorted(stored_ids(tmp_path / "reference"))
    env = {**cli_env(), "PYTHONPATH": str(TESTS)}
    corpus = tmp_path / "corpus"
    kills = 0
    for after in (1, 4, 7):  # documents in the manifest when the kill lands
        proc = subprocess.Popen(
            [sys.executable, "-m", "support.corpus", str(corpus), str(tmp_path / "docs")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                done = len(json.loads((corpus / MANIFEST).read_text())["documents"])
            except (OSError, ValueError, KeyError):
                done = 0
            if done >= after:
                proc.send_signal(signal.SIGKILL)
                kills += 1
                break
            time.sleep(0.01)
        proc.wait(timeout=30)
    assert kills >= 2, "the ingest finished before it could be killed"
    resumed = run([tmp_path / "docs"], corpus)
    ids = stored_ids(corpus)
    assert len(ids) == len(set(ids)) and sorted(ids) == want
    assert resumed.model_dump() == reference.model_dump() and resumed.reused >= 1


def test_cli_json_is_exactly_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from explore_instruct.agent.cli.main import app
    from explore_instruct.tools.corpus import store as store_module

    monkeypatch.setattr(store_module, "make_embedder", lambda spec: HashEmbedder())
    write_docs(tmp_path / "docs", n=2)
    (tmp_path / "docs" / "bad.txt").write_bytes(b"\x00\x01")
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "docs"), "--out", str(tmp_path / "c"), "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert set(got) == {"documents", "skipped"}
    assert [set(d) for d in got["documents"]] == [{"path", "sha256", "format", "pages", "chunks"}] * 2
    assert got["skipped"] == [
        {"path": str(tmp_path / "docs" / "bad.txt"), "reason": "binary content (NUL bytes), not text"}
    ]
    human = CliRunner().invoke(app, ["ingest", str(tmp_path / "docs"), "--out", str(tmp_path / "c")])
    assert human.exit_code == 0 and "2 documents" in human.stdout and "2 unchanged documents reused" in human.stdout
    assert f"skipped {tmp_path / 'docs' / 'bad.txt'}: binary content" in human.stdout
    bad = CliRunner().invoke(app, ["ingest", str(tmp_path / "docs"), "--out", str(tmp_path / "c"), "--max-mb", "0"])
    assert bad.exit_code == 2 and "--max-mb" in bad.stderr


# ---- the real corpus: documentation Debian ships, through the real CLI and the offline MiniLM ----------

LIBFFI_HTML = Path("/usr/share/doc/libffi8/html")  # libffi8 is a dependency of Python itself (ctypes)


@pytest.mark.embedded
def test_real_debian_docs_through_the_cli(tmp_path: Path) -> None:
    if not (LIBFFI_HTML / "The-Closure-API.html").is_file():
        pytest.skip(f"{LIBFFI_HTML} is not on this machine (libffi8's HTML manual; images without docs strip it)")
    pdfs = sorted(Path("/usr/share/doc").glob("*/*.pdf"))[:1]  # e.g. libtasn1-doc's manual, where installed
    argv = [EXE, "ingest", str(LIBFFI_HTML), *map(str, pdfs), "--out", str(tmp_path / "c"), "--json"]
    proc = subprocess.run(argv, env=cli_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    closure = next(d for d in report["documents"] if d["path"].endswith("The-Closure-API.html"))
    assert closure["format"] == "html" and closure["pages"] is None and closure["chunks"] >= 2
    assert all(d["format"] == "pdf" and d["pages"] >= 1 for d in report["documents"] if d["path"].endswith(".pdf"))
    with CorpusStore(tmp_path / "c") as store:
        hits = store.mmr("How do I write a closure with ffi_prep_closure_loc?", k=3)
        assert hits[0].chunk.doc.endswith(("The-Closure-API.html", "Closure-Example.html"))
        assert store.chunks([f"{closure['sha256'][:16]}:1"])[0].headings == ("2.5 The Closure API",)
        assert len(hits) == 3 and hits[0].score > 0.3
