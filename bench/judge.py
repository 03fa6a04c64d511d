"""Throughput of the judge stage itself: `explore-instruct judge` on a tree against a zero-latency fake model.

    .venv/bin/python bench/judge.py --tree PATH/TO/en_data/demo_domain [--batch 5] [--concurrency 8]

The fake judge (tests/support/scripted_judge.py) answers at once, so the time is ours: prompts, structured
parsing, the bounded fan-out, writing the kept copy and judgements.jsonl. It runs the CLI's own code path in
process (the model object injected where the CLI would build one) and prints examples/s and the share of the
time spent outside the model, measured in the same run by timing the fake's answers.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.scripted_judge import ScriptedJudge

from explore_instruct.agent.cli.judge import collect, write_kept
from explore_instruct.tools.quality.judge import judge_many


class TimedJudge(ScriptedJudge):
    """The scripted judge, with the time spent inside its answers added up."""

    spent: float = 0.0

    def _reply(self, messages: object) -> str:
        t = time.perf_counter()
        try:
            return super()._reply(messages)  # type: ignore[arg-type]
        finally:
            object.__setattr__(self, "spent", self.spent + time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", type=Path, required=True, help="an Explore-Instruct tree (the reference's demo)")
    ap.add_argument("--batch", type=int, default=5)
    ap.add_argument("--concurrency", type=int, default=8)
    a = ap.parse_args()
    started = time.perf_counter()
    loaded, items, rows = collect(a.tree)
    model = TimedJudge(low_share=0.3)
    verdicts, calls = asyncio.run(
        judge_many(model, items, batch=a.batch, concurrency=a.concurrency, model_label="fake")
    )
    keep = {i.id: v.as_dict() for i, v in ((i, verdicts[i.id]) for i in items) if (v.score or 5) >= 3}
    with tempfile.TemporaryDirectory() as out:
        write_kept(Path(out), a.tree, loaded, rows, keep)
    wall = time.perf_counter() - started
    print(f"{len(items)} examples, {len(calls)} judge calls (batch {a.batch}, concurrency {a.concurrency})")
    print(
        f"kept {len(keep)}; wall {wall:.2f} s = {len(items) / wall:.0f} examples/s, {1000 * wall / len(calls):.1f} ms "
        f"per call; the fake model's own share {model.spent / wall:.1%}"
    )


if __name__ == "__main__":
    main()
