"""A run's `stats` (calls, requests, tokens, cost) equal the sums over its query log, whatever a step does.

The bug this guards: `enrich_batch` once folded its calls with `{**stats, **call_stats(call)}`, so a
generation that made several calls counted only the last one, and budgets and the dataset card undercounted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from support.scripted import Script

import explore_instruct.graphs.enrich as enrich
from explore_instruct.graphs.accounting import calls_stats
from explore_instruct.graphs.context import Context
from explore_instruct.graphs.explore import builder
from explore_instruct.tools.generation.generate import GenerateResult, generate
from explore_instruct.tools.llm.models import cost_usd
from explore_instruct.tools.llm.structured import CallRecord

MODEL = "openai:gpt-4o-mini"  # a model with a known price, so cost is summed too


def log_sums(run_dir: Path) -> dict[str, Any]:
    rows = [json.loads(x) for x in (run_dir / "query_log.jsonl").read_text(encoding="utf-8").splitlines()]
    return {
        "calls": len(rows),
        "llm_requests": sum(r["attempts"] for r in rows),
        "input_tokens": sum(r["input_tokens"] for r in rows),
        "output_tokens": sum(r["output_tokens"] for r in rows),
        "cost_usd": sum(r["cost_usd"] for r in rows),
    }


def test_calls_stats_sums_every_call() -> None:
    records = [
        CallRecord("generate", MODEL, "prompt", attempts=1, input_tokens=100, output_tokens=40, ok=True),
        CallRecord("generate", MODEL, "prompt", attempts=2, input_tokens=300, output_tokens=10, error_kind="schema"),
    ]
    total = calls_stats(records, MODEL)
    assert total["calls"] == 2 and total["llm_requests"] == 3 and total["calls_ok"] == 1
    assert total["input_tokens"] == 400 and total["output_tokens"] == 50
    assert total["cost_usd"] == pytest.approx(cost_usd(MODEL, 400, 50))
    assert total["faults"] == {"schema": 1}


async def test_run_stats_equal_the_query_log_when_a_generation_makes_several_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def twice(model: Any, req: Any, **kw: Any) -> GenerateResult:
        """One generation that makes two calls (as a top-up would), each with its own tokens."""
        first = await generate(model, req, **kw)
        second = await generate(model, req, **kw)
        return GenerateResult(
            first.examples + second.examples, first.skipped + second.skipped, first.calls + second.calls
        )

    monkeypatch.setattr(enrich, "generate", twice)
    run_dir = tmp_path / "run"
    ctx = Context(
        model=MODEL,
        chat_model=Script(dup_share=0.3).chat_model(),
        run_dir=str(run_dir),
        similarity="exact",
        max_depth=1,
        breadth=[2],
        subtasks_per_call=1,
        examples=[4],
        examples_per_call=2,
    )
    out = await builder.compile(checkpointer=InMemorySaver()).ainvoke(
        {"domain": "Email writing for work"}, {"configurable": {"thread_id": "t"}, "recursion_limit": 1000}, context=ctx
    )
    assert out["status"] == "done"
    stats, sums = out["stats"], log_sums(run_dir)
    generate_rows = [r for r in map(json.loads, (run_dir / "query_log.jsonl").read_text().splitlines())]
    assert sum(1 for r in generate_rows if r["purpose"] == "generate") >= 2 * 3  # every batch made two calls
    assert {k: stats[k] for k in ("calls", "llm_requests", "input_tokens", "output_tokens")} == {
        k: sums[k] for k in ("calls", "llm_requests", "input_tokens", "output_tokens")
    }
    assert stats["cost_usd"] == pytest.approx(sums["cost_usd"]) and stats["cost_usd"] > 0


class Crash(RuntimeError):
    pass


async def test_after_a_crash_and_resume_the_stats_still_equal_the_query_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call logged by a step that then died was paid for: the resumed run redoes it and counts both."""
    from explore_instruct.agent.runs.checkpoints import eager_writes

    real = enrich.record_calls
    crashes = {"left": 1}

    def log_then_die(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)
        if crashes["left"]:
            crashes["left"] -= 1
            raise Crash("killed after the call was logged, before its step was saved")

    monkeypatch.setattr(enrich, "record_calls", log_then_die)
    run_dir = tmp_path / "run"
    ctx = Context(model=MODEL, chat_model=Script(dup_share=0.3).chat_model(), run_dir=str(run_dir),
                  similarity="exact", max_depth=1, breadth=[2], subtasks_per_call=1, examples=[6],
                  examples_per_call=2, max_concurrency=1)  # fmt: skip
    saver = InMemorySaver()
    eager_writes(saver)
    graph = builder.compile(checkpointer=saver)
    config: Any = {"configurable": {"thread_id": "t"}, "recursion_limit": 1000}
    with pytest.raises(Crash):
        await graph.ainvoke({"domain": "Email writing for work"}, config, context=ctx)
    out = await graph.ainvoke(None, config, context=ctx)
    assert out["status"] == "done"
    stats, sums = out["stats"], log_sums(run_dir)
    assert {k: stats[k] for k in ("calls", "llm_requests", "input_tokens", "output_tokens")} == {
        k: sums[k] for k in ("calls", "llm_requests", "input_tokens", "output_tokens")
    }
    assert stats["cost_usd"] == pytest.approx(sums["cost_usd"])
    # The crashed step's call, and those of steps LangGraph ran to the end of the failed superstep but did not
    # keep: each paid for, logged, asked again on resume, and now counted.
    assert stats["calls_redone_after_kills"] >= 1
