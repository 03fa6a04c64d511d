"""What the chat says: its help, and run results, run lists, exports and stats as short replies (counts, ids,
paths, cost, the model; never the data). Each reply reads an operation's answer (agent/operations/results.py)."""

from __future__ import annotations

from typing import Any

HELP = """I build instruction-tuning data for a domain. Commands:
- `/explore <domain> [depth=2 breadth=3,2 examples=5 model=provider:name review=on|off max_calls=N \
max_tokens=N max_cost=USD out=dir wait=on]` (or `seed=<file>` instead of a domain); it runs in the background
- `/approve`, `/reject 1,3` or `/rename 2 <new name>` to answer a review of proposed subtasks
- `/status [run]` (progress, then the summary), `/cancel [run]`, `/runs`, \
`/resume [run] [max_calls=N max_tokens=N max_cost=USD]`
- `/export <run> <alpaca|jsonl|sharegpt|messages|hf> [n=N seed=S]`, `/stats [run]`
- `/help`"""


def _money(cost: Any) -> str:
    return "unknown (model price not listed)" if cost is None else f"${cost:.4f}"


def _per_depth(d: dict[str, Any]) -> str:
    return ", ".join(f"depth {k}: {v}" for k, v in d.items())


def _eta(seconds: Any) -> str:
    if seconds is None:
        return "ETA once the first calls are done"
    return f"ETA {round(seconds)} s" if seconds < 120 else f"ETA {round(seconds / 60)} min"


def _on(result: dict[str, Any]) -> str:
    """` on <model>` when the answer names the model the run uses."""
    return f" on `{result['model']}`" if result.get("model") else ""


def describe_running(result: dict[str, Any]) -> str:
    rid, live, plan = result.get("run_id"), result.get("live") or {}, result.get("planned") or {}
    calls = live.get("calls", result.get("calls", 0))
    of = f"{calls} of ~{plan['calls']} calls (planned: up to {plan['tasks']} tasks, {plan['examples']} examples)"
    return (
        f"Run `{rid}` is running ({result.get('phase')}): {result.get('tasks', 0)} tasks, "
        f"{result.get('examples', 0)} examples so far; {of if plan else f'{calls} calls'}{_on(result)}; "
        f"{_eta(result.get('eta_s'))}. `/status {rid}` follows it, `/cancel {rid}` stops it."
    )


def describe(result: dict[str, Any]) -> str:
    """A run result (from explore, resume or status) as a short chat reply."""
    rid, status = result.get("run_id"), result.get("status")
    usage = (
        f"{result.get('calls', 0)} calls{_on(result)}, {result.get('tokens', 0):,} tokens, "
        f"cost {_money(result.get('cost_usd'))}"
    )
    if status == "running":
        return describe_running(result)
    if status == "failed":
        return f"Run `{rid}` failed: {result.get('error')}. `/resume {rid}` continues it once the cause is fixed."
    if status == "review":
        lines = [f"Run `{rid}` proposes {len(result.get('proposals', []))} subtasks:"]
        for p in result.get("proposals", []):
            reason = str(p.get("reason") or "")
            reason = reason if len(reason) <= 120 else reason[:117] + "..."
            lines.append(f"{p['n']}. **{p['name']}** — {reason}")
        lines.append("Reply `/approve` to keep them all, or `/reject 1,3` to drop some.")
        return "\n".join(lines)
    if status in ("budget", "provider"):
        how = (
            f"`/resume {rid} max_calls=N` continues with a larger budget."
            if status == "budget"
            else f"`/resume {rid}` continues once the provider answers again."
        )
        return (
            f"Run `{rid}` stopped: {result.get('stopped_by')}. So far {result.get('tasks', 0)} tasks and "
            f"{result.get('examples', 0)} examples ({usage}). {how}"
        )
    if status == "done":
        per = result.get("tasks_per_depth")
        shape = f" ({_per_depth(per)})" if per else ""
        pruned = f", {result['tasks_pruned']} pruned" if result.get("tasks_pruned") else ""
        path = (result.get("paths") or {}).get("examples") or result.get("run_dir")
        return (
            f"Run `{rid}` is done: {result.get('tasks', 0)} tasks{shape}{pruned}, {result.get('examples', 0)} "
            f"examples; {usage}.\nExamples: `{path}`. `/export {rid} alpaca` writes a training file."
        )
    return (
        f"Run `{rid}` is {status}: {result.get('tasks', 0)} tasks, {result.get('examples', 0)} examples so far "
        f"({usage}). `/resume {rid}` continues it."
    )


def describe_runs(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No runs yet. Start one with `/explore <domain>`."
    lines = [f"{len(rows)} runs, newest first:"]
    for r in rows[:20]:
        if r.get("error"):
            lines.append(f"- `{r['run_id']}`: unreadable ({r['error']})")
        else:
            lines.append(
                f"- `{r['run_id']}` {r['status']}: {r.get('tasks', 0)} tasks, {r.get('examples', 0)} examples"
                + (f" — {r['domain']}" if r.get("domain") else "")
            )
    return "\n".join(lines)


def describe_export(r: dict[str, Any]) -> str:
    files = ", ".join(f"`{f}`" for f in r.get("files", []))
    return f"Exported {r['examples']} examples of `{r['run_id']}` as {r['format']}: {files}. {r['summary']}."


def describe_stats(r: dict[str, Any]) -> str:
    within = (r.get("rouge_l_within_nodes") or {}).get("mean")
    parts = [
        f"`{r['run_id']}`: {r.get('tasks', 0)} tasks, {r.get('examples', 0)} examples",
        f"tasks per depth {r.get('nodes_per_depth')}",
        f"examples per depth {r.get('examples_per_depth')}",
        f"ROUGE-L within tasks {within}, overall {r.get('rouge_l_overall')} (lower is more diverse)",
    ]
    run = r.get("run") or {}
    if run:
        parts.append(f"{run.get('calls', 0)} calls, cost {_money(run.get('cost_usd'))}, {run.get('dropped', 0)} drops")
    return "; ".join(parts) + "."
