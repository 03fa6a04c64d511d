"""The plan before spending (tools/plan/estimate.py, tools/plan/measure.py, `run --dry-run`, the card's planned vs
actual)."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import pytest
from support.reliability import WordScript
from typer.testing import CliRunner

from explore_instruct.agent.cli.main import EXIT_BAD_INPUT, app
from explore_instruct.agent.runs.limits import level_counts
from explore_instruct.agent.runs.runner import Runner
from explore_instruct.graphs.context import Context
from explore_instruct.tools.plan.estimate import make_plan, tasks_per_depth
from explore_instruct.tools.plan.inputs import Measured, Params
from explore_instruct.tools.plan.measure import MeasureError, measure, planned_vs_actual, run_facts

SHAPE = {"max_depth": 2, "breadth": [3, 2], "subtasks_per_call": 2, "examples": [12], "examples_per_call": 4}


def run(tmp_path: Path, name: str, script: WordScript, **params: object) -> Path:
    ctx = Context(
        model="openai:gpt-4o-mini",
        chat_model=script.chat_model(),
        similarity="exact",
        run_dir=str(tmp_path / name),
        **params,  # type: ignore[arg-type]
    )
    outcome = asyncio.run(Runner().start(ctx, domain="Email writing for work"))
    assert outcome.status == "done"
    return tmp_path / name


@pytest.mark.parametrize(
    ("depth", "breadth", "seeded"),
    [(0, [], None), (2, [8, 6], None), (3, [4], None), (2, [20, 2], None), (2, [3, 2], {0: 1, 1: 2, 2: 5})],
)
def test_tasks_per_depth_counts_as_the_limits_do(depth: int, breadth: list[int], seeded: dict[int, int]) -> None:
    p = Params(max_depth=depth, breadth=tuple(breadth))
    assert tasks_per_depth(p, seeded) == level_counts(depth, breadth, 12, seeded)


def test_a_run_that_keeps_everything_costs_what_the_arithmetic_says() -> None:
    p = Params.of(Context(model="openai:gpt-4o-mini", **SHAPE).public())  # type: ignore[arg-type]
    plan = make_plan(p, measured=Measured(yield_=1.0))
    assert [lv.tasks for lv in plan.levels] == [1, 3, 6]
    assert plan.calls["decompose"] == 1 * math.ceil(3 / 2) + 3 * math.ceil(2 / 2)
    # the root needs 12; every subtask brings 2 examples with it and needs 10 more: 3 calls of 4
    assert plan.calls["enrich"] == 3 + 9 * 3
    assert plan.calls["judge"] == 0
    assert (
        plan.cost_usd["low"] is not None and plan.cost_usd["low"] <= plan.cost_usd["expected"] <= plan.cost_usd["high"]
    )  # type: ignore[operator]


def test_the_judge_and_a_lower_yield_add_calls() -> None:
    base = Params.of(Context(model="openai:gpt-4o-mini", **SHAPE).public())  # type: ignore[arg-type]
    judged = Params.of(Context(model="openai:gpt-4o-mini", judge=True, judge_batch=5, **SHAPE).public())  # type: ignore[arg-type]
    full = make_plan(base, measured=Measured(yield_=1.0))
    half = make_plan(base, measured=Measured(yield_=0.5))
    assert half.calls["enrich"] > 1.5 * full.calls["enrich"]
    with_judge = make_plan(judged, measured=Measured(yield_=1.0, judge_drop=0.0))
    # every kept example is judged once, 5 a call, per task and round (the subtasks' own 2 in a stage of their own)
    assert with_judge.calls["judge"] == math.ceil(12 / 5) + 9 * (math.ceil(2 / 5) + math.ceil(10 / 5))
    math_plan = make_plan(Params(**{**judged.__dict__, "flavour": "math"}), measured=Measured(yield_=1.0))  # type: ignore[arg-type]
    assert math_plan.calls["solve"] == math_plan.calls["judge"] > 0


def test_the_high_end_prices_a_short_lookaheads_retries() -> None:
    def plan(retries: int) -> Any:
        ctx = Context(model="openai:gpt-4o-mini", lookahead_retries=retries, **SHAPE)  # type: ignore[arg-type]
        return make_plan(Params.of(ctx.public()), measured=Measured(yield_=1.0))

    none, one, two = plan(0), plan(1), plan(2)
    assert none.calls == one.calls == two.calls  # expected: a lookahead gets what it asks for
    assert none.tokens_high["input"] < one.tokens_high["input"] < two.tokens_high["input"]  # 4 tasks split, each
    assert one.tokens == none.tokens


def test_a_bare_sentences_root_is_planned_as_pooled_samples() -> None:
    bare = make_plan(Params.of(Context(model="local:smollm2", **SHAPE).public()), measured=Measured(yield_=1.0))  # type: ignore[arg-type]
    # the root's 2 calls (3 subtasks, 2 a call) each drawn 3 times; its 3 subtasks' one call each, once
    assert bare.calls["decompose"] == 3 * math.ceil(3 / 2) + 3 * math.ceil(2 / 2)
    preset = make_plan(
        Params.of(Context(model="local:smollm2", **SHAPE).public()), seeded={0: 1, 1: 3}, measured=Measured(yield_=1.0)
    )  # type: ignore[arg-type]
    assert preset.calls["decompose"] < bare.calls["decompose"]  # a seed's first level is not pooled


def test_compact_profile_plans_no_examples_from_decomposition() -> None:
    p = Params.of(Context(model="local:smollm2", **SHAPE).public())  # type: ignore[arg-type]
    assert p.profile == "compact"
    plan = make_plan(p, measured=Measured(yield_=1.0))
    assert plan.calls["enrich"] == 10 * 3  # 12 each, 4 a call, nothing brought by the decomposition
    assert plan.cost_usd["expected"] == 0.0  # local models cost nothing


def test_measured_on_a_pilot_the_plan_is_within_a_quarter_of_the_run(tmp_path: Path) -> None:
    script = WordScript(dup_share=0.25)
    pilot = run(tmp_path, "pilot", script, max_depth=1, breadth=[3], subtasks_per_call=2, examples=[12],
                examples_per_call=4)  # fmt: skip
    m = measure(pilot)
    assert 0.2 < m.yield_ < 1.0 and m.example_chars is not None and m.source == "measured on pilot"
    target = {**SHAPE, "breadth": [3, 3], "examples": [20]}
    ctx = Context(model="openai:gpt-4o-mini", **target)  # type: ignore[arg-type]
    plan = make_plan(Params.of(ctx.public()), measured=m)
    actual = run_facts(run(tmp_path, "target", script, **target))
    calls = actual.calls["generate"] + actual.calls["decompose"]
    assert abs(plan.total_calls / calls - 1) <= 0.25, (plan.calls, actual.calls)
    assert abs(plan.tokens["input"] / actual.input_tokens - 1) <= 0.25
    assert abs(plan.tokens["output"] / actual.output_tokens - 1) <= 0.25
    uncalibrated = make_plan(Params.of(ctx.public()))  # the defaults expect real models' long examples
    assert uncalibrated.tokens["output"] > 2 * actual.output_tokens


def test_measure_refuses_what_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(MeasureError, match="not a run directory"):
        measure(tmp_path)


def invoke(*args: str | Path) -> object:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # a plan needs no key
    out = tmp_path / "run"
    args = ["run", "--domain", "contracts in plain English", "--out", out, "--model", "openai:gpt-4o-mini",
            "--depth", "2", "--breadth", "4,3", "--examples", "40", "--examples-per-call", "5",
            "--dry-run"]  # fmt: skip
    result = invoke(*args)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    text = result.stdout  # type: ignore[attr-defined]
    assert "plan for 'contracts in plain English'" in text and "cost: $" in text and "17" in text
    assert not out.exists()
    as_json = json.loads(invoke(*args, "--json").stdout)  # type: ignore[attr-defined]
    assert [lv["tasks"] for lv in as_json["levels"]] == [1, 4, 12] and as_json["total_calls"] > 0
    bad = invoke(*args, "--calibrate", tmp_path)
    assert bad.exit_code == EXIT_BAD_INPUT and "not a run directory" in bad.stderr  # type: ignore[attr-defined]


def test_the_card_shows_planned_against_actual(tmp_path: Path) -> None:
    run_dir = run(tmp_path, "r", WordScript(), **SHAPE)
    rows, source = planned_vs_actual(run_dir) or ([], "")
    assert "defaults" in source  # started in process: no plan.json, planned now from run.json
    what = {w: (p, a) for w, p, a in rows}
    assert what["decompose calls"] == (5, 5)  # ceil(3/2) at the root, 1 at each of its 3 children
    assert set(what) >= {"enrich calls", "prompt tokens", "completion tokens"}
    from explore_instruct.tools.dataset.card import card_for
    from explore_instruct.tools.dataset.sampling import load_tree_source, sample

    loaded = load_tree_source(run_dir)
    card = card_for(loaded, sample(loaded, None), fmt="jsonl", files=["data.jsonl"])
    assert "| decompose calls | 5 | 5 | 1.00 |" in card
