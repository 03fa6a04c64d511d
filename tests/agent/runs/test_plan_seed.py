"""The plan counts a seed's examples as the run does: in a shaped run a preset's single pairs are demonstrations
only (graphs/lifecycle.py), so enrichment is planned to write every task's examples."""

from __future__ import annotations

from explore_instruct.agent.runs.plan import plan_for, seed_shape
from explore_instruct.graphs.context import Context
from explore_instruct.tools.plan.estimate import make_plan
from explore_instruct.tools.plan.inputs import Params
from explore_instruct.tools.tree.presets import preset


def test_a_shaped_run_plans_no_seed_examples_into_the_quota() -> None:
    seed = str(preset("rewriting").path)
    single = Context(examples=[4], model="openai:gpt-4o-mini", max_depth=1)
    shaped = Context(examples=[4], model="openai:gpt-4o-mini", max_depth=1, shape="multi_turn")
    assert seed_shape(seed, single)[1] == {0: 2.0, 1: 2.0}
    assert seed_shape(seed, shaped)[1] == {0: 0.0, 1: 0.0}
    assert seed_shape(seed)[1] == {0: 2.0, 1: 2.0}  # without a run: every example, as written
    seeded, every = seed_shape(seed)
    counted = make_plan(Params.of(shaped.public()), seeded=seeded, seed_examples=every)  # as if the pairs counted
    planned = plan_for(shaped, seed=seed)
    for depth in (0, 1):
        assert planned.levels[depth].enrich_calls > counted.levels[depth].enrich_calls
