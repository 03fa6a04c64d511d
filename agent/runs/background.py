"""Background runs for callers that cannot wait: the run goes on in this process, the caller gets an answer now.

An exploration runs minutes to hours, and MCP clients and agent frameworks give up on a tool call after about
a minute, so `explore` and `resume` start the run here and answer with its id and planned size; `status`
follows it (phase, counts, calls, cost, ETA from the progress events, then the summary) and `cancel` stops it.

Each run's life (directory, run.json, model, drive, release of what it held) is the `Runner`'s
(agent/runs/runner.py), reached through `Runs`; this module only keeps the jobs. Every background run of the
process lives on one event loop in a thread of its own (`event_loops.LOOP`): an asyncio task
per run, in a registry keyed by run directory. The callers' loops come and go (a sync tool call runs
`asyncio.run` per call, the chat graph per turn), and a run must outlive them. The run checkpoints as always
(one run directory = one thread), so a run whose process ended is `stopped` and `resume` continues it; a
cancel cancels the task, which stops the graph at the step it is in (finished calls of that step are saved)
and leaves it resumable the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explore_instruct.agent.errors import RunFailed, one_line
from explore_instruct.agent.request import ExploreRequest
from explore_instruct.agent.runs.answers import compact_status
from explore_instruct.agent.runs.driver import ProgressFn
from explore_instruct.agent.runs.event_loops import LOOP
from explore_instruct.agent.runs.limits import LimitError
from explore_instruct.agent.runs.progress import Tracker, planned
from explore_instruct.agent.runs.runner import load_stored_run
from explore_instruct.agent.runs.service import Runs

KEEP_FINISHED = 200  # finished runs the registry remembers (their answers are small)
CANCEL_WAIT_S = 30.0
PAUSED = {"review", "budget", "provider"}


def _ended(result: dict[str, Any]) -> dict[str, Any]:
    """A finished drive's answer (the summary, or a pause) with its phase."""
    return result | {"phase": result["status"] if result["status"] in PAUSED else "done"}


@dataclass
class BackgroundRun:
    """One drive of a run (a start or a resume) on the runs' loop."""

    run_id: str
    run_dir: Path
    tracker: Tracker
    plan: dict[str, int]
    task: asyncio.Task[dict[str, Any]] | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    cancelled: bool = False
    settled: bool = False
    listeners: list[ProgressFn] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def progress(self, event: dict[str, Any]) -> None:
        self.tracker(event)
        for listen in list(self.listeners):
            try:
                listen(event)
            except Exception:  # a caller that went away (a closed chat stream) must not stop the run
                self.listeners.remove(listen)

    def finished(self, task: asyncio.Task[dict[str, Any]]) -> None:
        """The task's end as the job's result, error or cancel (again from `settle`: its done-callback may not
        have run yet when another thread asks)."""
        if self.settled or not task.done():
            return
        if task.cancelled():
            self.cancelled = True
        elif task.exception() is not None:
            self.error = one_line(task.exception())  # type: ignore[arg-type]
        else:
            self.result = task.result()
        self.settled = True

    def settle(self) -> BackgroundRun:
        if self.task is not None:
            self.finished(self.task)
        return self


class Registry:
    """Run directory -> its latest job, shared by every `Background` of the process (all faces, all roots)."""

    def __init__(self) -> None:
        self.jobs: dict[Path, BackgroundRun] = {}
        self.starting = 0  # starts between their cap check and their job

    def running(self) -> list[BackgroundRun]:
        return [j for j in self.jobs.values() if j.running]

    def reserve(self, cap: int) -> None:
        """Before a start writes anything (on the runs' loop only, so checks cannot interleave)."""
        if len(self.running()) + self.starting >= cap:
            raise LimitError(f"runs: {cap} runs are going on already (the cap); wait for one or cancel one")
        self.starting += 1

    def add(self, job: BackgroundRun) -> None:
        """A reserved start's job (on the runs' loop only)."""
        current = self.jobs.get(job.run_dir)
        if current is not None and current.running:
            raise LimitError(f"run {job.run_id} is running; cancel it or wait for it first")
        self.jobs.pop(job.run_dir, None)
        self.jobs[job.run_dir] = job
        for old in [p for p, j in self.jobs.items() if not j.running][:-KEEP_FINISHED]:
            del self.jobs[old]


REGISTRY = Registry()


