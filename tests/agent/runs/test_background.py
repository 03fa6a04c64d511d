"""Background runs (agent/runs/background.py) through the LangChain tools: `explore` answers at once while the run goes
on, `status` follows it to the same summary a `wait=true` run gives, `cancel` stops it resumably; the caller
sizes (agent/runs/sizing.py) for a request that names only a domain; the cap on runs going on at once.

Runs go to the local OpenAI-compatible server with a per-request delay, so a run clearly outlasts the answer.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.outputs import ChatResult
from support.openai_server import ScriptedOpenAIServer
from support.scripted import Script

from explore_instruct.agent.request import ExploreRequest
from explore_instruct.agent.runs.background import REGISTRY, Background
from explore_instruct.agent.runs.limits import LimitError, Limits
from explore_instruct.agent.runs.progress import Tracker, planned
from explore_instruct.agent.runs.runner import Runner
from explore_instruct.agent.runs.service import Runs
from explore_instruct.agent.runs.sizing import CALLER_DEFAULTS
from explore_instruct.agent.tool import make_explore_tools
from explore_instruct.graphs.context import Context

DOMAIN = "Email writing for work"
TINY: dict[str, Any] = {"domain": DOMAIN, "depth": 1, "breadth": [2], "examples": [4]}
COUNTS = ("status", "tasks", "examples", "calls", "tokens", "tasks_per_depth", "examples_per_depth")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("EXPLORE_INSTRUCT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-dummy-for-tests")


@pytest.fixture
def slow_llm(openai_server: ScriptedOpenAIServer) -> ScriptedOpenAIServer:
    openai_server.responder = Script(delay=0.5).responder  # two rounds one after the other: >= 1 s
    return openai_server


def tools(server: ScriptedOpenAIServer, root: Path, **limits: Any) -> dict[str, Any]:
    defaults = {"model": "openai:scripted", "base_url": server.base_url, "similarity": "exact"}
    made = make_explore_tools(limits=Limits(output_root=str(root), **limits), defaults=defaults)
    return {t.name.removeprefix("explore_instruct_"): t for t in made}


def counts(result: dict[str, Any]) -> dict[str, Any]:
    return {k: result.get(k) for k in COUNTS}


async def test_explore_answers_at_once_and_status_follows_it_to_the_wait_true_summary(
    slow_llm: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    t = tools(slow_llm, tmp_path)
    assert set(t) == {"explore_instruct", "status", "cancel"}
    began = time.monotonic()
    answer = await t["explore_instruct"].ainvoke({**TINY, "output_dir": "bg"})
    answered = time.monotonic() - began
    assert answer["status"] == "running" and answer["run_id"] == "bg", answer
    assert answer["planned"] == {"tasks": 3, "examples": 12, "calls": 4}
    assert "status" in answer["next_step"] and answered < 5.0, answered

    seen = set()
    while (info := await t["status"].ainvoke({"run": "bg"}))["status"] == "running":
        seen.add(info["phase"])
        assert {"elapsed_s", "eta_s", "live", "calls", "cost_usd"} <= set(info)
        await asyncio.sleep(0.1)
    took = time.monotonic() - began
    assert seen & {"exploring", "enriching"}, seen
    assert took >= 1.0 and took > answered and info["status"] == "done" and info["phase"] == "done"

    blocked = await t["explore_instruct"].ainvoke({**TINY, "output_dir": "fg", "wait": True})
    assert counts(info) == counts(blocked) and blocked["examples"] == 12
    assert Path(info["paths"]["examples"]).read_text().count("\n") == 12
    print(f"\nexplore answered in {answered:.2f} s; the run took {took:.1f} s; counts {counts(info)}")


async def test_cancel_stops_the_run_resumably_and_resume_ends_it_the_same(
    slow_llm: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    runs = Runs(
        limits=Limits(output_root=str(tmp_path)),
        defaults={"model": "openai:scripted", "base_url": slow_llm.base_url, "similarity": "exact"},
    )
    bg = Background(runs)
    await bg.explore(ExploreRequest(**TINY, output_dir="c"))
    while (await bg.status("c"))["live"]["calls"] < 1:
        await asyncio.sleep(0.05)
    stopped = await bg.cancel("c")
    assert stopped["status"] == "cancelled" and "resume" in stopped["next_step"], stopped
    with pytest.raises(LimitError, match="cancel: run c is not running here"):
        await bg.cancel("c")
    again = await bg.resume("c", wait=True)
    whole = await bg.explore(ExploreRequest(**TINY, output_dir="whole", wait=True))
    assert again["status"] == "done" and counts(again) == counts(whole)
    assert (await bg.status("c"))["status"] == "done"


async def test_a_run_whose_job_is_gone_reads_as_stopped_and_resumable(
    slow_llm: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    """What a server restart leaves: the checkpoint, and no job in this process's registry."""
    runs = Runs(
        limits=Limits(output_root=str(tmp_path)),
        defaults={"model": "openai:scripted", "base_url": slow_llm.base_url, "similarity": "exact"},
    )
    bg = Background(runs)
    await bg.explore(ExploreRequest(**TINY, output_dir="r"))
    while (await bg.status("r"))["tasks"] < 1:
        await asyncio.sleep(0.05)
    await bg.cancel("r")
    REGISTRY.jobs.pop((tmp_path / "r").resolve())
    info = await bg.status("r")
    assert info["status"] == "stopped" and "resume" in info["next_step"], info
    done = await bg.resume("r", wait=True)
    assert done["status"] == "done" and done["examples"] == 12  # the root and two subtasks, 4 each


