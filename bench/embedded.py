"""Per-call latency and validity share of the embedded SmolLM2 model on this machine.

    .venv/bin/python bench/embedded.py [N]

Runs N decompose and N generate calls over a few domains and prints median/p90 latency per call,
completion tokens per second, and the share of calls whose completion validated (first try, after repair).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from explore_instruct.tools.generation.decompose import DecomposeRequest, decompose
from explore_instruct.tools.generation.generate import GenerateRequest, generate
from explore_instruct.tools.llm.models import ModelSpec, make_chat_model
from explore_instruct.tools.llm.structured import CallRecord

DOMAINS = [
    "rewriting business emails",
    "math word problems for middle school",
    "brainstorming birthday party ideas",
    "summarising news articles",
]


async def main(n: int) -> None:
    t0 = time.perf_counter()
    model = make_chat_model(ModelSpec(model="local:smollm2", seed=1, temperature=0.8))
    records: dict[str, list[CallRecord]] = {"decompose": [], "generate": []}
    for i in range(n):
        domain = DOMAINS[i % len(DOMAINS)]
        d = await decompose(model, DecomposeRequest(target=domain, k=3), model_label="local:smollm2")
        assert d.call is not None
        records["decompose"].append(d.call)
        g = await generate(model, GenerateRequest(task=domain, n=5), model_label="local:smollm2")
        records["generate"].extend(g.calls)
    print(
        f"embedded model: local:smollm2 (SmolLM2-135M-Instruct Q4_1), {n} calls of each kind, "
        f"load+run {time.perf_counter() - t0:.1f} s"
    )
    for kind, recs in records.items():
        lat = sorted(r.latency_s / r.attempts for r in recs)
        toks = sum(r.output_tokens for r in recs)
        secs = sum(r.latency_s for r in recs)
        first = sum(1 for r in recs if r.ok and r.attempts == 1)
        ok = sum(1 for r in recs if r.ok)
        print(
            f"{kind:9s}: median {statistics.median(lat):.2f} s/request, p90 {lat[int(0.9 * (len(lat) - 1))]:.2f} s, "
            f"{toks / secs:.0f} completion tokens/s, validated {ok}/{len(recs)} "
            f"({first} on the first try), faults {[r.error_kind for r in recs if not r.ok]}"
        )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8))
