"""BFS (the reference code's order): extend a whole level of the queue at once, fanned out with `Send`.

The same proposals and similarity check as DFS; only the driver differs: a queue instead of the cursor.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.proposals import plan_proposal, run_proposal
from explore_instruct.graphs.routing import asked
from explore_instruct.graphs.state import ProposeTask, State
from explore_instruct.tools.tree.model import Origin


def expand_level(state: State, runtime: Runtime[Context]) -> Command[Literal["extend_worker", "choose"]]:
    """Take the queue's front level and extend each of its tasks in parallel (one `Send` per task)."""
    ctx = runtime.context
    queue = list(state.get("queue", []))
    depth = state["nodes"][queue[0]]["depth"]
    level = [q for q in queue if state["nodes"][q]["depth"] == depth]
    rest = [q for q in queue if state["nodes"][q]["depth"] != depth]
    sends = []
    for node_id in level:
        k = asked(state, node_id, ctx)
        if k > 0 and state["nodes"][node_id]["depth"] < ctx.max_depth:
            sends.append(Send("extend_worker", plan_proposal(state, node_id, Origin.LOOKAHEAD, k, ctx)))
    update = {"queue": rest, "visits": [{"step": "expand_level", "node": n} for n in level]}
    return Command(goto=sends or "choose", update=update)


async def extend_worker(state: ProposeTask, runtime: Runtime[Context]) -> dict[str, Any]:
    """One task of the level: its decomposition call (`state` is the `Send` payload, not the graph state)."""
    task = state
    if "request" not in task:  # a Send from before typed payloads carried the whole state, target and k
        legacy: Any = task
        task = plan_proposal(legacy, legacy["target"], Origin.LOOKAHEAD, legacy["k"], runtime.context)
    update = await run_proposal(task, runtime.context)
    update["nodes"][task["target"]]["extended"] = True
    return update