async def test_a_kill_after_the_steps_last_write_reads_as_stopped(
    openai_server: ScriptedOpenAIServer, tmp_path: Path
) -> None:
    """A kill after every task of a step saved its writes and before the step's checkpoint: LangGraph leaves
    such tasks out of `next`, and the run read as still `exploring` (an MCP restart test failed on it in CI).
    The state is made exactly: a finished run's checkpoints after a mid-run one are deleted, its writes stay."""
    openai_server.responder = Script().responder
    runs = Runs(
        limits=Limits(output_root=str(tmp_path)),
        defaults={"model": "openai:scripted", "base_url": openai_server.base_url, "similarity": "exact"},
    )
    bg = Background(runs)
    whole = await bg.explore(ExploreRequest(**TINY, output_dir="k", wait=True))
    db = tmp_path / "k" / "checkpoints.sqlite"
    with sqlite3.connect(db) as conn:
        ids = [r[0] for r in conn.execute("SELECT checkpoint_id FROM checkpoints ORDER BY checkpoint_id")]
        cut = ids[len(ids) // 2]
        assert conn.execute("SELECT COUNT(*) FROM writes WHERE checkpoint_id = ?", (cut,)).fetchone()[0] > 0
        conn.execute("DELETE FROM checkpoints WHERE checkpoint_id > ?", (cut,))
        conn.execute("DELETE FROM writes WHERE checkpoint_id > ?", (cut,))
    REGISTRY.jobs.pop((tmp_path / "k").resolve())
    stored = await Runner().status(str(tmp_path / "k"))
    assert stored["next"] == [] and stored["step"], stored  # the state a kill there leaves
    info = await bg.status("k")
    assert info["status"] == "stopped" and "resume" in info["next_step"], info
    again = await bg.resume("k", wait=True)
    assert again["status"] == "done" and counts(again)["examples"] == counts(whole)["examples"] == 12


class Broken(BaseChatModel):
    @property
    def _llm_type(self) -> str:
        return "broken"

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any) -> ChatResult:
        raise RuntimeError("model exploded\nwith a second line")


