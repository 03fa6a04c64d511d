"""The exploration state machine: lookahead and backtracking over a domain tree, then enrichment.

Read the wiring below top to bottom; each node lives in the module named beside it.
1. `load_seed` builds the tree from a sentence or a seed and puts the cursor on the root (lifecycle).
2. `choose` is where the cursor decides; `routing.route`, a pure function of the state, names the transition:
   - **lookahead**: decompose the cursor's task into finer subtasks (depth + 1) (cursor);
   - **descend**: move the cursor into the next child not yet visited (cursor);
   - **backtracking**: move up to the parent and ask for alternative sibling branches (cursor);
   - **expand_level** (BFS only): extend a whole level of the queue at once, fanned out with `Send` (level);
   - **budget_gate**: a budget cap was reached or the provider keeps failing; pause resumably (lifecycle);
   - **plan_enrich**: exploration is over.
3. Every proposal passes **similarity_check** (after a person's **review** when asked) before it becomes a
   task; rejected ones are recorded as pruned and never explored, enriched or sampled (proposals).
4. `plan_enrich` fans out one `enrich_batch` per LLM call with `Send`; `dedup` folds each round into the run
   directory through the ledger; rounds repeat until every task has its examples (enrich). With `judge`,
   each round's examples first go through `plan_judge` -> `judge_batch` (Send) -> `judge_fold` (judging).
5. `finish` writes the tree and returns a compact summary (lifecycle).
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy

from explore_instruct.graphs.context import Context
from explore_instruct.graphs.cursor import backtracking, choose, descend, lookahead
from explore_instruct.graphs.enrich import dedup, enrich_batch, plan_enrich
from explore_instruct.graphs.judging import judge_batch, judge_fold, plan_judge
from explore_instruct.graphs.level import expand_level, extend_worker
from explore_instruct.graphs.lifecycle import SeedReader, budget_gate, finish, seed_node
from explore_instruct.graphs.proposals import review, similarity_check
from explore_instruct.graphs.routing import after_budget, after_proposing, after_worker, on_context, route
from explore_instruct.graphs.state import EnrichTask, InputState, JudgeTask, OutputState, ProposeTask, State
from explore_instruct.tools.tree.seeds import load_seed as load_seed_tree

__all__ = ["build", "builder", "graph"]

# Only faults a rerun can fix; malformed replies are handled (and recorded) inside the tools.
LLM_RETRY = RetryPolicy(max_attempts=3, initial_interval=1.0, jitter=True, retry_on=(ConnectionError, TimeoutError))


def build(
    read_seed: SeedReader = load_seed_tree, context_schema: type[Context] = Context
) -> StateGraph[State, Context, InputState, OutputState]:
    """The wiring; `read_seed` is the rule for a caller's `seed` (any path here; the seed root for the graph the
    Agent Server serves, agent/served.py), `context_schema` what a caller's context may hold (anything valid
    here; the served graph's refuses what only the operator may set)."""
    builder = StateGraph(State, context_schema=context_schema, input_schema=InputState, output_schema=OutputState)
    # 1. seed
    builder.add_node("load_seed", seed_node(read_seed))
    builder.add_edge(START, "load_seed")
    builder.add_edge("load_seed", "choose")
    # 2. the cursor decides: lookahead | descend | backtracking | expand_level | budget_gate | plan_enrich
    builder.add_node("choose", choose)
    builder.add_conditional_edges("choose", on_context(route))
    builder.add_node("lookahead", lookahead, retry_policy=LLM_RETRY)
    builder.add_conditional_edges("lookahead", on_context(after_proposing))
    builder.add_node("descend", descend)
    builder.add_edge("descend", "choose")
    builder.add_node("backtracking", backtracking, retry_policy=LLM_RETRY)
    builder.add_conditional_edges("backtracking", on_context(after_proposing))
    builder.add_node("expand_level", expand_level)
    builder.add_node("extend_worker", extend_worker, input_schema=ProposeTask, retry_policy=LLM_RETRY)
    builder.add_conditional_edges("extend_worker", on_context(after_worker))
    # (the Send payloads are typed: a worker gets its own request, never a copy of the state)
    # 3. proposals become tasks or are pruned
    builder.add_node("review", review)
    builder.add_edge("review", "similarity_check")
    builder.add_node("similarity_check", similarity_check)
    builder.add_edge("similarity_check", "choose")
    # budgets and provider pauses
    builder.add_node("budget_gate", budget_gate)
    builder.add_conditional_edges("budget_gate", after_budget)
    # 4. enrichment rounds
    builder.add_node("plan_enrich", plan_enrich)
    builder.add_node("enrich_batch", enrich_batch, input_schema=EnrichTask, retry_policy=LLM_RETRY)
    builder.add_edge("enrich_batch", "dedup")
    builder.add_node("dedup", dedup)
    builder.add_edge("dedup", "plan_enrich")
    # the judge stage (optional): plan_enrich sends unjudged examples here before planning the next round
    builder.add_node("plan_judge", plan_judge)
    builder.add_node("judge_batch", judge_batch, input_schema=JudgeTask, retry_policy=LLM_RETRY)
    builder.add_edge("judge_batch", "judge_fold")
    builder.add_node("judge_fold", judge_fold)
    builder.add_edge("judge_fold", "plan_enrich")
    # 5. finish
    builder.add_node("finish", finish)
    builder.add_edge("finish", END)
    return builder


builder = build()
graph = builder.compile(name="explore_instruct")
