"""Small exploration runs for the graph tests: one Context for a run of one level, one way to run and read it.

The shaped, multi-turn and tool-call tests each ran the same small tree (two tasks under the root, two examples
each) on a scripted model; what differs between them is the shape and the model, given as keywords.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.explore import builder

SMALL = {"max_depth": 1, "breadth": [2], "subtasks_per_call": 2, "examples": [2], "examples_per_call": 2}


def small_context(folder: Path, model: Any, **kw: Any) -> Context:
    """A run `folder/run` of one level of two tasks with two examples each, exact similarity and no relevance
    floors (a scripted model's task names are not about the domain as MiniLM sees it); `kw` overrides any."""
    params: dict[str, Any] = {
        "chat_model": model,
        "run_dir": str(folder / "run"),
        "similarity": "exact",
        "min_relevance": None,
        "min_root_relevance": None,
        **SMALL,
        **kw,
    }
    return Context(**params)


async def run_graph(inputs: dict[str, Any], ctx: Context, thread: str = "t") -> tuple[Any, dict[str, Any]]:
    """The exploration graph (in-memory checkpointer) run to its end or first pause: (graph, its output)."""
    graph = builder.compile(checkpointer=InMemorySaver())
    out = await graph.ainvoke(inputs, {"configurable": {"thread_id": thread}, "recursion_limit": 10000}, context=ctx)
    return graph, out


def read_rows(path: Path) -> list[dict[str, Any]]:
    """A JSONL file's rows; none when the run wrote no such file."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
