"""The routing functions of the exploration graph, on hand-made states: each transition and each pause."""

from __future__ import annotations

from typing import Any, get_args, get_type_hints

import pytest
from langgraph.runtime import Runtime

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.routing import (
    Transition,
    after_budget,
    after_proposing,
    after_worker,
    asked,
    on_context,
    over_budget,
    room,
    route,
    stop_reason,
)

CTX = Context(max_depth=2, breadth=[3, 2], subtasks_per_call=2, similarity="exact")


def node(nid: str, depth: int, parent: str | None, children: tuple[str, ...] = (), **flags: Any) -> dict[str, Any]:
    return {"id": nid, "name": nid, "depth": depth, "parent": parent, "children": list(children),
            "status": "accepted", **flags}  # fmt: skip


def state(cursor: str, *nodes: dict[str, Any], **extra: Any) -> Any:
    return {"nodes": {n["id"]: n for n in nodes}, "root_id": nodes[0]["id"], "cursor": cursor, **extra}


def test_room_counts_breadth_left_and_the_twelve_cap() -> None:
    assert room(node("r", 0, None), 0, CTX) == 3
    assert room(node("r", 0, None, new_children=2), 2, CTX) == 1
    assert room(node("r", 0, None), 11, CTX) == 1  # the method's cap of 12 children
    assert room(node("r", 0, None, status="pruned"), 0, CTX) == 0
    assert room(node("r", 0, None, fruitless=CTX.max_fruitless), 0, CTX) == 0
    assert room(node("leaf", 2, "x"), 0, CTX) == 0  # depth K: no breadth


def test_asked_is_bounded_by_subtasks_per_call() -> None:
    s = state("r", node("r", 0, None))
    assert asked(s, "r", CTX) == 2
    s = state("r", node("r", 0, None, new_children=2, children=("a", "b")), node("a", 1, "r"), node("b", 1, "r"))
    assert asked(s, "r", CTX) == 1


def test_route_goes_deeper_first() -> None:
    assert route(state("r", node("r", 0, None)), CTX) == "lookahead"


def test_route_retries_a_lookahead_that_added_nothing_until_fruitless() -> None:
    tried = node("r", 0, None, extended=True, fruitless=1)
    assert route(state("r", tried), CTX) == "lookahead"
    assert route(state("r", {**tried, "fruitless": CTX.max_fruitless}), CTX) == "plan_enrich"


def test_route_tries_a_short_lookahead_once_more_before_descending() -> None:
    short = node("p", 1, "r", ("a",), extended=True, short=True, extend_calls=1, new_children=1)
    s = state("p", node("r", 0, None, ("p",), extended=True), short, node("a", 2, "p"))
    assert route(s, CTX) == "lookahead"  # 1 of 2 accepted: a second try
    again = {**short, "extend_calls": 2}
    assert route(state("p", node("r", 0, None, ("p",), extended=True), again, node("a", 2, "p")), CTX) == "descend"
    twice = Context(max_depth=2, breadth=[3, 2], subtasks_per_call=2, similarity="exact", lookahead_retries=2)
    assert route(state("p", node("r", 0, None, ("p",), extended=True), again, node("a", 2, "p")), twice) == "lookahead"
    never = Context(max_depth=2, breadth=[3, 2], subtasks_per_call=2, similarity="exact", lookahead_retries=0)
    assert route(state("p", node("r", 0, None, ("p",), extended=True), short, node("a", 2, "p")), never) == "descend"
    full = {**short, "short": False}  # it got what it asked for: widening is backtracking's job
    assert route(state("p", node("r", 0, None, ("p",), extended=True), full, node("a", 2, "p")), CTX) == "descend"
    entered = state("p", node("r", 0, None, ("p",), extended=True), short, node("a", 2, "p", entered=True))
    assert route(entered, CTX) == "backtracking"  # a child was visited: no second lookahead
    at_k = {**short, "depth": 2}  # no lookahead at depth K, short or not
    assert route(state("p", node("r", 0, None, ("p",), extended=True), at_k, node("a", 3, "p")), CTX) == "descend"


