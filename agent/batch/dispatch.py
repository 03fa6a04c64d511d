"""Many runs as one batch: jobs dispatched to Ray (or to a pool in this process), one budget over all of them.

The dispatcher keeps at most `parallel` jobs in flight and hands each job, as it starts, its share of the batch
budget as its own `max_cost_usd`: what the batch may still spend (the budget less what finished runs spent and
less the whole cap of every run still going) divided among the runs starting now, on top of what the run itself
had already spent (a resumed batch). So the runs together stay within `--max-cost`, as one run stays within its
own (up to the calls in flight when a cap is reached); once nothing is left the batch starts no more runs and
says which it left. A run that hits its share stops resumably (status budget), like any budget stop.

Where jobs run is an `Executor`: `LocalPool` drives them as tasks of this event loop; `agent/batch/ray_pool.py`
sends each to a Ray task that retries a lost worker. Progress (runs done, examples, cost) is read from the run
directories themselves, so it is the same wherever the runs are.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from explore_instruct.agent.batch.jobs import ATTEMPTS, BATCH_DIR, Job, drive_job, run_totals
from explore_instruct.agent.errors import one_line
from explore_instruct.tools.fileio import read_jsonl, write_text_atomic

SUMMARY = "summary.json"
Report = Callable[[dict[str, Any]], None]


class Executor(Protocol):
    """Runs one job somewhere; the awaitable gives the job's result dict (drive_job's) or raises."""

    def submit(self, job: Job) -> Awaitable[dict[str, Any]]: ...


class LocalPool:
    """Jobs as tasks of this process's event loop (no Ray): the dispatcher's `parallel` bounds them."""

    def submit(self, job: Job) -> Awaitable[dict[str, Any]]:
        return asyncio.ensure_future(drive_job(job))


@dataclass
class Budget:
    """The batch's `--max-cost`, shared out to runs as they start (None: no batch budget)."""

    total: float | None
    caps: dict[str, float] = field(default_factory=dict)  # running job -> its max_cost_usd

    def share(self, job: Job, spent: dict[str, float], starting: int) -> float | None:
        """The job's cap (None: no budget), or 0.0 when nothing is left. `spent`: every known run's spending."""
        if self.total is None:
            return None
        committed = sum(v for k, v in spent.items() if k not in self.caps) + sum(self.caps.values())
        free = self.total - committed  # the job's own spending so far is in `committed` already
        if free <= self.total * 1e-6:
            return 0.0
        return round(spent.get(job.name, 0.0) + free / max(1, starting), 8)


@dataclass
class BatchResult:
    rows: list[dict[str, Any]]
    wall_s: float
    max_cost_usd: float | None

    @property
    def totals(self) -> dict[str, Any]:
        done = sum(1 for r in self.rows if r["status"] == "done")
        return {
            "runs": len(self.rows),
            "done": done,
            "examples": sum(r.get("examples", 0) for r in self.rows),
            "calls": sum(r.get("calls", 0) for r in self.rows),
            "cost_usd": round(sum(r.get("cost_usd", 0.0) for r in self.rows), 6),
            "max_cost_usd": self.max_cost_usd,
            "wall_s": round(self.wall_s, 1),
        }


