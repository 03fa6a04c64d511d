"""The run context: environment fallbacks read by each field's annotation, profiles, legacy run parameters."""

from __future__ import annotations

import pytest

from explore_instruct.graphs.context import Context
from explore_instruct.tools.params import ParamError


def test_env_fallbacks_are_read_as_each_field_is_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "BREADTH": "4,3", "EXAMPLES": "7", "MAX_DEPTH": "1", "MAX_CALLS": "12", "TEMPERATURE": "0.4",
        "MAX_COST_USD": "1.5", "REVIEW": "yes", "JUDGE": "on", "STRATEGY": "bfs", "MIN_RELEVANCE": "0.3",
    }.items():  # fmt: skip
        monkeypatch.setenv(f"EXPLORE_INSTRUCT_{name}", value)
    ctx = Context()
    assert (ctx.breadth, ctx.examples, ctx.max_depth, ctx.max_calls) == ([4, 3], [7], 1, 12)
    assert (ctx.temperature, ctx.max_cost_usd, ctx.review, ctx.judge) == (0.4, 1.5, True, True)
    assert (ctx.strategy, ctx.min_relevance) == ("bfs", 0.3)
    assert Context(max_calls=5).max_calls == 5  # a value given in code wins


def test_an_unreadable_env_value_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPLORE_INSTRUCT_MAX_CALLS", "many")
    with pytest.raises(ParamError, match=r"^EXPLORE_INSTRUCT_MAX_CALLS: cannot read 'many'$"):
        Context()


def test_the_profile_follows_the_model_and_sets_the_sampling() -> None:
    local, remote = Context(model="local:smollm2"), Context(model="openai:gpt-4o-mini")
    assert (local.profile, remote.profile) == ("compact", "full")
    assert local.sampling() == {"temperature": 0.7, "repeat_penalty": 1.1}
    assert remote.sampling() == {"temperature": 1.0, "repeat_penalty": 1.0}
    assert Context(model="openai:x", prompt_profile="compact", temperature=0.2).sampling()["temperature"] == 0.2
    assert local.public()["prompt_profile"] == "compact"  # written resolved, so a resume keeps it


def test_a_run_stored_before_profiles_and_quality_rules_keeps_its_behaviour() -> None:
    old = Context.from_stored({"model": "local:smollm2", "similarity": "exact", "no_longer_a_field": 1})
    assert (old.profile, old.min_relevance, old.quality()) == ("full", None, None)
    new = Context.from_stored(Context(similarity="exact").public())
    assert (new.profile, new.min_relevance, new.quality() is not None) == ("compact", 0.2, True)


def test_the_judge_is_the_generator_unless_told_otherwise() -> None:
    ctx = Context(model="openai:gpt-4o-mini", base_url="http://127.0.0.1:9/v1")
    spec = ctx.judge_spec()
    assert (spec.model, spec.base_url, spec.temperature) == ("openai:gpt-4o-mini", "http://127.0.0.1:9/v1", 0.0)
    other = Context(model="openai:gpt-4o-mini", base_url="http://127.0.0.1:9/v1", judge_model="openai:gpt-4o")
    assert (other.judge_spec().model, other.judge_spec().base_url) == ("openai:gpt-4o", None)
    with pytest.raises(ParamError, match="judge_threshold"):
        Context(judge_threshold=6)
