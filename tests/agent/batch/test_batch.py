"""`explore-instruct batch` without Ray: the domains file, a batch of runs in one process, the batch budget, a
second invocation that resumes, --split, and the one-line refusals."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.openai_server import ScriptedOpenAIServer
from support.reliability import EXE, WordScript, assert_same_run, cli_env, read_examples
from typer.testing import CliRunner

from explore_instruct.agent.batch.jobs import BatchError, read_domains
from explore_instruct.agent.batch.split import root_params, subtree_params
from explore_instruct.agent.cli.main import EXIT_BAD_INPUT, app

SCRIPT = WordScript(dup_share=0.25)
SMALL = ["--depth", "2", "--breadth", "2,1", "--subtasks-per-call", "1", "--examples", "4", "--examples-per-call", "1",
         "--concurrency", "3", "--similarity", "exact"]  # fmt: skip
DOMAINS = "# work\nEmail writing for work\n\nRecipes for busy parents\nTax forms for freelancers\n"


def batch(
    server: ScriptedOpenAIServer, tmp_path: Path, *extra: str, domains: str = DOMAINS
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "domains.txt"
    path.write_text(domains, encoding="utf-8")
    argv = [EXE, "batch", str(path), "--out", str(tmp_path / "out"), "--model", "openai:gpt-4o-mini",
            "--base-url", server.base_url, *SMALL, *extra]  # fmt: skip
    return subprocess.run(argv, env=cli_env(), capture_output=True, text=True, timeout=300)


def summary(tmp_path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((tmp_path / "out" / "_batch" / "summary.json").read_text())
    return data


def test_domains_files_and_their_refusals(tmp_path: Path) -> None:
    txt = tmp_path / "d.txt"
    txt.write_text(DOMAINS, encoding="utf-8")
    entries = read_domains(txt)
    assert [e["domain"] for e in entries] == ["Email writing for work", "Recipes for busy parents",
                                             "Tax forms for freelancers"]  # fmt: skip
    assert len({e["name"] for e in entries}) == 3 and entries[0]["name"].startswith("email-writing-for-work-")
    seed = tmp_path / "seed.yaml"
    seed.write_text("name: Cooking\nchildren: []\n", encoding="utf-8")
    yml = tmp_path / "d.yaml"
    yml.write_text("- Email writing for work\n- {seed: seed.yaml, name: cooking, max_depth: 1, examples: [3]}\n")
    one, two = read_domains(yml)
    assert one["params"] == {} and two["seed"] == str(seed) and two["params"] == {"max_depth": 1, "examples": [3]}
    for text, message in [
        ("", "no domains"),
        ("- [unclosed\n", "not valid YAML"),
        ("{a: 1}\n", "give a list of domains"),
        ("- {domain: x, seed: y}\n", "exactly one of domain or seed"),
        ("- {domain: x, depht: 3}\n", "unknown parameter 'depht'"),
        ("- {domain: x, name: Bad Name}\n", "must be lower-case"),
        ("- {domain: a, name: same}\n- {domain: b, name: same}\n", "share the run directory 'same'"),
    ]:
        yml.write_text(text, encoding="utf-8")
        with pytest.raises(BatchError, match=message) as e:
            read_domains(yml)
        assert "\n" not in str(e.value)


def test_a_batch_in_one_process_then_again_resumes_nothing(openai_server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    openai_server.responder = SCRIPT.responder
    done = batch(openai_server, tmp_path, "--parallel", "2")
    assert done.returncode == 0, done.stderr
    assert "3/3 runs done" in done.stdout and "batch: 3/3 runs done" in done.stderr
    totals = summary(tmp_path)["totals"]
    runs = summary(tmp_path)["runs"]
    assert totals["done"] == 3 and openai_server.max_concurrent <= 2 * 3  # two runs, three calls each
    for row in runs:
        assert row["status"] == "done" and row["attempts"] == 1
        assert row["examples"] == len(read_examples(Path(row["run_dir"]))) > 0
    assert totals["examples"] == sum(r["examples"] for r in runs)
    asked = openai_server.request_count
    again = batch(openai_server, tmp_path, "--parallel", "2", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["totals"]["examples"] == totals["examples"]
    assert openai_server.request_count == asked  # finished runs are found finished, not run twice


def test_the_batch_budget_holds_over_all_runs(openai_server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    openai_server.responder = SCRIPT.responder
    stopped = batch(openai_server, tmp_path, "--parallel", "2", "--max-cost", "0.003")
    assert stopped.returncode == 3, stopped.stderr  # a budget stop, resumable
    data = summary(tmp_path)
    statuses = [r["status"] for r in data["runs"]]
    assert "budget" in statuses and "done" not in statuses
    # each run may pass its share only by the calls in flight when it is reached (3 per run here)
    per_call = max(r["cost_usd"] / r["calls"] for r in data["runs"] if r["calls"])
    assert data["totals"]["cost_usd"] <= 0.003 + 2 * 3 * per_call
    more = batch(openai_server, tmp_path, "--parallel", "2", "--max-cost", "1.0")
    assert more.returncode == 0, more.stderr  # a bigger budget finishes what the small one stopped
    assert [r["status"] for r in summary(tmp_path)["runs"]] == ["done"] * 3


@pytest.mark.slow
def test_split_runs_the_root_then_one_run_per_subtree(openai_server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    openai_server.responder = SCRIPT.responder
    done = batch(openai_server, tmp_path, "--split", "--json", domains="Email writing for work\n")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["runs"]
    assert len(rows) == 3 and all(r["status"] == "done" for r in rows)  # the root and its 2 subtrees
    root, *subtrees = (Path(r["run_dir"]) for r in rows)
    assert {r["depth"] for r in read_examples(root)} == {0, 1}  # depth 1: what the decompositions brought
    for sub in subtrees:
        meta = json.loads((sub / "run.json").read_text())
        assert meta["context"]["max_depth"] == 1 and meta["context"]["breadth"] == [1]
        assert len([r for r in read_examples(sub) if r["depth"] == 0]) == 4  # the subtree's root has its quota
    assert root_params({"max_depth": 3, "breadth": [4, 3, 2], "examples": [9, 8]}) == {
        "max_depth": 1, "breadth": [4], "examples": [9, 0]}  # fmt: skip
    assert subtree_params({"max_depth": 3, "breadth": [4, 3, 2], "examples": [9, 8]}) == {
        "max_depth": 2, "breadth": [3, 2], "examples": [8, 8, 8]}  # fmt: skip


@pytest.mark.slow
def test_same_replies_same_runs_as_one_run_at_a_time(openai_server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    """Runs of a batch equal runs started alone: a batch changes where runs go, not what they make."""
    openai_server.responder = SCRIPT.responder
    assert batch(openai_server, tmp_path, "--parallel", "3", domains="Email writing for work\n").returncode == 0
    alone = tmp_path / "alone"
    argv = [EXE, "run", "--domain", "Email writing for work", "--out", str(alone), "--model", "openai:gpt-4o-mini",
            "--base-url", openai_server.base_url, *SMALL, "--quiet"]  # fmt: skip
    assert subprocess.run(argv, env=cli_env(), capture_output=True, timeout=300).returncode == 0
    assert_same_run(Path(summary(tmp_path)["runs"][0]["run_dir"]), alone)


def test_one_line_refusals(openai_server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    domains = tmp_path / "domains.txt"
    domains.write_text(DOMAINS, encoding="utf-8")
    base = ["batch", str(domains), "--out", str(tmp_path / "out"), "--model", "openai:gpt-4o-mini",
            "--base-url", openai_server.base_url, *SMALL]  # fmt: skip
    for extra, message in [
        (["--ray", "127.0.0.1:1"], "cannot reach a Ray cluster at 127.0.0.1:1"),
        (["--ray", "nowhere"], "is not HOST:PORT"),
        (["--max-cost", "1", "--model", "openai:no-such-model"], "no price is known for openai:no-such-model"),
        (["--depth", "9"], "depth: Input should be less than or equal to 8"),
        (["--similarity", "fuzzy"], "similarity: 'fuzzy' is not embedding, rouge or exact"),
        (["--parallel", "0"], "--parallel: must be at least 1"),
    ]:
        result = CliRunner().invoke(app, [*base, *extra])
        assert result.exit_code == EXIT_BAD_INPUT, (extra, result.output)
        line = result.stderr.strip()
        assert line.startswith("error: ") and "\n" not in line and message in line, line
    missing = CliRunner().invoke(app, ["batch", str(tmp_path / "none.txt"), "--out", str(tmp_path / "out")])
    assert missing.exit_code == EXIT_BAD_INPUT and "cannot read the domains file" in missing.stderr
    assert openai_server.request_count == 0 and not (tmp_path / "out").exists()