async def run_batch(
    jobs: list[Job],
    executor: Executor,
    *,
    parallel: int,
    max_cost_usd: float | None = None,
    then: Callable[[Job, dict[str, Any]], list[Job]] | None = None,
    report: Report | None = None,
    every_s: float = 2.0,
) -> BatchResult:
    """Drive every job to its end; `then(job, result)` may add jobs (a split batch's subtrees)."""
    started = time.monotonic()
    pending = deque(jobs)
    known = {j.name: j for j in jobs}
    running: dict[asyncio.Future[dict[str, Any]], Job] = {}
    results: dict[str, dict[str, Any]] = {}
    budget = Budget(max_cost_usd)
    spent = {j.name: run_totals(Path(j.run_dir))["cost_usd"] for j in jobs if Path(j.run_dir).exists()}
    last, due = 0.0, True
    while pending or running:
        while pending and len(running) < parallel:
            job = pending[0]
            cap = budget.share(job, spent, min(parallel - len(running), len(pending)))
            if cap is not None and cap <= spent.get(job.name, 0.0):
                break  # the batch budget is spent: no more runs start
            pending.popleft()
            job.max_cost_usd = cap
            if cap is not None:
                budget.caps[job.name] = cap
            running[asyncio.ensure_future(executor.submit(job))] = job
        if report is not None and (due or time.monotonic() - last >= every_s):
            due, last = False, time.monotonic()
            report(progress(known, results, running.values(), pending))
        if not running:
            break
        done, _ = await asyncio.wait(running, timeout=every_s, return_when=asyncio.FIRST_COMPLETED)
        due = due or bool(done)
        for fut in done:
            job = running.pop(fut)
            budget.caps.pop(job.name, None)
            try:
                result = fut.result()
            except Exception as e:  # a run that failed, or a worker lost more often than Ray retries
                result = {"name": job.name, "run_dir": job.run_dir, "status": "failed", "reason": one_line(e)}
                result |= run_totals(Path(job.run_dir))
            results[job.name] = result
            spent[job.name] = result.get("cost_usd", 0.0)
            for child in then(job, result) if then is not None and result["status"] == "done" else []:
                known[child.name] = child
                pending.append(child)
    if report is not None:
        report(progress(known, results, [], pending))
    for job in pending:  # left by the budget
        results[job.name] = {"name": job.name, "run_dir": job.run_dir, "status": "not started",
                             "reason": "the batch budget is spent", **run_totals(Path(job.run_dir))}  # fmt: skip
    attempts = count_attempts(jobs[0].batch_root) if jobs and jobs[0].batch_root else {}
    rows = [{**results[name], "attempts": attempts.get(name, 0)} for name in known]
    outcome = BatchResult(rows, time.monotonic() - started, max_cost_usd)
    if jobs and jobs[0].batch_root:
        path = Path(jobs[0].batch_root) / BATCH_DIR / SUMMARY
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps({"totals": outcome.totals, "runs": rows}, indent=2) + "\n")
    return outcome


def progress(
    known: dict[str, Job], results: dict[str, dict[str, Any]], running: Any, pending: deque[Job]
) -> dict[str, Any]:
    """The whole batch now: runs done and going, examples and cost so far (running runs read from their files)."""
    live = [run_totals(Path(j.run_dir)) for j in running]
    finished = list(results.values())
    return {
        "runs": len(known),
        "done": sum(1 for r in finished if r["status"] == "done"),
        "stopped": sum(1 for r in finished if r["status"] != "done"),
        "running": len(live),
        "waiting": len(pending),
        "examples": sum(r.get("examples", 0) for r in [*finished, *live]),
        "cost_usd": round(sum(r.get("cost_usd", 0.0) for r in [*finished, *live]), 6),
    }


def count_attempts(root: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in read_jsonl(Path(root) / BATCH_DIR / ATTEMPTS):
        if row.get("event") == "start":
            counts[row["run"]] = counts.get(row["run"], 0) + 1
    return counts


def summary_table(result: BatchResult) -> str:
    """The table printed at the end: one row a run, then the totals."""
    rows = [f"{'run':<44} {'status':<12} {'examples':>8} {'calls':>6} {'cost':>10} {'tries':>5}"]
    for r in result.rows:
        rows.append(
            f"{r['name'][:44]:<44} {r['status']:<12} {r.get('examples', 0):>8} {r.get('calls', 0):>6} "
            f"{'$' + format(r.get('cost_usd', 0.0), '.4f'):>10} {r.get('attempts', 0):>5}"
        )
        if r.get("reason"):
            rows.append(f"{'':<44} {r['reason'][:100]}")
    t = result.totals
    budget = f" of ${t['max_cost_usd']:.4f}" if t["max_cost_usd"] is not None else ""
    rows.append(
        f"{t['done']}/{t['runs']} runs done, {t['examples']} examples, {t['calls']} calls, "
        f"${t['cost_usd']:.4f}{budget}, {t['wall_s']} s"
    )
    return "\n".join(rows)
