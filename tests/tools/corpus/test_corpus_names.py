"""A corpus names each document relative to the folder it was ingested from, never by its absolute path.

A file argument is named by its name in its folder, a folder argument by the path below it, a glob's matches by
their path below the glob's literal folder. The names are what chunks, the manifest and every citation carry;
where a file was read is kept only as the manifest's `source`. Corpora from before (absolute names) still load,
and are renamed in place, without embedding, when their files are ingested again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from support.corpus import SPEC, HashEmbedder

from explore_instruct.tools.corpus.ingest import IngestReport, ingest
from explore_instruct.tools.corpus.manifest import MANIFEST
from explore_instruct.tools.corpus.store import CorpusStore


def run(paths: list[str | Path], out: Path, embed: HashEmbedder | None = None) -> IngestReport:
    return ingest(paths, out, embed=embed or HashEmbedder(), embedder=SPEC)


def write(path: Path, title: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# {title}\n\nThe {title.lower()} page says what {title.lower()} is for.\n", encoding="utf-8")
    return path


def chunk_docs(out: Path) -> list[str]:
    with CorpusStore(out, embedder=SPEC, embed=HashEmbedder()) as store:
        return sorted(str(m["doc"]) for m in store.collection.get(include=["metadatas"])["metadatas"] or [])


def test_a_folder_and_a_file_are_named_relative_to_their_folders(tmp_path: Path) -> None:
    write(tmp_path / "docs" / "guide.md", "Guide")
    write(tmp_path / "docs" / "sub" / "faq.md", "Faq")
    single = write(tmp_path / "elsewhere" / "notes.txt", "Notes")
    report = run([tmp_path / "docs", single], tmp_path / "corpus")
    assert [d.path for d in report.documents] == ["guide.md", "sub/faq.md", "notes.txt"] and report.skipped == []
    assert chunk_docs(tmp_path / "corpus") == ["guide.md", "notes.txt", "sub/faq.md"]
    manifest = json.loads((tmp_path / "corpus" / MANIFEST).read_text(encoding="utf-8"))
    assert sorted(manifest["documents"]) == ["guide.md", "notes.txt", "sub/faq.md"]
    assert manifest["documents"]["notes.txt"]["source"] == str(single)  # where it was read: the manifest only
    with CorpusStore(tmp_path / "corpus", embedder=SPEC, embed=HashEmbedder()) as store:
        assert store.query("what the faq is for", k=1)[0].chunk.doc == "sub/faq.md"


def test_a_glob_names_its_matches_below_its_literal_folder(tmp_path: Path) -> None:
    write(tmp_path / "docs" / "a" / "index.md", "Alpha")
    write(tmp_path / "docs" / "b" / "index.md", "Beta")
    report = run([str(tmp_path / "docs" / "**" / "*.md")], tmp_path / "corpus")
    assert [d.path for d in report.documents] == ["a/index.md", "b/index.md"] and report.skipped == []


def test_two_files_reaching_one_name_keep_the_first(tmp_path: Path) -> None:
    first = write(tmp_path / "a" / "readme.md", "First")
    second = write(tmp_path / "b" / "readme.md", "Second")
    report = run([first, second], tmp_path / "corpus")
    assert [d.path for d in report.documents] == ["readme.md"]
    assert [(s.path, s.reason.split(";")[0]) for s in report.skipped] == [
        (str(second), f"another document in this ingest is named readme.md ({first})")
    ]


def test_unchanged_documents_are_reused_even_after_their_folder_moved(tmp_path: Path) -> None:
    write(tmp_path / "docs" / "guide.md", "Guide")
    write(tmp_path / "docs" / "sub" / "faq.md", "Faq")
    first = run([tmp_path / "docs"], tmp_path / "corpus")
    ids = chunk_docs(tmp_path / "corpus")
    again = HashEmbedder()
    second = run([tmp_path / "docs"], tmp_path / "corpus", again)
    assert again.calls == 0 and second.reused == 2 and second.model_dump() == first.model_dump()
    shutil.move(tmp_path / "docs", tmp_path / "moved")
    moved = HashEmbedder()
    third = run([tmp_path / "moved"], tmp_path / "corpus", moved)
    assert moved.calls == 0 and third.reused == 2 and third.skipped == [] and chunk_docs(tmp_path / "corpus") == ids
    manifest = json.loads((tmp_path / "corpus" / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["documents"]["guide.md"]["source"] == str(tmp_path / "moved" / "guide.md")


def test_a_file_met_again_under_a_new_name_keeps_its_chunks(tmp_path: Path) -> None:
    faq = write(tmp_path / "docs" / "sub" / "faq.md", "Faq")
    run([tmp_path / "docs"], tmp_path / "corpus")
    embed = HashEmbedder()
    report = run([faq], tmp_path / "corpus", embed)  # named from its own folder now: `faq.md`
    assert embed.calls == 0 and [d.path for d in report.documents] == ["faq.md"] and report.skipped == []
    assert chunk_docs(tmp_path / "corpus") == ["faq.md"]


def test_an_old_corpus_with_absolute_names_loads_and_is_renamed_on_reingest(tmp_path: Path) -> None:
    guide = write(tmp_path / "docs" / "guide.md", "Guide")
    write(tmp_path / "docs" / "faq.md", "Faq")
    run([tmp_path / "docs"], tmp_path / "corpus")
    with CorpusStore(tmp_path / "corpus", embedder=SPEC, embed=HashEmbedder(), writable=True) as store:
        for name in list(store.documents):  # as corpora were before: chunks and manifest name the absolute path
            store.rename(name, str(tmp_path / "docs" / name))
    manifest = json.loads((tmp_path / "corpus" / MANIFEST).read_text(encoding="utf-8"))
    for entry in manifest["documents"].values():
        del entry["source"]  # and there was no `source`
    (tmp_path / "corpus" / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    assert sorted(manifest["documents"]) == [str(tmp_path / "docs" / "faq.md"), str(guide)]
    with CorpusStore(tmp_path / "corpus", embedder=SPEC, embed=HashEmbedder()) as store:  # loads, names as they are
        assert store.query("what the guide is for", k=1)[0].chunk.doc == str(guide)
    embed = HashEmbedder()
    report = run([tmp_path / "docs"], tmp_path / "corpus", embed)
    assert embed.calls == 0 and report.reused == 2 and report.skipped == []
    assert chunk_docs(tmp_path / "corpus") == ["faq.md", "guide.md"]
    manifest = json.loads((tmp_path / "corpus" / MANIFEST).read_text(encoding="utf-8"))
    assert sorted(manifest["documents"]) == ["faq.md", "guide.md"]
