"""`ablate --docs`: the grounded tree against the flat per-chunk baseline on one corpus, through the CLI, on the
local OpenAI-compatible test server (replies a pure function of the prompt; quotes copied from the sources)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.corpus import hashed_corpus, write_markdown
from support.openai_server import ScriptedOpenAIServer
from support.reliability import WordScript
from typer.testing import CliRunner, Result

from explore_instruct.agent.cli.main import app

GROUNDED = {"min_grounding": 0.0, "min_relevance": None, "min_root_relevance": None, "prompt_profile": "full"}


def invoke(*args: str | Path, code: int = 0) -> Result:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == code, (result.output, result.exception)
    return result


@pytest.fixture
def server(openai_server: ScriptedOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> ScriptedOpenAIServer:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    openai_server.responder = WordScript().responder
    return openai_server


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    topics = {"email": "Email writing", "meetings": "Meeting notes", "reports": "Status reports"}
    write_markdown(tmp_path / "docs", topics, sections=2)
    with hashed_corpus(tmp_path / "docs", tmp_path / "corpus", monkeypatch) as out:
        yield out


def ablate(server: ScriptedOpenAIServer, corpus: Path, out: Path) -> dict:
    config = out.parent / "grounded.yaml"
    config.write_text(json.dumps(GROUNDED), encoding="utf-8")  # JSON is YAML
    args = ["ablate", "--docs", corpus, "--domain", "Writing at work", "-n", "8", "--model", "openai:scripted"]
    args += ["--base-url", server.base_url, "--similarity", "exact", "--breadth", "2,2", "--config", config]
    return json.loads(invoke(*args, "--out", out, "--json").stdout)


def test_ablate_docs_compares_tree_and_flat_at_equal_n_with_coverage(
    server: ScriptedOpenAIServer, corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "abl"
    result = ablate(server, corpus, out)
    assert json.loads((out / "ablation.json").read_text()) == result
    assert (out / "ablation.png").stat().st_size > 1000
    runs = result["runs"]
    assert set(runs) == {"flat", "k2-explore", "k2"}
    chunks = runs["flat"]["chunks"]
    assert chunks == 6 and runs["flat"]["tasks_per_depth"] == {"0": 1, "1": chunks}
    assert runs["flat"]["examples_per_chunk"] == 2  # ceil(1.15 * 8 / 6)
    assert runs["k2"]["tasks_per_depth"].get("2", 0) >= 1  # the tree side really has a tree
    assert result["n"] == 8
    for side in ("flat", "tree"):
        assert result[side]["n"] == 8 and result[side]["overall"]["instructions"] == 8
        cov = result["coverage"][side]
        assert cov["examples"] == 8 and cov["verified_quote_share"] == 1.0  # the quote gate let only these through
        assert cov["chunks"] == chunks and 1 <= cov["chunks_cited"] <= chunks and cov["documents"] == 3
    # Every kept example of the flat run cites the chunk its task was made from: all of them, evenly.
    flat_all = result["coverage_all_kept"]["flat"]
    assert flat_all["chunk_coverage"] == 1.0 and flat_all["document_skew"] == 1.0
    assert result["coverage"]["flat"]["chunks_cited"] >= 4  # 8 sampled from 6 tasks: each task gives one first


def test_a_second_ablate_docs_resumes_and_bad_combinations_are_one_line(
    server: ScriptedOpenAIServer, corpus: Path, tmp_path: Path
) -> None:
    first = ablate(server, corpus, tmp_path / "abl")
    calls = server.request_count
    again = ablate(server, corpus, tmp_path / "abl")
    assert server.request_count == calls
    assert again["coverage"] == first["coverage"] and again["flat"] == first["flat"]
    bad = invoke("ablate", "--docs", corpus, "--preset", "rewriting", "-n", "4", "--out", tmp_path / "x", code=2)
    assert "give no --preset with it" in bad.output and "Traceback" not in bad.output
    missing = invoke("ablate", "--docs", tmp_path / "nowhere", "-n", "4", "--out", tmp_path / "y", code=2)
    assert "docs:" in missing.output and len(missing.output.strip().splitlines()) <= 2


def test_when_the_quote_gate_refuses_everything_the_ablation_says_so(
    server: ScriptedOpenAIServer, corpus: Path, tmp_path: Path
) -> None:
    server.responder = WordScript(quotes="invent").responder
    result = ablate(server, corpus, tmp_path / "abl")
    assert result["n"] == 0 and result["available"] == {"flat": 0, "tree": 0}
    assert result["flat"]["overall"] == {} and "nothing to compare" in result["flat"]["missing"]["all"]
    assert result["coverage"]["flat"]["chunks_cited"] == 0 and result["coverage"]["tree"]["examples"] == 0
    assert result["runs"]["flat"]["drops"]["unsupported_quote"] >= 6  # each chunk's task tried and refused
    assert result["runs"]["k2"]["drops"]["unsupported_quote"] >= 1
