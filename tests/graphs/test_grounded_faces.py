"""`docs` on every face: the request (so the CLI, the LangChain tool, MCP and the chat), and the seed-root rule a
remote caller's corpus is held to (MCP and the Agent Server), the same one line as a seed's."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from explore_instruct.agent.cli.main import app
from explore_instruct.agent.request import ExploreRequest
from explore_instruct.agent.runs.corpus_root import confine_docs
from explore_instruct.agent.runs.limits import LimitError, Limits
from explore_instruct.agent.served import ServedContext


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "runs"
    (root / "seeds" / "manuals").mkdir(parents=True)
    (root / "seeds" / "manuals" / "corpus.json").write_text('{"documents": {}}')
    (root / "seeds" / "plain").mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "corpus.json").write_text('{"documents": {}}')
    (root / "seeds" / "link").symlink_to(outside)
    monkeypatch.setenv("EXPLORE_INSTRUCT_OUTPUT_ROOT", str(root))
    monkeypatch.delenv("EXPLORE_INSTRUCT_SEED_ROOT", raising=False)
    return root


def test_docs_alone_is_a_request_and_sets_the_run_parameter() -> None:
    req = ExploreRequest(docs="manuals")
    assert req.domain is None and req.context_params() == {"docs": "manuals"}
    assert ExploreRequest(domain="x", docs="manuals").context_params() == {"docs": "manuals"}
    with pytest.raises(ValidationError, match="give exactly one of domain, seed or preset"):
        ExploreRequest()


def test_the_cli_run_takes_docs() -> None:
    out = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert "--docs" in out.output


@pytest.mark.parametrize("given", ["../outside", "link", "plain", "missing", "/etc", "manuals/../../outside"])
def test_a_callers_corpus_outside_the_seed_root_gets_one_line(root: Path, given: str) -> None:
    with pytest.raises(LimitError) as e:
        confine_docs(Limits(), given)
    assert str(e.value) == f"docs: {given!r} is not a corpus under the seed root"
    with pytest.raises(ValueError, match="is not a corpus under the seed root"):
        ServedContext(docs=given)


def test_a_callers_corpus_under_the_seed_root_is_read(root: Path) -> None:
    want = str((root / "seeds" / "manuals").resolve())
    assert confine_docs(Limits(), "manuals") == want
    assert ServedContext(docs="manuals").docs == want


def test_the_service_behind_mcp_and_the_chat_holds_docs_to_the_seed_root(root: Path) -> None:
    from explore_instruct.agent.runs.service import Runs

    runs = Runs(limits=Limits(output_root=str(root)), defaults={"similarity": "exact"})
    with pytest.raises(LimitError, match=r"^docs: '\.\./outside' is not a corpus under the seed root$"):
        runs.plan(ExploreRequest(docs="../outside"))
    with pytest.raises(LimitError, match="is not a corpus under the seed root"):
        runs.prepare(ExploreRequest(domain="x", docs="link"))
    assert runs.plan(ExploreRequest(docs="manuals", depth=1, breadth=2, examples=2))  # under the root: planned
