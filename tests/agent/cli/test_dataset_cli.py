"""`sample`, `export` and `stats` through the real CLI app, on the demo tree and a constructed run (no LLM)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.dataset_run import SECRET, make_run
from typer.testing import CliRunner, Result

from explore_instruct.agent.cli.main import EXIT_BAD_INPUT, app
from explore_instruct.tools.dataset.export import FORMATS
from explore_instruct.tools.dataset.read_back import read_dataset

EI_DEMO = Path(__file__).parents[2] / "fixtures" / "ei_demo"


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def assert_one_line_error(result: Result, *needles: str) -> None:
    assert result.exit_code == EXIT_BAD_INPUT, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit)
    message = result.stderr.strip()
    assert message.startswith("error: ") and "\n" not in message, message
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in message, message


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return make_run(tmp_path)


def test_sample_an_existing_tree(tmp_path: Path) -> None:
    out = tmp_path / "demo.json"
    result = ok(invoke("sample", EI_DEMO, "-n", "7", "--seed", "1", "--format", "alpaca", "--out", out, "--json"))
    report = json.loads(result.stdout)
    assert report["examples"] == 7 and report["n"] == 7 and report["max_depth"] == 3
    rows = read_dataset(out)
    assert len(rows) == 7 and all("task_path" in r for r in rows)
    assert (tmp_path / "README.md").is_file()
    again = ok(invoke("sample", EI_DEMO, "-n", "7", "--seed", "1", "--out", tmp_path / "again.json", "--force"))
    assert "7 of 7 requested" in again.stdout
    assert read_dataset(tmp_path / "again.json") == rows  # same seed, same draw


def test_sample_more_than_the_tree_holds(tmp_path: Path) -> None:
    result = ok(invoke("sample", EI_DEMO, "-n", "100", "--max-depth", "1", "--format", "messages", "--out", tmp_path))
    assert "13 of 100 requested" in result.stdout and "hold only 13" in result.stdout
    assert len((tmp_path / "messages.jsonl").read_text().splitlines()) == 13


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_a_run_in_every_format(run: Path, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    result = ok(invoke("export", run, "--format", fmt))
    assert SECRET not in result.output
    directory = run / "export" / fmt
    data = directory if fmt == "hf" else next(p for p in directory.iterdir() if p.name != "README.md")
    rows = read_dataset(data)
    assert len(rows) == 12  # every kept example of the tasks that are not pruned
    if fmt != "openai":  # OpenAI's rows are messages and tools only
        assert {r["node_id"] for r in rows} == {"writing_help", "product_copy", "editing_copy", "summaries"}
    card = (directory / "README.md").read_text()
    assert "- tokens: 4500 in, 1000 out" in card and SECRET not in card
    assert_one_line_error(invoke("export", run, "--format", fmt), "--force")
    ok(invoke("export", run, "--format", fmt, "--force"))


def test_export_sampled_to_a_chosen_path(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "exp" / "train.jsonl"
    report = json.loads(ok(invoke("export", run, "-f", "jsonl", "-n", "5", "--out", out, "--json")).stdout)
    assert report["examples"] == 5 and report["written"] == [str(out), str(tmp_path / "exp" / "README.md")]
    assert len(out.read_text().splitlines()) == 5


def test_stats_of_a_run_with_plots(run: Path, tmp_path: Path) -> None:
    plots = tmp_path / "plots"
    stats = json.loads(ok(invoke("stats", run, "--plots", plots, "--json")).stdout)
    assert stats["kind"] == "run" and stats["examples"] == 12
    assert stats["verb_noun"]["unique_pairs"] >= 8
    assert stats["run"]["calls"] == 3
    assert sorted(Path(p).name for p in stats["plots"]) == ["examples_per_depth.png", "tree.png", "verb_noun.png"]
    assert all(Path(p).stat().st_size > 0 for p in stats["plots"])
    text = ok(invoke("stats", run)).stdout
    assert "verb–noun pairs:" in text and "unique over 12 instructions" in text and "LLM calls" in text


def test_stats_of_a_dataset_file(tmp_path: Path) -> None:
    out = tmp_path / "d.json"
    ok(invoke("sample", EI_DEMO, "-n", "16", "--max-depth", "5", "--out", out))
    text = ok(invoke("stats", out, "--no-verbs")).stdout
    assert "(file)" in text and "examples 16" in text


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("sample", "no/such/dir", "-n", "3", "--out", "x.json"), "no such file"),
        (("sample", str(EI_DEMO), "-n", "3", "--format", "csv", "--out", "x.json"), "not one of"),
        (("sample", str(EI_DEMO), "-n", "0", "--out", "x.json"), "-n must be at least 1"),
        (("sample", str(EI_DEMO), "-n", "3", "--out", "a/../b.json"), "'..'"),
        (("export", str(EI_DEMO)), "give --out"),
        (("stats", "no/such/file.json"), "no such file"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: tuple[str, ...], needle: str) -> None:
    assert_one_line_error(invoke(*args), needle)


def test_bad_dataset_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    assert_one_line_error(invoke("stats", bad), "line 1")
