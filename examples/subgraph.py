"""Compose the exploration workflow as a subgraph: explore → custom filter → export.

    python examples/subgraph.py                  # offline, on the embedded model

The compiled workflow (`explore_instruct.graphs.explore.graph`) is added as a node of a parent graph. The
parent shares its input keys (`domain`) and output keys (`run_dir`, `status`, `summary`, `stats`), and its
context (`Context`) reaches the subgraph unchanged.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any, NotRequired

from _common import parser
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from typing_extensions import TypedDict

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.explore import graph as explore
from explore_instruct.tools.dataset.export import write_dataset
from explore_instruct.tools.dataset.sampling import load_tree_source, sample


class Pipeline(TypedDict):
    domain: str
    min_output_chars: NotRequired[int]
    # written by the explore subgraph
    run_dir: NotRequired[str]
    status: NotRequired[str]
    summary: NotRequired[dict[str, Any]]
    stats: NotRequired[dict[str, Any]]
    # written by this graph's own nodes
    kept_ids: NotRequired[list[str]]
    dropped: NotRequired[int]
    files: NotRequired[list[str]]


def custom_filter(state: Pipeline) -> dict[str, Any]:
    """Our own rule on top of the workflow's filters: drop examples whose output is too short."""
    loaded = load_tree_source(Path(state["run_dir"]))
    every = sample(loaded, None).examples  # all examples of tasks that were not pruned
    keep = [s for s in every if len(s.example.output) >= state.get("min_output_chars", 20)]
    return {"kept_ids": [s.id for s in keep], "dropped": len(every) - len(keep)}


def export(state: Pipeline, runtime: Runtime[Context]) -> dict[str, Any]:
    loaded = load_tree_source(Path(state["run_dir"]))
    keep = set(state.get("kept_ids", []))
    examples = [s for s in sample(loaded, None).examples if s.id in keep]
    written = write_dataset("alpaca", examples, Path(state["run_dir"]) / "filtered", force=True)
    return {"files": [str(p) for p in written]}


builder = StateGraph(Pipeline, context_schema=Context)
builder.add_node("explore", explore)
builder.add_node("custom_filter", custom_filter)
builder.add_node("export", export)
builder.add_edge(START, "explore")
builder.add_edge("explore", "custom_filter")
builder.add_edge("custom_filter", "export")
builder.add_edge("export", END)
pipeline = builder.compile(name="explore_filter_export")


async def main() -> None:
    args = parser(__doc__ or "").parse_args()
    ctx = Context(
        model=args.model,
        base_url=args.base_url,
        similarity=args.similarity,
        max_depth=1,
        breadth=[2],
        examples=[3],
        run_dir=str(Path(args.out) / f"pipeline-{secrets.token_hex(3)}"),
    )
    out = await pipeline.ainvoke({"domain": args.domain, "min_output_chars": 20}, context=ctx)
    print(f"explore: {out['status']}, {out['summary']['examples']} examples in {out['run_dir']}")
    print(f"filter: kept {len(out['kept_ids'])}, dropped {out['dropped']}")
    print(f"export: {', '.join(out['files'])}")


if __name__ == "__main__":
    asyncio.run(main())
