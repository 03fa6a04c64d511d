"""The LangChain tool face: its schema, the operator's hard caps, output-root confinement, sync and async calls.

Runs go to the local OpenAI-compatible server (tests/support/openai_server.py) through the real openai
client, answered by the deterministic script; similarity is "exact" so nothing loads an embedder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.outputs import ChatResult
from support.agent_script import EXPLORE_ARGUMENTS
from support.openai_server import ScriptedOpenAIServer
from support.scripted import Script

from explore_instruct.agent.request import ExploreRequest
from explore_instruct.agent.runs.limits import LimitError, Limits, level_counts, node_count
from explore_instruct.agent.runs.service import Runs
from explore_instruct.agent.tool import make_explore_tool

DOMAIN = "Email writing for work"
TINY: dict[str, Any] = {"domain": DOMAIN, "depth": 1, "breadth": [2], "examples": [2]}
WAIT: dict[str, Any] = {**TINY, "wait": True}
SEED = Path(__file__).parents[1] / "fixtures" / "seed_tree.yaml"
SECRET = "sk-test-secret-must-never-appear"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("EXPLORE_INSTRUCT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("EXPLORE_INSTRUCT_API_KEY", SECRET)


@pytest.fixture
def llm(openai_server: ScriptedOpenAIServer) -> ScriptedOpenAIServer:
    openai_server.responder = Script().responder
    return openai_server


def defaults(server: ScriptedOpenAIServer) -> dict[str, Any]:
    return {"model": "openai:scripted", "base_url": server.base_url, "similarity": "exact"}


def error_of(result: Any) -> str:
    assert isinstance(result, str), result
    return str(json.loads(result)["error"])


# ---- the schema -----------------------------------------------------------------------------------


def test_schema_names_every_argument_and_forbids_others(tmp_path: Path) -> None:
    tool = make_explore_tool(limits=Limits(output_root=str(tmp_path)))
    schema = tool.args_schema.model_json_schema()  # type: ignore[union-attr]
    assert set(schema["properties"]) == EXPLORE_ARGUMENTS
    assert schema["additionalProperties"] is False
    assert all(p.get("description") for p in schema["properties"].values())
    assert tool.name == "explore_instruct" and "domain" in tool.description
    assert tool.coroutine is not None and tool.func is not None  # async and sync entry points


def test_request_accepts_the_forms_llms_send() -> None:
    req = ExploreRequest.model_validate({"domain": "x", "breadth": "4, 3", "examples": 5})
    assert req.breadth == [4, 3] and req.examples == [5]
    with pytest.raises(ValueError, match="exactly one of domain, seed or preset"):
        ExploreRequest(domain="x", seed="y.yaml")
    with pytest.raises(ValueError, match="exactly one of domain, seed or preset"):
        ExploreRequest(domain="  ")


def test_bad_arguments_come_back_as_one_line_errors(tmp_path: Path) -> None:
    tool = make_explore_tool(limits=Limits(output_root=str(tmp_path)))
    assert error_of(tool.invoke({"domain": DOMAIN, "breadth": "a,b"})).startswith("breadth: ")
    assert error_of(tool.invoke({"domain": DOMAIN, "depth": 99})).startswith("depth: ")
    assert "exactly one" in error_of(tool.invoke({"domain": DOMAIN, "seed": str(SEED)}))
    assert error_of(tool.invoke({"domain": DOMAIN, "colour": "red"})) == "unknown argument 'colour'"
    assert list(tmp_path.iterdir()) == []  # nothing was written for a request that could not run


# ---- caps -----------------------------------------------------------------------------------------


def test_node_count_is_the_tree_the_request_allows() -> None:
    assert node_count(2, [8, 6]) == 1 + 8 + 48
    assert node_count(1, [1]) == 2
    assert node_count(0, [5]) == 1
    assert node_count(3, [20]) == 1 + 12 + 144 + 1728  # at most 12 children per task (the method's cap)
    # A seed's own tasks count, and each of them may get new children.
    assert level_counts(1, [2], seeded={0: 1, 1: 3, 2: 2}) == [1, 5, 2]


def test_caps_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EXPLORE_INSTRUCT_HARD_MAX_CALLS", "7")
    monkeypatch.setenv("EXPLORE_INSTRUCT_HARD_MAX_COST_USD", "0.5")
    monkeypatch.setenv("EXPLORE_INSTRUCT_OUTPUT_ROOT", str(tmp_path))
    limits = Limits()
    assert (limits.max_calls, limits.max_cost_usd, limits.root) == (7, 0.5, tmp_path.resolve())
    assert Limits(max_calls=3).max_calls == 3  # code wins over the environment
    monkeypatch.setenv("EXPLORE_INSTRUCT_HARD_MAX_NODES", "lots")
    with pytest.raises(LimitError, match="EXPLORE_INSTRUCT_HARD_MAX_NODES"):
        Limits()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"depth": 2, "breadth": [8, 6]}, "allows up to 57 tasks; the cap is 20"),
        ({"max_calls": 51}, "max_calls: 51 is above the cap 50"),
        ({"max_tokens": 10**9}, "max_tokens: 1000000000 is above the cap"),
        ({"max_cost_usd": 100.0}, "max_cost_usd: 100.0 is above the cap 1.0"),
        ({"examples": [500]}, "up to 1500 examples requested; the cap is 1000"),
        ({"model": "openai:gpt-4o"}, "model: 'openai:gpt-4o' is not allowed here"),
    ],
)
def test_requests_above_a_cap_are_rejected(tmp_path: Path, args: dict[str, Any], message: str) -> None:
    limits = Limits(
        output_root=str(tmp_path),
        max_nodes=20,
        max_calls=50,
        max_cost_usd=1.0,
        max_examples=1000,
        models=("openai:scripted", "local:smollm2"),
    )
    tool = make_explore_tool(limits=limits, defaults={"model": "openai:scripted", "base_url": "http://127.0.0.1:9/v1"})
    assert message in error_of(tool.invoke({**TINY, **args}))
    assert list(tmp_path.iterdir()) == []


# ---- the output root --------------------------------------------------------------------------------


@pytest.mark.parametrize("out", ["../outside", "a/../../outside", "/etc/explore", ".", ""])
def test_output_dirs_outside_the_root_are_rejected(tmp_path: Path, out: str) -> None:
    limits = Limits(output_root=str(tmp_path / "root"))
    if out == "":
        assert limits.run_dir(out, default_name="fresh") == (tmp_path / "root" / "fresh").resolve()
        return
    with pytest.raises(LimitError, match="outside the output root"):
        limits.run_dir(out, default_name="x")


def test_a_symlink_cannot_lead_out_of_the_root(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    limits = Limits(output_root=str(root))
    with pytest.raises(LimitError, match="outside the output root"):
        limits.run_dir("link/run", default_name="x")
    with pytest.raises(LimitError, match="outside the output root"):
        limits.existing_run("link")
    assert limits.run_dir("nested/run", default_name="x") == (root / "nested" / "run").resolve()


def test_a_tool_run_cannot_escape_the_root(tmp_path: Path) -> None:
    tool = make_explore_tool(limits=Limits(output_root=str(tmp_path / "root")))
    assert "outside the output root" in error_of(tool.invoke({**TINY, "output_dir": "../../tmp/x"}))
    assert not (tmp_path / "tmp").exists()


def test_seeds_are_read_only_from_the_seed_root_and_refusals_look_alike(tmp_path: Path) -> None:
    """Missing, outside, through a symlink, via `..`, not a seed file: one answer, so `seed=` probes nothing."""
    root, seeds, outside = tmp_path / "root", tmp_path / "root" / "seeds", tmp_path / "outside"
    seeds.mkdir(parents=True)
    outside.mkdir()
    (outside / "creds.json").write_text('{"token": "x"}')
    (seeds / "good.yaml").write_text(SEED.read_text())
    (seeds / "ei").mkdir()  # an Explore-Instruct directory is a seed too
    (seeds / "notes.txt").write_text("not a seed")
    (seeds / "link.json").symlink_to(outside / "creds.json")
    (seeds / "out").symlink_to(outside, target_is_directory=True)
    limits = Limits(output_root=str(root))  # the default seed root: seeds/ under the output root
    assert limits.seeds == seeds.resolve()
    assert limits.seed("good.yaml") == str((seeds / "good.yaml").resolve())
    assert limits.seed(str(seeds / "good.yaml")) == str((seeds / "good.yaml").resolve())
    assert limits.seed("ei") == str((seeds / "ei").resolve())
    probes = [
        str(outside / "creds.json"),  # exists, outside
        str(outside / "missing.json"),  # missing, outside
        "missing.yaml",  # missing, inside
        "link.json",  # a symlink out
        "out/creds.json",  # through a symlinked folder
        "../../outside/creds.json",  # `..`
        "ei/../good.yaml",  # `..` even when it stays inside
        "notes.txt",  # not a seed file
        "",
    ]
    answers = set()
    for probe in probes:
        with pytest.raises(LimitError) as caught:
            limits.seed(probe)
        answers.add(str(caught.value).replace(repr(probe), "<path>"))
    assert answers == {"seed: <path> is not a seed file under the seed root"}
    with pytest.raises(LimitError, match="not a seed file under the seed root"):  # no seed root on disk yet
        Limits(output_root=str(tmp_path / "empty")).seed("good.yaml")


# ---- runs, sync and async ------------------------------------------------------------------------------


def test_sync_then_async_invoke_on_one_endpoint(llm: ScriptedOpenAIServer, tmp_path: Path) -> None:
    """Both entry points in one process against one server: each run has its own HTTP client and loop."""
    import asyncio

    tool = make_explore_tool(limits=Limits(output_root=str(tmp_path), max_calls=40), defaults=defaults(llm))
    first = tool.invoke({**WAIT, "output_dir": "sync-run"})
    second = asyncio.run(tool.ainvoke({**WAIT, "output_dir": "async-run"}))

    for result, name in ((first, "sync-run"), (second, "async-run")):
        assert isinstance(result, dict), result
        assert result["run_id"] == name and result["status"] == "done"
        assert result["tasks"] == 3 and result["tasks_per_depth"] == {"0": 1, "1": 2}
        lines = (tmp_path / name / "examples.jsonl").read_text().splitlines()
        assert result["examples"] == len(lines) == 6
        assert result["paths"]["examples"] == str(tmp_path.resolve() / name / "examples.jsonl")
        assert set(result) >= {"calls", "tokens", "cost_usd"}
        # Budgets the caller left out are the operator's caps, stored with the run.
        meta = json.loads((tmp_path / name / "run.json").read_text())
        assert meta["context"]["max_calls"] == 40
    assert llm.exhausted == 0
    # Compact: counts and paths, never the examples.
    assert "Give a concrete tip" not in json.dumps(first) + json.dumps(second)


async def test_async_invoke_in_a_running_loop_and_the_sync_entry_from_it(
    llm: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    tool = make_explore_tool(limits=Limits(output_root=str(tmp_path)), defaults=defaults(llm))
    result = await tool.ainvoke({**WAIT, "output_dir": "a"})
    assert result["status"] == "done"
    # A sync call from inside a running loop (a sync tool in an async agent) runs on a worker thread.
    again = tool.invoke({**WAIT, "output_dir": "b"})
    assert again["status"] == "done" and again["examples"] == result["examples"]


async def test_a_budget_stop_is_reported_and_resumable_within_the_caps(
    llm: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    runs = Runs(limits=Limits(output_root=str(tmp_path), max_calls=30), defaults=defaults(llm))
    stopped = await runs.explore(ExploreRequest(**TINY, max_calls=1, output_dir="b"))
    assert stopped["status"] == "budget" and stopped["stopped_by"] == "max_calls 1 reached"
    assert stopped["calls"] == 1 and stopped["tasks"] == 3  # counts so far, from the checkpoint

    with pytest.raises(LimitError, match="above the cap 30"):
        await runs.resume("b", max_calls=31)
    done = await runs.resume("b", max_calls=30)
    assert done["status"] == "done" and done["examples"] == 6

    status = await runs.status("b")
    assert status["status"] == "done" and status["examples"] == 6
    listed = await runs.list_runs()
    assert [(r["run_id"], r["status"], r["domain"]) for r in listed] == [("b", "done", DOMAIN)]


async def test_a_stored_budget_above_the_cap_is_not_lowered_without_a_word(
    llm: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    """A run the operator began with a bigger budget than a caller's cap: a caller's resume must name a budget
    within the cap (it used to be cut to the cap silently)."""
    big = Runs(limits=Limits(output_root=str(tmp_path), max_calls=500), defaults=defaults(llm))
    stopped = await big.explore(ExploreRequest(**TINY, max_calls=1, output_dir="c"))
    assert stopped["status"] == "budget"
    meta = json.loads((tmp_path / "c" / "run.json").read_text())
    meta["context"]["max_calls"] = 400  # as if begun with 400 calls by the operator
    (tmp_path / "c" / "run.json").write_text(json.dumps(meta))
    capped = Runs(limits=Limits(output_root=str(tmp_path), max_calls=30), defaults=defaults(llm))
    with pytest.raises(LimitError, match="max_calls: this run's budget 400 is above the cap 30; resume with max_calls"):
        await capped.resume("c")
    done = await capped.resume("c", max_calls=30)
    assert done["status"] == "done"


async def test_a_seed_run_counts_the_seed_tasks_against_the_cap(llm: ScriptedOpenAIServer, tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "tree.yaml").write_text(SEED.read_text())
    runs = Runs(limits=Limits(output_root=str(tmp_path), max_nodes=6), defaults=defaults(llm))
    with pytest.raises(LimitError, match="tasks; the cap is 6"):
        await runs.explore(ExploreRequest(seed="tree.yaml", depth=1, breadth=[2], examples=[1]))
    runs.limits.max_nodes = 50
    result = await runs.explore(ExploreRequest(seed="tree.yaml", depth=1, breadth=[1], examples=[1], output_dir="s"))
    assert result["status"] == "done" and result["tasks"] >= 4


def test_secrets_never_reach_outputs_or_files(llm: ScriptedOpenAIServer, tmp_path: Path) -> None:
    tool = make_explore_tool(limits=Limits(output_root=str(tmp_path)), defaults=defaults(llm))
    result = tool.invoke({**WAIT, "output_dir": "r"})
    bad = tool.invoke({**WAIT, "model": "openai:", "output_dir": "r2"})
    assert SECRET not in json.dumps(result) + str(bad)
    for path in (tmp_path / "r").rglob("*"):
        if path.is_file() and path.suffix in {".json", ".jsonl"}:
            assert SECRET not in path.read_text(encoding="utf-8", errors="replace"), path


class Broken(BaseChatModel):
    """A model that fails in a way no layer below handles."""

    @property
    def _llm_type(self) -> str:
        return "broken"

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any) -> ChatResult:
        raise RuntimeError("model exploded\nwith a second line")


def test_an_unexpected_failure_is_a_one_line_error_and_the_run_stays_resumable(tmp_path: Path) -> None:
    tool = make_explore_tool(
        limits=Limits(output_root=str(tmp_path)), chat_model=Broken(), defaults={"similarity": "exact"}
    )
    message = error_of(tool.invoke({**WAIT, "output_dir": "down"}))
    assert message == "run down stopped: RuntimeError: model exploded (resume it once fixed)"
    assert (tmp_path / "down" / "run.json").is_file()


def test_the_ready_made_tool_reads_the_operator_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import explore_instruct.agent.tool as tool_module

    monkeypatch.setenv("EXPLORE_INSTRUCT_OUTPUT_ROOT", str(tmp_path))
    monkeypatch.setenv("EXPLORE_INSTRUCT_HARD_MAX_NODES", "3")
    monkeypatch.delitem(tool_module.__dict__, "explore_tool", raising=False)
    from explore_instruct.agent.tool import explore_tool

    assert explore_tool.name == "explore_instruct"
    assert "the cap is 3" in error_of(explore_tool.invoke({"domain": DOMAIN, "depth": 1, "breadth": [4]}))


async def test_plan_mode_answers_the_cost_without_starting_anything(tmp_path: Path) -> None:
    """`plan=true` through the tool: the planned calls and cost range, and no run directory, model or call."""
    from explore_instruct.agent.runs.limits import Limits
    from explore_instruct.agent.tool import make_explore_tools

    tools = {t.name: t for t in make_explore_tools(limits=Limits(output_root=str(tmp_path)))}
    out = await tools["explore_instruct"].ainvoke(
        {"domain": "Email writing for work", "depth": 1, "breadth": [2], "examples": [6], "plan": True,
         "model": "openai:gpt-4o-mini"}
    )  # fmt: skip
    assert out["status"] == "planned" and out["tasks"] == [1, 2] and out["model"] == "openai:gpt-4o-mini"
    assert out["total_calls"] >= 3 and out["cost_usd"]["low"] is not None
    assert list(tmp_path.iterdir()) == []  # nothing was made
