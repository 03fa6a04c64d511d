"""The judge stage (optional, `judge`): every kept example scored 1-5, those below the threshold dropped.

`plan_enrich` comes here while examples.jsonl holds examples nobody judged yet (seeds are a person's data and
are never judged). `plan_judge` sends one `judge_batch` per call (examples of one task, `judge_batch` at a time);
`judge_fold` folds the verdicts in batch-id order into judgements.jsonl, a ledger committed at an offset like
examples.jsonl, so a kill mid-judge re-asks only the calls in flight and no verdict is lost or doubled. Dropped
examples leave their task's count, so the next enrich round refills its quota.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from explore_instruct.graphs.accounting import calls_stats, provider_mark, record_calls
from explore_instruct.graphs.context import Context
from explore_instruct.graphs.enrich import round_outcome
from explore_instruct.graphs.grounding import judge_faithfulness
from explore_instruct.graphs.routing import stop_reason
from explore_instruct.graphs.state import JudgeTask, State, merge_by_id
from explore_instruct.graphs.view import run_dir, store_of, tree_of
from explore_instruct.tools.dataset.runstore import DROPPED, JUDGEMENTS, RunStore
from explore_instruct.tools.llm.models import shared_chat_model
from explore_instruct.tools.quality.judge import Judged, judge
from explore_instruct.tools.tree.model import Example


def judge_model_for(ctx: Context) -> Any:
    if ctx.judge_chat_model is not None:
        return ctx.judge_chat_model
    if ctx.judge_model is None and ctx.chat_model is not None:
        return ctx.chat_model  # the injected generator judges its own work unless told otherwise
    return shared_chat_model(ctx.judge_spec())


def plan_judge(state: State, runtime: Runtime[Context]) -> Command[Literal["judge_batch", "judge_fold", "budget_gate"]]:
    """One `Send` per judge call over the examples committed since the last judge stage."""
    ctx = runtime.context
    if stop_reason(state, ctx):
        return Command(goto="budget_gate", update={"enrich_round": max(1, state.get("enrich_round", 0))})
    store = store_of(state, ctx)
    start, end = state.get("judged_offset", 0), state.get("examples_offset", 0)
    names = {n.id: n.name for n in tree_of(state).preorder(include_pruned=True)}
    by_node: dict[str, list[dict[str, Any]]] = {}
    for rec in store.iter_examples(end, start):
        if ":seed:" not in rec.id:
            by_node.setdefault(rec.node_id, []).append({"id": rec.id, **rec.example.model_dump()})
    sends = []
    rnd = state.get("enrich_round", 0)
    for node_id, rows in by_node.items():
        for b in range(0, len(rows), ctx.judge_batch):
            task: JudgeTask = {
                "batch_id": f"j{rnd:04d}:{node_id}:{b // ctx.judge_batch:04d}",
                "node_id": node_id,
                "task": names.get(node_id, node_id),
                "run_dir": run_dir(state, ctx),
                "examples": rows[b : b + ctx.judge_batch],
            }
            sends.append(Send("judge_batch", task))
    if not sends:  # nothing new to judge (only seeds): the stage is over at once
        return Command(goto="judge_fold")
    get_stream_writer()({"event": "judge_round", "round": rnd, "calls": len(sends)})
    return Command(goto=sends, update={"status": "judging"})


async def judge_batch(state: JudgeTask, runtime: Runtime[Context]) -> dict[str, Any]:
    """One judge call (`state` is the `Send` payload); its verdicts wait in `verdicts` for the fold."""
    ctx, task = runtime.context, state
    examples = [Example.model_validate({k: v for k, v in e.items() if k != "id"}) for e in task["examples"]]
    result = await judge(judge_model_for(ctx), task["task"], examples, ctx.flavour, model_label=ctx.judge_label,
                         check_answers=ctx.answer_check)  # fmt: skip
    if ctx.docs:  # grounded: is each output supported by the chunks it cites? (unfaithful)
        result.calls.extend(await judge_faithfulness(ctx, judge_model_for(ctx), examples, result.judged))
    store = RunStore(ctx.run_dir or task["run_dir"])
    where = {"node_id": task["node_id"], "batch": task["batch_id"]}
    await asyncio.to_thread(record_calls, store, result.calls, [], ctx.judge_label, "judge", **where)
    items = [
        {"id": e["id"], "instruction": e["instruction"], **j.as_dict()}
        for e, j in zip(task["examples"], result.judged, strict=True)
    ]
    get_stream_writer()({"event": "judged", "node": task["node_id"], "examples": len(items)})
    mark = provider_mark(result.calls)
    return {
        **({"provider_streak": mark} if mark is not None else {}),
        "verdicts": {task["batch_id"]: {"node_id": task["node_id"], "items": items}},
        "stats": {"judge": calls_stats(result.calls, ctx.judge_label)},
    }


def judge_fold(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Fold the stage's verdicts in a fixed order: keep, or drop with the score and reason; refill quotas."""
    ctx = runtime.context
    store = store_of(state, ctx)
    rows: list[dict[str, Any]] = []
    drops: list[dict[str, Any]] = []
    gained: dict[str, int] = {}
    lost: dict[str, list[str]] = {}  # per task, the instructions of the examples dropped
    counts = {"judged": 0, "judge_failed": 0}
    for _, batch in sorted(state.get("verdicts", {}).items()):
        node_id = batch["node_id"]
        for item in batch["items"]:
            verdict = Judged(**{k: v for k, v in item.items() if k not in {"id", "instruction"}})
            rule = rule_for(verdict, ctx)
            rows.append({"id": item["id"], "node_id": node_id, **verdict.as_dict(), "kept": rule is None,
                         "judge_model": ctx.judge_label, "judge_failed": verdict.failed})  # fmt: skip
            counts["judged"] += 1
            counts["judge_failed"] += verdict.failed
            if rule is None:
                gained[node_id] = gained.get(node_id, 0) + 1
            else:
                lost.setdefault(node_id, []).append(item["instruction"])
                drops.append({"stage": "judge", "node_id": node_id, "id": item["id"], "rule": rule,
                              "score": verdict.score, "detail": verdict.reason or verdict.solved_answer})  # fmt: skip
    offset = store.commit_jsonl(JUDGEMENTS, rows, state.get("judgements_offset", 0))
    if drops:
        store.append_jsonl(DROPPED, drops)
    nodes: dict[str, dict[str, Any]] = {}
    for node_id, bad in lost.items():  # a dropped example must not go on as a demonstration in later prompts
        pool = [e for e in state["nodes"][node_id].get("examples", []) if e["instruction"] not in bad]
        nodes[node_id] = {"kept": state["nodes"][node_id].get("kept", 0) - len(bad), "examples": pool}
    touched = set(gained) | set(lost)
    totals = {n: (gained.get(n, 0), state["nodes"][n].get("kept", 0) - len(lost.get(n, []))) for n in touched}
    nodes = merge_by_id(nodes, round_outcome(state, ctx, totals))
    store.write_tree(tree_of(state, merge_by_id(state["nodes"], nodes)), state.get("examples_offset", 0), offset)
    by_rule: dict[str, int] = {}
    for d in drops:
        by_rule[d["rule"]] = by_rule.get(d["rule"], 0) + 1
    get_stream_writer()({"event": "judge_kept", "kept": sum(gained.values()), "dropped": len(drops)})
    return {
        "nodes": nodes,
        "verdicts": dict.fromkeys(state.get("verdicts", {})),
        "judged_offset": state.get("examples_offset", 0),
        "judgements_offset": offset,
        "stats": {"examples_kept": -len(drops), "drops": by_rule, "judge": counts},
    }


def rule_for(verdict: Judged, ctx: Context) -> str | None:
    """Why the judge drops an example, or None to keep it (an example nobody could judge is kept, counted)."""
    if verdict.answer_check == "mismatch":
        return "answer_mismatch"
    if verdict.faithful is False:
        return "unfaithful"
    if verdict.score is not None and verdict.score < ctx.judge_threshold:
        return "judge_score"
    return None
