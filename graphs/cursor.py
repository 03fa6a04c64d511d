"""The cursor's transitions (the paper's DFS): the decision point `choose`, then lookahead, descend, backtracking.

The cursor stands on one task. `choose` does nothing itself; the edge out of it is the transition
`routing.route` picks. Each transition moves the cursor and, for lookahead and backtracking, asks the model
for subtasks (`proposals.run_proposal`), which go to the similarity check before they join the tree.
"""

from __future__ import annotations

from typing import Any

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.proposals import plan_proposal, run_proposal
from explore_instruct.graphs.routing import asked
from explore_instruct.graphs.state import State
from explore_instruct.graphs.view import accepted_children
from explore_instruct.tools.tree.model import Origin


def choose(state: State) -> dict[str, Any]:
    """Where the cursor stands still; the edge out of here is the transition `route` picks."""
    return {}


async def lookahead(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Go deeper: decompose the cursor's task into finer subtasks."""
    ctx = runtime.context
    cursor = state.get("cursor")
    assert cursor is not None
    update = await run_proposal(plan_proposal(state, cursor, Origin.LOOKAHEAD, asked(state, cursor, ctx), ctx), ctx)
    update["nodes"][cursor]["extended"] = True
    update["visits"] = [{"step": "lookahead", "node": cursor}]
    return update


def descend(state: State) -> dict[str, Any]:
    """Move the cursor into the next child nobody has visited yet."""
    cursor = state.get("cursor")
    assert cursor is not None
    child = next(k for k in accepted_children(state, cursor) if not k.get("entered"))
    get_stream_writer()({"event": "visit", "node": child["id"], "depth": child["depth"]})
    return {
        "cursor": child["id"],
        "nodes": {child["id"]: {"entered": True}},
        "visits": [{"step": "descend", "node": child["id"]}],
    }


async def backtracking(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Go wider: return to the parent and ask for alternative siblings that do not overlap the existing ones.

    `route` sends the cursor here once its subtree is done; the parent widens while it has room
    (`breadth` new children at its depth, at most `max_children`), else the cursor only moves up.
    """
    ctx = runtime.context
    cursor = state.get("cursor")
    assert cursor is not None
    parent_id = state["nodes"][cursor]["parent"]
    k = asked(state, parent_id, ctx)
    update: dict[str, Any] = {}
    if k > 0 and state["nodes"][parent_id]["depth"] < ctx.max_depth:
        update = await run_proposal(plan_proposal(state, parent_id, Origin.BACKTRACKING, k, ctx), ctx)
    return update | {"cursor": parent_id, "visits": [{"step": "backtracking", "node": parent_id}]}
