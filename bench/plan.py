"""How far the plan (`run --dry-run`) is from the run it plans, on the scripted OpenAI-compatible mock.

    .venv/bin/python bench/plan.py [--examples 120] [--judge] [--similarity rouge]

A pilot run (depth 1: 4 tasks of the target's 17, each with the target's quota, so it meets the near-duplicates a
task meets as it fills) is measured (tools/plan/measure.py), the target run is planned from the defaults and from
the pilot, then the target run is made against the same mock (the real openai client over HTTP; replies from
tests/support: WordScript, a pure function of the prompt, a share of them near-duplicates) and every figure of
the plan is compared with what the run's query log recorded. Goal: calls and tokens within +-25% once measured
on a pilot. The defaults expect a real model's long examples, so uncalibrated tokens are far off on the mock's
short ones; they are printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.openai_server import ScriptedOpenAIServer
from support.reliability import WordScript
from support.scripted_judge import ScriptedJudge

from explore_instruct.agent.runs.runner import Runner
from explore_instruct.graphs.context import Context
from explore_instruct.tools.plan.estimate import make_plan
from explore_instruct.tools.plan.inputs import Params
from explore_instruct.tools.plan.measure import measure, run_facts

DOMAIN = "Email writing for work"


def responder(judge: bool) -> Any:
    script = WordScript(dup_share=0.15)
    grader = ScriptedJudge(low_share=0.2)

    def answer(request: dict[str, Any]) -> dict[str, Any]:
        text = "\n".join(str(m.get("content", "")) for m in request.get("messages", []))
        if judge and ("Grade each example" in text or "Solve each problem" in text):
            return grader.responder(request)
        return script.responder(request)

    return answer


async def one_run(base_url: str, run_dir: Path, **params: Any) -> Context:
    ctx = Context(model="openai:gpt-4o-mini", base_url=base_url, run_dir=str(run_dir), **params)
    started = time.perf_counter()
    outcome = await Runner().start(ctx, domain=DOMAIN)
    assert outcome.status == "done", outcome
    print(f"  {run_dir.name}: {time.perf_counter() - started:.1f} s")
    return ctx


def error(planned: float, actual: float) -> str:
    return f"{(planned / actual - 1) * 100:+.0f}%" if actual else "-"


async def main(a: argparse.Namespace) -> None:
    os.environ.setdefault("OPENAI_API_KEY", "bench-not-a-key")
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    common = {"similarity": a.similarity, "max_concurrency": a.concurrency, "judge": a.judge,
              "examples_per_call": a.per_call, "subtasks_per_call": 3}  # fmt: skip
    with tempfile.TemporaryDirectory() as root, ScriptedOpenAIServer(responder=responder(a.judge)) as server:
        print("runs on the mock:")
        pilot = [a.pilot or a.examples]
        await one_run(server.base_url, Path(root) / "pilot", max_depth=1, breadth=[3], examples=pilot, **common)
        target = {"max_depth": 2, "breadth": [4, 3], "examples": [a.examples], **common}
        ctx = await one_run(server.base_url, Path(root) / "target", **target)
        measured = measure(Path(root) / "pilot")
        params = Params.of(ctx.public())
        default_plan, pilot_plan = make_plan(params), make_plan(params, measured=measured)
        actual = run_facts(Path(root) / "target")
    print(
        f"pilot measured: yield {measured.yield_:.2f} of the examples asked, example chars {measured.example_chars}, "
        f"token scales in {measured.input_scale:.2f} out {measured.output_scale:.2f}"
    )
    print(f"target: depth 2, breadth 4,3, {a.examples} examples a task, {a.per_call} a call, {a.similarity}"
          f"{', judge' if a.judge else ''}; {actual.examples} examples kept")  # fmt: skip
    print(f"{'':<18} {'defaults':>10} {'pilot':>10} {'actual':>10} {'error (defaults)':>17} {'error (pilot)':>14}")
    rows = [(kind, default_plan.calls[kind], pilot_plan.calls[kind], actual.calls.get(purpose, 0))
            for kind, purpose in (("decompose", "decompose"), ("enrich", "generate"), ("judge", "judge"))]  # fmt: skip
    rows.append(("calls", default_plan.total_calls, pilot_plan.total_calls, sum(actual.calls.values())))
    rows.append(("prompt tokens", default_plan.tokens["input"], pilot_plan.tokens["input"], actual.input_tokens))
    rows.append(("completion tokens", default_plan.tokens["output"], pilot_plan.tokens["output"], actual.output_tokens))
    for name, d, p, real in rows:
        if d or p or real:
            print(f"{name:<18} {d:>10.0f} {p:>10.0f} {real:>10.0f} {error(d, real):>17} {error(p, real):>14}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=120, help="examples per task in the target run")
    parser.add_argument("--pilot", type=int, default=None, help="examples per task in the pilot (default: --examples)")
    parser.add_argument("--per-call", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--similarity", default="rouge", choices=["rouge", "exact"])
    parser.add_argument("--judge", action="store_true", help="with the judge stage (a scripted judge)")
    asyncio.run(main(parser.parse_args()))
