"""Quickstart: run the exploration workflow from Python and look at what it wrote.

    python examples/quickstart.py                          # offline, on the embedded model
    python examples/quickstart.py --model openai:gpt-4o-mini

The compiled graph is an ordinary LangChain Runnable: the input is a domain (or a seed), the run's
parameters are its context, and the examples land in the run directory.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

from _common import parser

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.explore import graph


async def main() -> None:
    args = parser(__doc__ or "").parse_args()
    run_dir = Path(args.out) / f"quickstart-{secrets.token_hex(3)}"
    ctx = Context(
        model=args.model,
        base_url=args.base_url,
        similarity=args.similarity,
        max_depth=1,  # root + one level of subtasks
        breadth=[2],  # two new subtasks under the root
        examples=[3],  # three examples per task
        run_dir=str(run_dir),
    )
    # The compiled graph is an ordinary Runnable: the input is a domain (or a seed), parameters are context.
    result = await graph.ainvoke({"domain": args.domain}, context=ctx)
    summary = result["summary"]
    print(f"status: {result['status']}")
    print(f"tasks per depth: {summary['nodes_per_depth']}, examples: {summary['examples']}")
    print(f"calls: {result['stats'].get('calls', 0)}, run directory: {result['run_dir']}")
    lines = (run_dir / "examples.jsonl").read_text(encoding="utf-8").splitlines()
    for line in lines[:2]:
        row = json.loads(line)
        print(f"- [{row['node_id']}] {row['instruction']}")


if __name__ == "__main__":
    asyncio.run(main())