def test_route_descends_into_a_child_nobody_entered() -> None:
    s = state("r", node("r", 0, None, ("a",), extended=True), node("a", 1, "r"))
    assert route(s, CTX) == "descend"


def test_route_backtracks_when_the_subtree_is_done_and_ends_at_the_root() -> None:
    leaf = node("a", 2, "p", entered=True)
    s = state("a", node("r", 0, None, ("p",), extended=True), node("p", 1, "r", ("a",), extended=True), leaf)
    assert route(s, CTX) == "backtracking"
    done = state("r", node("r", 0, None, ("p",), extended=True), node("p", 1, "r", entered=True, extended=True))
    assert route(done, CTX) == "plan_enrich"


def test_route_ignores_pruned_children() -> None:
    s = state("r", node("r", 0, None, ("a",), extended=True, new_children=3), node("a", 1, "r", status="pruned"))
    assert route(s, CTX) == "plan_enrich"  # no accepted child, no room left at the root


def test_route_pauses_before_anything_else() -> None:
    s = state("r", node("r", 0, None), stats={"calls": 5})
    assert route(s, Context(max_calls=5, similarity="exact")) == "budget_gate"
    s = state("r", node("r", 0, None), provider_streak=CTX.max_provider_failures)
    assert route(s, CTX) == "budget_gate"


def test_route_in_bfs_follows_the_queue() -> None:
    bfs = Context(strategy="bfs", similarity="exact")
    assert route(state("r", node("r", 0, None), queue=["r"]), bfs) == "expand_level"
    assert route(state("r", node("r", 0, None), queue=[]), bfs) == "plan_enrich"


@pytest.mark.parametrize(
    ("stats", "ctx", "reason"),
    [
        ({"calls": 3}, Context(max_calls=3, similarity="exact"), "max_calls 3 reached"),
        (
            {"input_tokens": 60, "output_tokens": 40},
            Context(max_tokens=100, similarity="exact"),
            "max_tokens 100 reached",
        ),
        ({"cost_usd": 0.5}, Context(max_cost_usd=0.5, similarity="exact"), "max_cost_usd 0.5 reached"),
        ({"calls": 2, "cost_usd": 0.1}, Context(max_calls=3, max_cost_usd=0.5, similarity="exact"), None),
    ],
)
def test_over_budget(stats: dict[str, Any], ctx: Context, reason: str | None) -> None:
    assert over_budget(stats, ctx) == reason


def test_stop_reason_names_the_kind() -> None:
    s = state("r", node("r", 0, None), stats={"calls": 1, "faults": {"api": 8}}, provider_streak=8)
    kind, why = stop_reason(s, CTX) or ("", "")
    assert kind == "provider" and "8 calls in a row" in why
    assert stop_reason(state("r", node("r", 0, None)), CTX) is None


def test_after_proposing_and_after_worker() -> None:
    review = Context(review=True, similarity="exact")
    assert after_proposing(state("r", node("r", 0, None), proposals=[]), CTX) == "choose"
    assert after_proposing(state("r", node("r", 0, None), proposals=[{"empty": True}]), CTX) == "similarity_check"
    assert after_proposing(state("r", node("r", 0, None), proposals=[{"name": "x"}]), review) == "review"
    assert after_worker(state("r", node("r", 0, None)), review) == "review"
    assert after_worker(state("r", node("r", 0, None)), CTX) == "similarity_check"


def test_after_budget_returns_to_where_the_pause_began() -> None:
    assert after_budget(state("r", node("r", 0, None), enrich_round=0)) == "choose"
    assert after_budget(state("r", node("r", 0, None), enrich_round=2)) == "plan_enrich"


def test_on_context_is_an_edge_that_keeps_the_destinations() -> None:
    edge = on_context(route)
    assert edge.__name__ == "route"
    assert get_args(get_type_hints(edge)["return"]) == get_args(Transition)
    assert edge(state("r", node("r", 0, None)), Runtime(context=CTX)) == "lookahead"
