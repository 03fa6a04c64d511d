"""The quality commands through the CLI: `judge` on trees and files, `sample --min-score`, `filter --quality`,
and a judged run's export (its `quality` column and the card's score histogram)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from support.openai_server import ScriptedOpenAIServer
from support.scripted import Script
from support.scripted_judge import ScriptedJudge, low_score
from typer.testing import CliRunner, Result

from explore_instruct.agent.cli.main import app
from explore_instruct.graphs.context import Context
from explore_instruct.graphs.explore import builder
from explore_instruct.tools.tree.ei_dir import load_ei_dir, write_ei_dir
from explore_instruct.tools.tree.model import DomainTree, Example

EI_DEMO = Path(__file__).parents[2] / "fixtures" / "ei_demo"


def invoke(*args: str | Path) -> Result:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


@pytest.fixture
def judge_server(openai_server: ScriptedOpenAIServer) -> ScriptedOpenAIServer:
    openai_server.responder = ScriptedJudge(low_share=0.4).responder
    return openai_server


def judge_args(server: ScriptedOpenAIServer, source: Path, out: Path, *extra: str) -> list[str | Path]:
    return ["judge", source, "--out", out, "--model", "openai:judge", "--base-url", server.base_url, *extra, "--json"]


def test_judge_a_tree_keeps_the_good_examples_with_their_verdicts(
    judge_server: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    result = json.loads(invoke(*judge_args(judge_server, EI_DEMO, tmp_path / "out", "--threshold", "4")).stdout)
    source = load_ei_dir(EI_DEMO)
    everything = [e for n in source.preorder() for e in n.examples]
    low = [e for e in everything if low_score(e.instruction, 0.4)]
    assert result["examples"] == len(everything) and result["kept"] == len(everything) - len(low) > 0
    assert result["scores"] == {"2": len(low), "5": len(everything) - len(low)}
    kept = load_ei_dir(tmp_path / "out")
    assert kept.root.name == source.root.name and set(kept.nodes) == set(source.nodes)  # the same layout
    examples = [e for n in kept.preorder() for e in n.examples]
    assert len(examples) == result["kept"]
    assert all(e.model_extra and e.model_extra["quality"]["score"] == 5 for e in examples)
    rows = lines(tmp_path / "out" / "judgements.jsonl")
    assert len(rows) == len(everything) and {r["kept"] for r in rows if r["score"] == 2} == {False}
    assert all(r["reason"] and r["judge_model"] == "openai:judge" for r in rows)


def test_judge_a_dataset_file_writes_the_same_kind_of_file(judge_server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    invoke("export", EI_DEMO, "--format", "jsonl", "--out", data)
    result = json.loads(invoke(*judge_args(judge_server, data, tmp_path / "out")).stdout)
    written = lines(tmp_path / "out" / "data.jsonl")
    assert len(written) == result["kept"] and all(r["quality"]["score"] >= 3 for r in written)
    assert {"instruction", "input", "output", "task_path"} <= set(written[0])


def test_judge_refuses_a_non_empty_out_and_an_empty_source(judge_server: ScriptedOpenAIServer, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("x")
    result = CliRunner().invoke(app, [str(a) for a in judge_args(judge_server, EI_DEMO, tmp_path / "out")])
    assert result.exit_code == 2 and "not empty" in result.stderr


async def judged_run(tmp_path: Path, judge_model: str = "openai:scripted-judge") -> Path:
    run_dir = tmp_path / "run"
    ctx = Context(
        chat_model=Script().chat_model(), judge=True, judge_chat_model=ScriptedJudge(low_share=0.3),
        judge_model=judge_model,
        similarity="exact", run_dir=str(run_dir), max_depth=1, breadth=[2], subtasks_per_call=1,
        examples=[4], examples_per_call=2,
    )  # fmt: skip
    out = await builder.compile(checkpointer=InMemorySaver()).ainvoke(
        {"domain": "Email writing for work"}, {"configurable": {"thread_id": "t"}, "recursion_limit": 1000}, context=ctx
    )
    assert out["status"] == "done"
    return run_dir


async def test_a_judged_run_exports_its_quality_column_and_card(tmp_path: Path) -> None:
    run_dir = await judged_run(tmp_path)
    invoke("export", run_dir, "--format", "jsonl", "--out", tmp_path / "data.jsonl")
    rows = lines(tmp_path / "data.jsonl")
    assert rows and all(r["quality"]["score"] == 5 and r["quality"]["judge_model"] for r in rows)
    card = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "## Quality" in card and f"| 5 | {len(rows)} |" in card
    assert "- judge: `openai:scripted-judge`" in card and "(not in the figures above)" in card
    assert "caveat" not in card


async def test_the_card_warns_when_the_embedded_model_judged(tmp_path: Path) -> None:
    """Measured (docs/quality.md): SmolLM2-135M scores by position in the batch, so its scores carry a caveat."""
    run_dir = await judged_run(tmp_path, judge_model="local:smollm2")
    invoke("export", run_dir, "--format", "jsonl", "--out", tmp_path / "data.jsonl")
    card = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "- caveat: the embedded 135M model cannot judge" in card


async def test_sample_min_score_takes_only_examples_judged_that_well(tmp_path: Path) -> None:
    run_dir = await judged_run(tmp_path)
    invoke("sample", run_dir, "-n", "100", "--min-score", "5", "--format", "jsonl", "--out", tmp_path / "five.jsonl")
    assert all(r["quality"]["score"] == 5 for r in lines(tmp_path / "five.jsonl"))
    result = CliRunner().invoke(app, ["sample", str(run_dir), "-n", "5", "--min-score", "6", "--out", "x.json"])
    assert result.exit_code == 2  # out of range, one line


def test_filter_quality_drops_degenerate_examples_by_rule(tmp_path: Path) -> None:
    tree = DomainTree.from_domain("Rewriting notes")
    tree.root.examples = [
        Example(instruction="Make this shorter.", input="The instructions.", output="Shorter."),
        Example(instruction="Make it easy", output="so it must be very easy for you, so it must be very easy for you"),
        Example(
            instruction="Explain tides to a child.", output="The Moon pulls the sea, so the water goes up and down."
        ),
    ]
    write_ei_dir(tree, tmp_path / "tree")
    result = json.loads(invoke("filter", tmp_path / "tree", "--out", tmp_path / "out", "--quality", "--json").stdout)
    assert result["degenerate_by_rule"] == {"meta_input": 1, "repeated_lines": 1}
    assert result["examples_after"] == 1
    assert [e.instruction for e in load_ei_dir(tmp_path / "out").root.examples] == ["Explain tides to a child."]
