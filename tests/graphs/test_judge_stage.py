"""The judge stage in the exploration graph, with scripted generator and judge models.

Low scores are dropped with their score and reason and the task's quota is refilled; a judge reply that cannot
be used leaves its examples kept but unjudged (counted); judge calls are counted apart and against budgets; a
crash mid-judge resumes to exactly the run an uninterrupted one makes; math answers are checked.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from support.scripted import Script
from support.scripted_judge import ScriptedJudge

from explore_instruct.agent.runs.checkpoints import eager_writes
from explore_instruct.graphs.context import Context
from explore_instruct.graphs.explore import builder
from explore_instruct.tools.quality.judge import boxed
from explore_instruct.tools.tree.ei_dir import load_ei_dir

DOMAIN = "Email writing for work"
SMALL = {"max_depth": 1, "breadth": [2], "subtasks_per_call": 1, "examples": [6], "examples_per_call": 3}


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()] if path.exists() else []


def context(run_dir: Path, judge: Any, **kw: Any) -> Context:
    # min_relevance=None: the call counts here are the judge's budget arithmetic, without the pooled first level.
    params: dict[str, Any] = {"chat_model": Script().chat_model(), "judge": True, "judge_chat_model": judge,
                              "similarity": "exact", "min_relevance": None, "run_dir": str(run_dir), **SMALL,
                              **kw}  # fmt: skip
    return Context(**params)


async def run(ctx: Context, graph: Any = None, *, resume: bool = False) -> tuple[Any, Any]:
    """A run to its end (resume: continue the thread from its last checkpoint)."""
    graph = graph or builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}, "recursion_limit": 10_000}
    await graph.ainvoke(None if resume else {"domain": DOMAIN}, config, context=ctx)
    return graph, await graph.aget_state(config)


async def test_low_scores_are_dropped_with_their_reason_and_quotas_refilled(tmp_path: Path) -> None:
    judge = ScriptedJudge(low_share=0.3)
    _, snap = await run(context(tmp_path / "run", judge))
    out, stats = snap.values, snap.values["stats"]
    assert out["status"] == "done" and out["summary"]["shortfall"] == {}  # refilled to 6 per task
    run_dir = tmp_path / "run"
    examples, verdicts = lines(run_dir / "examples.jsonl"), lines(run_dir / "judgements.jsonl")
    assert len({v["id"] for v in verdicts}) == len(verdicts) == len(examples)  # each judged once
    rejected = [v for v in verdicts if not v["kept"]]
    assert rejected and all(v["score"] == 2 for v in rejected)
    drops = [d for d in lines(run_dir / "dropped.jsonl") if d["stage"] == "judge"]
    assert sorted(d["id"] for d in drops) == sorted(v["id"] for v in rejected)
    assert all(d["rule"] == "judge_score" and d["score"] == 2 and d["detail"] for d in drops)
    tree = load_ei_dir(run_dir / "tree")
    kept = [e for n in tree.nodes.values() for e in n.examples]
    assert len(kept) == out["summary"]["examples"] == len(examples) - len(rejected) == 6 * 3
    assert all(e.model_extra and e.model_extra["quality"]["score"] == 5 for e in kept)
    # The judge's calls are counted apart from the generator's, and both match the query log.
    log = Counter(r["purpose"] for r in lines(run_dir / "query_log.jsonl"))
    assert stats["judge"]["calls"] == log["judge"] == judge.judge_calls
    assert stats["calls"] == log["decompose"] + log["generate"]
    assert stats["judge"]["judged"] == len(verdicts) and stats["drops"]["judge_score"] == len(rejected)


async def test_an_unusable_verdict_keeps_its_examples_unjudged(tmp_path: Path) -> None:
    judge = ScriptedJudge(low_share=0.0, broken=frozenset({1, 2}))
    _, snap = await run(context(tmp_path / "run", judge))
    verdicts = lines(tmp_path / "run" / "judgements.jsonl")
    failed = [v for v in verdicts if v["judge_failed"]]
    assert len(failed) == 6 and all(v["kept"] and "score" not in v for v in failed)  # two calls of three
    assert snap.values["stats"]["judge"]["judge_failed"] == 6
    assert snap.values["summary"]["examples"] == 18 and snap.values["summary"]["shortfall"] == {}
    bad = [r for r in lines(tmp_path / "run" / "bad_completions.jsonl") if r.get("purpose") != "generate"]
    assert len(bad) == 2


async def test_a_looping_reason_is_no_verdict(tmp_path: Path) -> None:
    """SmolLM2 as judge filled reasons with "1.1.1.1...": such a verdict is repaired once, then judge_failed."""
    judge = ScriptedJudge(low_share=1.0, looping=frozenset({1}))
    _, snap = await run(context(tmp_path / "run", judge))
    verdicts = lines(tmp_path / "run" / "judgements.jsonl")
    failed = [v for v in verdicts if v["judge_failed"]]
    assert len(failed) == 3 and all(v["kept"] and "score" not in v for v in failed)  # the looping call's three
    assert all(v["reason"] == "Scripted verdict on the instruction." for v in verdicts if not v["judge_failed"])
    assert snap.values["stats"]["judge"]["judge_failed"] == 3


async def test_judge_calls_count_against_the_budget(tmp_path: Path) -> None:
    ctx = context(tmp_path / "run", ScriptedJudge(low_share=0.3), max_calls=9)
    _, snap = await run(ctx)
    assert [i.value["kind"] for i in snap.interrupts] == ["budget"]
    stats = snap.values["stats"]
    assert stats["calls"] < 9 <= stats["calls"] + stats["judge"]["calls"]


class Crash(RuntimeError):
    pass


class CrashingJudge(ScriptedJudge):
    crash_at: int = 2
    crashed: bool = False

    def _reply(self, messages: Any) -> str:
        if not self.crashed and self.judge_calls + 1 == self.crash_at:
            object.__setattr__(self, "crashed", True)
            raise Crash("killed mid-judge")
        return super()._reply(messages)


async def test_a_crash_mid_judge_resumes_to_the_same_run(tmp_path: Path) -> None:
    whole_judge = ScriptedJudge(low_share=0.3)
    _, whole = await run(context(tmp_path / "whole", whole_judge))

    judge = CrashingJudge(low_share=0.3, crash_at=2)
    ctx = context(tmp_path / "run", judge, max_concurrency=1)
    saver = InMemorySaver()
    eager_writes(saver)  # as every run's driver does: a finished call's verdicts are saved at once
    graph = builder.compile(checkpointer=saver)
    with pytest.raises(Crash):
        await run(ctx, graph)
    _, snap = await run(ctx, graph, resume=True)
    assert snap.values["status"] == "done"
    for name in ("examples.jsonl", "judgements.jsonl"):
        assert lines(tmp_path / "run" / name) == lines(tmp_path / "whole" / name)
    assert snap.values["stats"]["judge"]["judged"] == whole.values["stats"]["judge"]["judged"]
    # Re-asked: the crashed call, and at most the one whose verdicts were still being saved when it crashed
    # (the bound the enrich stage has: concurrency + 1).
    assert whole_judge.judge_calls <= judge.judge_calls <= whole_judge.judge_calls + ctx.max_concurrency + 1


@dataclass(frozen=True)
class MathScript(Script):
    """Math examples whose output ends in a boxed answer drawn from the prompt."""

    def _example(self, task: str, h: str, j: int) -> dict[str, str]:
        return {"instruction": f"Compute {int(h[:4], 16)} plus {j} for {task}.", "input": "",
                "output": f"Adding gives the total. The answer is \\boxed{{{int(h[:4], 16) + j}}}."}  # fmt: skip


async def test_math_answers_that_disagree_are_dropped(tmp_path: Path) -> None:
    first = await run(
        context(tmp_path / "probe", ScriptedJudge(low_share=0.0), chat_model=MathScript().chat_model(),
                flavour="math", answer_check=False)
    )  # fmt: skip
    problems = lines(tmp_path / "probe" / "examples.jsonl")
    assert first[1].values["status"] == "done" and problems
    # The solver agrees on every other problem (by the example's own answer) and gets the rest wrong.
    answers = {p["instruction"]: boxed(p["output"]) if i % 2 else "-1" for i, p in enumerate(problems)}
    judge = ScriptedJudge(low_share=0.0, answers=answers)
    _, snap = await run(
        context(tmp_path / "run", judge, chat_model=MathScript().chat_model(), flavour="math", max_fruitless=1)
    )
    verdicts = {v["id"]: v for v in lines(tmp_path / "run" / "judgements.jsonl")}
    first_round = [p for p in lines(tmp_path / "run" / "examples.jsonl") if p["instruction"] in answers]
    for p in first_round:
        want = "agree" if answers[p["instruction"]] != "-1" else "mismatch"
        assert verdicts[p["id"]]["answer_check"] == want
        assert verdicts[p["id"]]["kept"] == (want == "agree")
    assert snap.values["stats"]["drops"]["answer_mismatch"] >= len(first_round) // 2
