"""The run context: environment fallbacks read by each field's annotation, profiles, legacy run parameters."""

from __future__ import annotations

import pytest

from explore_instruct.graphs.context import Context
from explore_instruct.tools.settings import ParamError


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
    assert (old.profile, old.min_relevance, old.quality(), old.lookahead_retries) == ("full", None, None, 0)
    new = Context.from_stored(Context(similarity="exact").public())
    assert (new.profile, new.min_relevance, new.quality() is not None) == ("compact", 0.2, True)
    assert new.lookahead_retries == 1


def test_the_judge_is_the_generator_unless_told_otherwise() -> None:
    ctx = Context(model="openai:gpt-4o-mini", base_url="http://127.0.0.1:9/v1")
    spec = ctx.judge_spec()
    assert (spec.model, spec.base_url, spec.temperature) == ("openai:gpt-4o-mini", "http://127.0.0.1:9/v1", 0.0)
    other = Context(model="openai:gpt-4o-mini", base_url="http://127.0.0.1:9/v1", judge_model="openai:gpt-4o")
    assert (other.judge_spec().model, other.judge_spec().base_url) == ("openai:gpt-4o", None)
    with pytest.raises(ParamError, match="judge_threshold"):
        Context(judge_threshold=6)


# ---- no quiet clamping, and the bounds in every generated schema ---------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        # breadth 20 was cut to 12 (max_children) without a word
        ({"breadth": [20]}, "breadth: 20 is above 12, the most children a task may have (the method's cap)"),
        ({"breadth": [8, 6], "max_children": 5}, "breadth: 8 is above max_children (5), a task's most children"),
        ({"max_children": 13}, "max_children: Input should be less than or equal to 12"),
        ({"examples": [-1]}, "examples: -1 is below 0"),
        ({"max_calls": -1}, "max_calls: Input should be greater than or equal to 0"),
    ],
)
def test_a_value_outside_its_bounds_is_refused_naming_the_bound(params: dict[str, object], message: str) -> None:
    with pytest.raises(ParamError) as caught:
        Context(**params)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message), str(caught.value)


def test_an_env_flag_that_is_neither_on_nor_off_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPLORE_INSTRUCT_REVIEW", "maybe")  # read as off before, without a word
    with pytest.raises(ParamError, match=r"^EXPLORE_INSTRUCT_REVIEW: cannot read 'maybe'$"):
        Context()


def test_the_context_schema_studio_reads_carries_the_bounds() -> None:
    from explore_instruct.graphs.explore import graph

    props = graph.get_context_jsonschema()["properties"]  # type: ignore[index]
    assert (props["max_depth"]["minimum"], props["max_depth"]["maximum"]) == (0, 8)
    assert props["breadth"]["items"] == {"type": "integer", "minimum": 0, "maximum": 12}
    assert props["judge_threshold"]["maximum"] == 5 and props["strategy"]["enum"] == ["dfs", "bfs", "flat"]
    assert all(p.get("description") for p in props.values())


def test_replace_and_stored_runs_keep_working() -> None:
    import dataclasses

    ctx = Context(similarity="exact", breadth="4,3")  # type: ignore[arg-type]
    moved = dataclasses.replace(ctx, chat_model="a model")
    assert (moved.breadth, moved.chat_model, moved.similarity) == ([4, 3], "a model", "exact")
    assert Context.__dataclass_fields__["max_concurrency"].default == 8
    assert Context.from_stored(ctx.public()).public() == ctx.public()


def test_a_run_stored_with_a_breadth_above_the_cap_still_loads_as_it_ran() -> None:
    """Before breadth was bounded, breadth 20 ran as 12 (the cap on a task's children): the stored run resumes so."""
    old = Context.from_stored({"model": "local:smollm2", "similarity": "exact", "breadth": [20, 3], "max_depth": 2})
    assert old.breadth == [12, 3]
    with pytest.raises(ParamError, match="breadth: 20 is above 12"):
        Context(breadth=[20])  # a new run asking for it is refused


def test_a_temperature_the_embedded_model_would_not_use_is_refused() -> None:
    """The embedded model's factory runs it at temperature 1.0 at most: asking more was cut without a word."""
    with pytest.raises(ParamError, match=r"^temperature: 1.5 is above 1.0, the most the embedded model runs at"):
        Context(model="local:smollm2", temperature=1.5)
    assert Context(model="openai:gpt-4o-mini", temperature=1.5).sampling()["temperature"] == 1.5
