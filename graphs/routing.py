"""Which transition comes next: small pure functions of the state and the context, each unit-tested.

`route` is the cursor's decision at `choose` (the paper's DFS made explicit):
- **lookahead** while the cursor's task is shallower than K and has room for more children (once more when
  the first came back short, see `wants_lookahead`);
- **descend** into the next child nobody has entered yet;
- **backtracking** to the parent once the cursor's subtree is done (the parent may then widen);
- **plan_enrich** when the cursor is back at the root with nothing left to visit;
- **expand_level** instead of all of that in BFS, while the queue holds tasks;
- **budget_gate** first of all, when a budget is spent or the provider keeps refusing;
- **plan_enrich** at once in a flat run (`strategy: flat`): its tasks are the corpus's chunks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

from langgraph.runtime import Runtime

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.state import State
from explore_instruct.graphs.view import accepted_children
from explore_instruct.tools.tree.model import NodeStatus

T = TypeVar("T")
Transition = Literal["lookahead", "descend", "backtracking", "expand_level", "budget_gate", "plan_enrich"]


def room(node: dict[str, Any], n_children: int, ctx: Context) -> int:
    """How many more children exploration may still give this task."""
    if node.get("status") == NodeStatus.PRUNED or node.get("fruitless", 0) >= ctx.max_fruitless:
        return 0
    wanted = ctx.breadth_at(node["depth"]) - node.get("new_children", 0)
    return max(0, min(wanted, ctx.max_children - n_children))


def asked(state: State, node_id: str, ctx: Context) -> int:
    """Subtasks one lookahead or backtracking call asks for at `node_id`."""
    return min(ctx.subtasks_per_call, room(state["nodes"][node_id], len(accepted_children(state, node_id)), ctx))


def spent(stats: dict[str, Any]) -> tuple[int, int, float]:
    """Calls, tokens and USD so far, the judge's included (its own figures are also kept apart under "judge")."""
    judge = stats.get("judge", {})
    calls = stats.get("calls", 0) + judge.get("calls", 0)
    tokens = sum(s.get("input_tokens", 0) + s.get("output_tokens", 0) for s in (stats, judge))
    return calls, tokens, stats.get("cost_usd", 0.0) + judge.get("cost_usd", 0.0)


def over_budget(stats: dict[str, Any], ctx: Context) -> str | None:
    calls, tokens, cost = spent(stats)
    if ctx.max_calls is not None and calls >= ctx.max_calls:
        return f"max_calls {ctx.max_calls} reached"
    if ctx.max_tokens is not None and tokens >= ctx.max_tokens:
        return f"max_tokens {ctx.max_tokens} reached"
    if ctx.max_cost_usd is not None and cost >= ctx.max_cost_usd:
        return f"max_cost_usd {ctx.max_cost_usd} reached"
    return None


def stop_reason(state: State, ctx: Context) -> tuple[str, str] | None:
    """(kind, reason) when the run must pause: a budget is spent, or the provider keeps refusing."""
    budget = over_budget(state.get("stats", {}), ctx)
    if budget:
        return "budget", budget
    if state.get("provider_streak", 0) >= ctx.max_provider_failures:
        return "provider", (
            f"the model provider failed {state.get('provider_streak')} calls in a row after retries "
            f"(faults so far: {state.get('stats', {}).get('faults', {})}); resume when it is back"
        )
    return None


def wants_lookahead(cursor: dict[str, Any], kids: list[dict[str, Any]], ctx: Context) -> bool:
    """Whether the cursor's task (which still has room) should be decomposed (again) before the cursor moves.

    - never decomposed yet: the first lookahead;
    - decomposed, but no child accepted (empty reply, all pruned or rejected): retried until `max_fruitless`,
      otherwise one bad decomposition of the root would end the whole exploration;
    - the last lookahead came back short (fewer tasks than asked: names cut off, off the domain, too similar):
      tried again, `lookahead_retries` times at most, before descending. A small model's single draw often loses
      half its proposals to the name rules, and backtracking widens a task only once per child it has; a task
      left with one child makes a thin branch (issue 23). Once a child is entered, widening is backtracking's job.
    """
    if not cursor.get("extended") or not kids:
        return True
    fresh = not any(k.get("entered") for k in kids)
    return fresh and bool(cursor.get("short")) and cursor.get("extend_calls", 0) <= ctx.lookahead_retries


def route(state: State, ctx: Context) -> Transition:
    if stop_reason(state, ctx):
        return "budget_gate"
    if ctx.strategy == "flat":  # the tasks are the corpus's chunks, made at load_seed: nothing to explore
        return "plan_enrich"
    if ctx.strategy == "bfs":
        return "expand_level" if state.get("queue") else "plan_enrich"
    cursor_id = state.get("cursor")
    assert cursor_id is not None, "DFS needs a cursor (load_seed puts it on the root)"
    cursor = state["nodes"][cursor_id]
    kids = accepted_children(state, cursor_id)
    if cursor["depth"] < ctx.max_depth and room(cursor, len(kids), ctx) and wants_lookahead(cursor, kids, ctx):
        return "lookahead"
    if any(not k.get("entered") for k in kids):
        return "descend"
    if cursor["parent"] is None:
        return "plan_enrich"
    return "backtracking"


def after_proposing(state: State, ctx: Context) -> Literal["review", "similarity_check", "choose"]:
    """A call that proposed something goes to the check (through a person's review when asked)."""
    if not state.get("proposals"):
        return "choose"
    return "review" if ctx.review else "similarity_check"


def after_worker(state: State, ctx: Context) -> Literal["review", "similarity_check"]:
    """BFS: every worker leaves a proposal (an empty marker at least), so the level always goes to the check."""
    return "review" if ctx.review else "similarity_check"


def after_budget(state: State) -> Literal["choose", "plan_enrich"]:
    """A resumed pause goes back to where it stopped: exploration, or enrichment once it has begun."""
    return "plan_enrich" if state.get("enrich_round", 0) > 0 else "choose"


def on_context(decide: Callable[[State, Context], T]) -> Callable[[State, Runtime[Context]], T]:
    """A decision of (state, context) as a LangGraph edge of (state, runtime). The edge keeps the decision's
    name and return annotation: LangGraph reads the destinations the graph draws from that `Literal`."""

    def edge(state: State, runtime: Runtime[Context]) -> T:
        return decide(state, runtime.context)

    edge.__name__ = edge.__qualname__ = decide.__name__
    edge.__doc__ = decide.__doc__
    edge.__annotations__ = {**edge.__annotations__, "return": decide.__annotations__["return"]}
    return edge