@dataclass
class Background:
    """`Runs` with runs that go on after the answer. `answer_within` (seconds) lets a person's face (the chat)
    wait a moment so a quick pause (a review) or end comes back at once; tool callers get the answer now."""

    runs: Runs
    answer_within: float = 0.0
    registry: Registry = field(default_factory=lambda: REGISTRY)

    async def explore(
        self, req: ExploreRequest, *, review: bool = False, progress: ProgressFn | None = None
    ) -> dict[str, Any]:
        """Start a run; with `req.wait` answer when it ends or pauses, else at once (or within `answer_within`).
        `req.plan` only plans it: nothing starts."""
        if req.plan:
            return await asyncio.to_thread(self.runs.plan, req)

        async def begin() -> BackgroundRun:
            started = await self.runs.start(req, review=review)
            job = self._job(started.store.root, started.plan, 0)
            job.task = asyncio.get_running_loop().create_task(self.runs.drive(started, job.progress))
            job.task.add_done_callback(job.finished)
            return job

        return await self._answer(await LOOP.call(self._reserved(begin)), req.wait, progress)

    async def resume(
        self,
        run: str,
        *,
        reject: list[int] | None = None,
        rename: dict[int, str] | None = None,
        wait: bool | None = None,
        progress: ProgressFn | None = None,
        **budgets: Any,
    ) -> dict[str, Any]:
        """Continue a stopped or paused run in the background (a review answered by `reject` / `rename`)."""

        async def begin() -> BackgroundRun:
            checked = await self.runs.resumable(run, reject=reject, rename=rename, **budgets)
            info = await self.runs.runner.status(checked.store.root)
            plan = await asyncio.to_thread(self._known_plan, checked.store.root)
            job = self._job(checked.store.root, plan, int(info.get("stats", {}).get("calls", 0)))
            job.tracker.examples = int(info.get("examples", 0))
            job.task = asyncio.get_running_loop().create_task(self.runs.drive(checked, job.progress))
            job.task.add_done_callback(job.finished)
            return job

        return await self._answer(await LOOP.call(self._reserved(begin)), wait, progress)

    def _reserved(self, begin: Callable[[], Awaitable[BackgroundRun]]) -> Callable[[], Awaitable[BackgroundRun]]:
        """`begin` within the cap on runs going on at once, checked before it writes anything."""

        async def run() -> BackgroundRun:
            self.registry.reserve(self.runs.limits.max_running)
            try:
                return await begin()
            finally:
                self.registry.starting -= 1

        return run

    def _known_plan(self, run_dir: Path) -> dict[str, int]:
        """The plan its start made, else one from its stored parameters (a run started before a restart)."""
        job = self.registry.jobs.get(run_dir)
        return dict(job.plan) if job is not None and job.plan else planned(load_stored_run(run_dir).ctx)

    def _job(self, run_dir: Path, plan: dict[str, int], calls_before: int) -> BackgroundRun:
        job = BackgroundRun(run_dir.name, run_dir, Tracker(plan=plan, calls_before=calls_before), plan)
        self.registry.add(job)
        return job

    async def _answer(self, job: BackgroundRun, wait: bool | None, progress: ProgressFn | None) -> dict[str, Any]:
        if progress is not None:
            job.listeners.append(progress)
        try:
            if wait:
                await self._settle(job, None)
            elif self.answer_within > 0:
                await self._settle(job, self.answer_within)
        finally:
            if progress is not None and progress in job.listeners:
                job.listeners.remove(progress)
        job.settle()
        if job.result is not None:
            return job.result
        if job.error is not None:  # failed at once: the caller learns it now
            raise RunFailed(job.error)
        now = await self._describe(job)
        if now["status"] != "running":  # it ended or paused between the two looks
            return now
        return {
            "run_id": job.run_id,
            "status": "running",
            "phase": now["phase"],
            "planned": job.plan,
            "next_step": f"call status with run={job.run_id!r} to follow it; cancel stops it (resumable)",
            "run_dir": str(job.run_dir),
        }

    async def _settle(self, job: BackgroundRun, timeout: float | None) -> None:
        """Wait for the run's task to end, at most `timeout` seconds; the run itself is never cancelled here."""
        task = job.task
        if task is None or task.done():
            return

        async def done() -> None:
            await asyncio.wait([task], timeout=timeout)

        await LOOP.call(done)

    # -- look and stop

    async def status(self, run: str, wait_s: float = 0.0) -> dict[str, Any]:
        """Progress of a background run (or the run's stored state when no job of this process drives it)."""
        run_dir = await asyncio.to_thread(self.runs.limits.existing_run, run)
        job = self.registry.jobs.get(run_dir)
        if job is None:
            info = await self.runs.status(str(run_dir))
            if info.get("status") == "stopped":
                info["next_step"] = "not running in this server (stopped, e.g. by a restart); resume continues it"
            return info
        if wait_s > 0:
            await self._settle(job, wait_s)
        return await self._describe(job)

    async def _describe(self, job: BackgroundRun) -> dict[str, Any]:
        progress = job.tracker.snapshot()
        if (result := job.settle().result) is not None:
            return _ended(result)
        try:
            info = compact_status(await self.runs.runner.status(job.run_dir))
        except Exception:  # no checkpoint yet: the first step is still on its way
            info = {"run_id": job.run_id, "run_dir": str(job.run_dir), "tasks": 0, "examples": 0, "calls": 0}
        if (result := job.settle().result) is not None:  # it ended while the checkpoint was read
            return _ended(result)
        if job.running:
            return info | {"status": "running", **progress, "planned": job.plan}
        if job.cancelled:
            return info | {"status": "cancelled", "phase": "cancelled", "next_step": "resume continues it"}
        return info | {
            "status": "failed",
            "phase": "failed",
            "error": job.error,
            "next_step": "resume it once the cause is fixed",
        }

    async def cancel(self, run: str) -> dict[str, Any]:
        """Stop a background run at the step it is in; its checkpoint stays, so `resume` continues it."""
        run_dir = await asyncio.to_thread(self.runs.limits.existing_run, run)
        job = self.registry.jobs.get(run_dir)
        if job is None or not job.running or job.task is None:
            raise LimitError(f"cancel: run {run_dir.name} is not running here")
        task = job.task

        async def stop() -> None:
            task.cancel()
            await asyncio.wait([task], timeout=CANCEL_WAIT_S)

        await LOOP.call(stop)
        return await self._describe(job)