async def test_a_failure_in_the_background_is_a_one_line_status(tmp_path: Path) -> None:
    bg = Background(
        Runs(limits=Limits(output_root=str(tmp_path)), chat_model=Broken(), defaults={"similarity": "exact"})
    )
    await bg.explore(ExploreRequest(**TINY, output_dir="down"))
    info = await bg.status("down", wait_s=30)
    assert info["status"] == "failed" and info["phase"] == "failed", info
    assert info["error"] == "run down stopped: RuntimeError: model exploded (resume it once fixed)"


async def test_bad_calls_are_one_line_errors(slow_llm: ScriptedOpenAIServer, tmp_path: Path) -> None:
    t = tools(slow_llm, tmp_path, max_running=1)
    assert json.loads(await t["status"].ainvoke({"run": "nope"})) == {
        "error": "run: no run 'nope' under the output root"
    }
    assert json.loads(await t["status"].ainvoke({"run": "x", "wiat_s": 1})) == {"error": "unknown argument 'wiat_s'"}
    assert json.loads(await t["status"].ainvoke({"run": "x", "wait_s": -1}))["error"].startswith("wait_s: ")
    assert json.loads(await t["cancel"].ainvoke({"run": "../x"})) == {"error": "run: '../x' is outside the output root"}
    first = await t["explore_instruct"].ainvoke({**TINY, "output_dir": "one"})
    second = await t["explore_instruct"].ainvoke({**TINY, "output_dir": "two"})
    assert first["status"] == "running"
    assert json.loads(second) == {"error": "runs: 1 runs are going on already (the cap); wait for one or cancel one"}, (
        second
    )
    assert not (tmp_path / "two").exists()  # refused before anything was written
    await t["cancel"].ainvoke({"run": "one"})


async def test_a_caller_who_names_only_a_domain_gets_the_caller_sizes(
    slow_llm: ScriptedOpenAIServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = tools(slow_llm, tmp_path)
    answer = await t["explore_instruct"].ainvoke({"domain": DOMAIN, "output_dir": "d"})
    await t["cancel"].ainvoke({"run": "d"})
    stored = json.loads((tmp_path / "d" / "run.json").read_text())["context"]
    assert (
        {k: stored[k] for k in CALLER_DEFAULTS}
        == CALLER_DEFAULTS
        == {
            "max_depth": 2,
            "breadth": [3, 2],
            "examples": [5],
        }
    )
    assert answer.get("planned") == {"tasks": 10, "examples": 50, "calls": 14}, answer
    monkeypatch.setenv("EXPLORE_INSTRUCT_MAX_DEPTH", "1")  # the operator's environment wins
    runs = Runs(limits=Limits(output_root=str(tmp_path)), defaults={"breadth": [4]})  # and the operator's defaults
    prepared = runs.prepare(ExploreRequest(domain=DOMAIN, output_dir="e"))
    assert (prepared.ctx.max_depth, prepared.ctx.breadth, prepared.ctx.examples) == (1, [4], [5])


def test_the_plan_and_the_eta() -> None:
    ctx = Context(max_depth=2, breadth=[3, 2], examples=[5], similarity="exact")
    assert planned(ctx) == {"tasks": 10, "examples": 50, "calls": 14}  # 1 + 3 decompositions, 10 enrich calls
    tracker = Tracker(plan=planned(ctx))
    assert tracker.eta_s() is None and tracker.snapshot()["phase"] == "starting"
    tracker({"event": "proposed", "subtasks": ["a", "b", "c"]})
    tracker({"event": "enrich_round", "calls": 10})
    tracker({"event": "generated"})
    snap = tracker.snapshot()
    assert (
        snap["phase"] == "enriching"
        and snap["live"]["calls"] == 2
        and snap["live"]["round"]
        == {
            "calls": 10,
            "done": 1,
        }
    )
    assert snap["eta_s"] is not None and snap["eta_s"] >= 0
    tracker({"event": "finished", "examples": 50})
    assert tracker.eta_s() == 0.0 and tracker.snapshot()["phase"] == "done"
