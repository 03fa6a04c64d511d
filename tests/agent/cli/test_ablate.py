"""`compare` and `ablate` end to end through the CLI, on the local OpenAI-compatible test server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.openai_server import ScriptedOpenAIServer
from support.reliability import WordScript
from typer.testing import CliRunner, Result

from explore_instruct.agent.cli.main import app
from explore_instruct.tools.dataset.diversity import Source
from explore_instruct.tools.dataset.sampling import load_tree_source

EI_DEMO = Path(__file__).parents[2] / "fixtures" / "ei_demo"


def invoke(*args: str | Path) -> Result:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


@pytest.fixture
def server(openai_server: ScriptedOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> ScriptedOpenAIServer:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    openai_server.responder = WordScript(dup_share=0.2).responder
    return openai_server


def ablate(server: ScriptedOpenAIServer, out: Path, *extra: str) -> dict:
    args = ["ablate", "--domain", "Email writing for work", "-n", "12", "--model", "openai:scripted"]
    args += ["--base-url", server.base_url, "--similarity", "exact", "--breadth", "2,2", "--out", str(out), "--json"]
    return json.loads(invoke(*args, *extra).stdout)


def test_ablate_runs_both_sides_samples_them_to_n_and_writes_its_table(
    server: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    result = ablate(server, tmp_path / "abl")
    out = tmp_path / "abl"
    assert json.loads((out / "ablation.json").read_text()) == result
    assert (out / "ablation.png").stat().st_size > 1000
    runs = result["runs"]
    assert set(runs) == {"k0", "k2-explore", "k2"}
    assert runs["k0"]["tasks_per_depth"] == {"0": 1} and runs["k0"]["examples"] >= 12
    explored = runs["k2"]["tasks_per_depth"]
    assert explored.get("1", 0) >= 2 and explored.get("2", 0) >= 2  # the exploring side really has a tree
    # Exploration makes only what subtasks bring with them (the full profile: two each); enrichment the rest.
    subtasks = sum(explored.values()) - 1
    assert runs["k2-explore"]["examples"] == 2 * subtasks and runs["k2"]["examples"] >= 12
    for side in ("k0", "k"):
        assert result[side]["n"] == 12 and result[side]["overall"]["instructions"] == 12
        assert {"distinct_2", "vendi", "verb_noun_pairs"} <= set(result[side]["overall"])
    assert set(result["k"]["per_depth"]) >= {"1", "2"} and set(result["k0"]["per_depth"]) == {"0"}
    pairs = (result["k0"]["overall"]["verb_noun_pairs"], result["k"]["overall"]["verb_noun_pairs"])
    assert result["verb_noun_ratio"] == round(pairs[1] / pairs[0], 3)
    # Every task of the explored tree got examples, from the run that was seeded with it.
    tree = load_tree_source(out / "k2").tree
    assert all(len(n.examples) >= runs["k2"]["examples_per_task"] for n in tree.preorder())


def test_a_second_ablate_resumes_instead_of_starting_over(server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    first = ablate(server, tmp_path / "abl")
    calls = server.request_count
    again = ablate(server, tmp_path / "abl")
    assert server.request_count == calls  # every run was done: nothing asked again
    assert again["k0"] == first["k0"] and again["k"] == first["k"]


def test_ablate_with_a_preset_uses_its_tree_and_flavour_and_quotes_the_paper(
    server: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    args = ["ablate", "--preset", "rewriting", "-n", "10", "--model", "openai:scripted", "--base-url", server.base_url]
    result = json.loads(invoke(*args, "--similarity", "exact", "--breadth", "1,1", "--out", tmp_path, "--json").stdout)
    assert result["paper"] == {"n": 10_000, "k0": 1715, "k2": 2015, "ratio": round(2015 / 1715, 3)}
    assert result["runs"]["k0"]["tasks_per_depth"] == {"0": 1}
    assert result["runs"]["k2"]["tasks_per_depth"]["1"] >= 6  # the preset's six first-level tasks at least
    meta = json.loads((tmp_path / "k2" / "run.json").read_text())
    assert meta["context"]["flavour"] == "rewriting"


def test_compare_scores_two_sources_at_equal_n_with_intervals(server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    ablate(server, tmp_path / "abl")
    result = json.loads(invoke("compare", tmp_path / "abl" / "k0", EI_DEMO, "--json").stdout)
    sizes = [Source.open(p).size for p in (tmp_path / "abl" / "k0", EI_DEMO)]
    assert result["n"] == min(sizes)  # the smaller source's size
    for side in ("a", "b"):
        rep, ci = result[side]["report"], result[side]["intervals"]
        assert rep["n"] == result["n"]
        low, high = ci["distinct_2"]
        assert low <= rep["overall"]["distinct_2"] <= high
        low, high = ci["verb_noun_pairs"]
        assert low <= rep["overall"]["verb_noun_pairs"] <= high
    text = invoke("compare", tmp_path / "abl" / "k0", EI_DEMO, "-n", "8").stdout
    assert "diversity on 8 instructions" in text and "Vendi score" in text
