"""What the page shows of a server path (agent/web/names.py): a name relative to the root it lies under, a bare
name otherwise, and URLs, slash commands and relative names left alone."""

from __future__ import annotations

from explore_instruct.agent.web import names

ROOTS = ["/srv/ei/runs/seeds", "/srv/ei/runs"]


def test_paths_under_a_root_keep_their_relative_name_and_others_their_bare_name() -> None:
    said = "Examples: `/srv/ei/runs/web/examples.jsonl`. Corpus /srv/ei/runs/seeds/web-uploads/ab12/corpus: ok."
    assert names.hide(said, ROOTS) == "Examples: `web/examples.jsonl`. Corpus web-uploads/ab12/corpus: ok."
    assert names.hide("cannot open /home/op/private/notes.md.", ROOTS) == "cannot open notes.md."
    assert names.hide("/srv/ei/runs", ROOTS) == "runs"


def test_urls_slash_commands_and_relative_names_stay() -> None:
    said = "see http://127.0.0.1:8000/v1/chat, type /approve run=web, docs=law/corpus, 3/4 done, a / b"
    assert names.hide(said, ROOTS) == said


def test_a_cited_document_is_named_relative_to_its_corpus_folder() -> None:
    corpus = "/srv/ei/runs/seeds/web-uploads/ab12/corpus"
    assert names.doc_name("/srv/ei/runs/seeds/web-uploads/ab12/files/guide.md", corpus) == "files/guide.md"
    assert names.doc_name("/srv/ei/runs/seeds/web-uploads/ab12/corpus/x.md", corpus) == "x.md"
    assert names.doc_name("/elsewhere/law/act.pdf", corpus) == "act.pdf"
    assert names.doc_name("/elsewhere/law/act.pdf", None) == "act.pdf"
    assert names.doc_name("law/act.pdf", corpus) == "law/act.pdf"
