"""The bounded run operations every face that acts for someone else shares (tool, chat, MCP, `runs`).

`Runs` starts, resumes, inspects and lists run directories under the operator's output root, always through
`Limits`, and answers with compact dicts (ids, counts, paths, cost), never the data. A caller who leaves the
run's size out gets the caller sizes of `agent/runs/sizing.py`, not the batch defaults. What it checks is its own;
the run's life (directory, run.json, model, drive, release) is the `Runner`'s (agent/runs/runner.py). Starting a
run (`start`) and driving it (`drive`) are apart, so `agent/runs/background.py` can answer between the two.
File-system work happens off the event loop, because the Agent Server (`langgraph dev`) rejects blocking calls
inside it.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explore_instruct.agent.errors import RunFailed, one_line
from explore_instruct.agent.request import BUDGETS, ExploreRequest
from explore_instruct.agent.runs.answers import compact_outcome, compact_status
from explore_instruct.agent.runs.corpus_root import confine_docs, confine_tools
from explore_instruct.agent.runs.data import EXPORT_DIR, DatasetOut
from explore_instruct.agent.runs.driver import ProgressFn, RunOutcome
from explore_instruct.agent.runs.limits import LimitError, Limits, slug
from explore_instruct.agent.runs.progress import planned
from explore_instruct.agent.runs.runner import RunHandle, Runner, load_stored_run
from explore_instruct.agent.runs.sizing import caller_defaults
from explore_instruct.graphs.context import Context
from explore_instruct.tools.dataset.runstore import CHECKPOINTS, RUN_META, RunDirError, RunStore
from explore_instruct.tools.tree.seeds import load_seed

__all__ = ["EXPORT_DIR", "Prepared", "Runs"]


@dataclass
class Prepared:
    """A validated request: the run's parameters, input, model and planned size; nothing written yet."""

    ctx: Context
    inputs: dict[str, str]
    model: Any
    plan: dict[str, int] = field(default_factory=dict)


@dataclass
class Runs(DatasetOut):
    """Bounded run operations under one output root.

    defaults: operator run parameters (any `Context` field, e.g. base_url, similarity) that callers cannot set.
    chat_model: a model object for the runs (tests, apps embedding a model); never written anywhere.
    sized: give requests that leave depth/breadth/examples out the caller sizes (`agent/runs/sizing.py`).
    """

    limits: Limits = field(default_factory=Limits)
    defaults: dict[str, Any] = field(default_factory=dict)
    chat_model: Any = None
    sized: bool = True

    def __post_init__(self) -> None:
        unknown = sorted(set(self.defaults) - set(Context.__dataclass_fields__))
        if unknown:
            raise ValueError(f"run defaults: unknown parameter {unknown[0]!r}")

    @property
    def runner(self) -> Runner:
        """The run lifecycle these operations go through (the model `Runs` was given, if any, drives every run)."""
        return Runner(chat_model=self.chat_model)

    # -- start

    def prepare(self, req: ExploreRequest, *, review: bool = False) -> Prepared:
        """Validate everything (caps, seed, model, a free directory); blocking, so callers run it in a thread."""
        seeded: dict[int, int] | None = None
        inputs: dict[str, str] = {}
        if req.seed or req.preset:
            seed_path = req.preset_seed() or self.limits.seed(req.seed or "")
            tree = load_seed(seed_path)
            seeded = {int(d): n for d, n in tree.nodes_per_depth().items()}
            inputs["seed"] = str(Path(seed_path).resolve()) if Path(seed_path).exists() else seed_path
            name = tree.root.name
        elif req.domain:
            inputs["domain"] = req.domain.strip()
            name = inputs["domain"]
        else:  # docs alone: the graph names the root from the corpus
            name = Path(req.docs or "corpus").name
        docs = {"docs": confine_docs(self.limits, req.docs)} if req.docs else {}  # the seed-root rule, as a seed
        docs |= {"tools": confine_tools(self.limits, req.tools)} if req.tools else {}  # so is a tools list
        run_dir = self.limits.run_dir(req.output_dir, default_name=f"{slug(name)}-{secrets.token_hex(3)}")
        sizes = caller_defaults(self.defaults) if self.sized else {}
        params = {**sizes, **self.defaults, **req.context_params(), **docs, "review": review, "run_dir": str(run_dir)}
        ctx = self.limits.check(Context(**params), seeded)
        model = self.runner.model_for(ctx)  # a bad model string or a missing key fails before anything is written
        if (run_dir / RUN_META).exists() or (run_dir / CHECKPOINTS).exists():
            raise RunDirError(f"output_dir: {run_dir.name!r} already holds a run; resume it or pick another name")
        return Prepared(ctx, inputs, model, planned(ctx, seeded))

    async def start(self, req: ExploreRequest, *, review: bool = False) -> RunHandle:
        """Validate the request, make the run directory and write run.json; nothing is asked of the model yet."""
        run = await asyncio.to_thread(self.prepare, req, review=review)
        return await self.runner.begin(run.ctx, run.inputs, model=run.model, planned=run.plan)

    async def drive(self, run: RunHandle, progress: ProgressFn | None = None) -> dict[str, Any]:
        """Drive a begun or opened run until it ends or pauses; any failure leaves it resumable and says so in one
        line."""
        try:
            outcome = await self.runner.drive(run, progress)
        except Exception as e:
            raise RunFailed(f"run {run.store.root.name} stopped: {one_line(e)} (resume it once fixed)") from e
        return await self._compact(outcome)

    async def explore(
        self, req: ExploreRequest, *, review: bool = False, progress: ProgressFn | None = None
    ) -> dict[str, Any]:
        """Start a run and drive it until it ends or pauses (`req.plan`: only plan it); file work stays off the
        event loop."""
        if req.plan:
            return await asyncio.to_thread(self.plan, req)
        return await self.drive(await self.start(req, review=review), progress)

    def plan(self, req: ExploreRequest) -> dict[str, Any]:
        """What the request would cost, under the same caps, without a model, a key or a run directory."""
        from explore_instruct.agent.runs.plan import plan_answer, plan_for

        seed = req.preset_seed() or (self.limits.seed(req.seed) if req.seed else None)
        seeded = {int(d): n for d, n in load_seed(seed).nodes_per_depth().items()} if seed else None
        sizes = caller_defaults(self.defaults) if self.sized else {}
        docs = {"docs": confine_docs(self.limits, req.docs)} if req.docs else {}
        docs |= {"tools": confine_tools(self.limits, req.tools)} if req.tools else {}
        ctx = self.limits.check(Context(**{**sizes, **self.defaults, **req.context_params(), **docs}), seeded)
        return plan_answer(plan_for(ctx, seed=seed))

    # -- resume, review

    def _overrides(self, run: str, overrides: dict[str, Any]) -> Path:
        """The stored run under the root, its budgets held to the caps (a run started without caps gets them; one
        whose budget is above a cap is refused unless the caller names a budget within it); the model it would use
        is made, so a bad one fails before the resume begins."""
        run_dir = self.limits.existing_run(run)
        stored = load_stored_run(run_dir).ctx
        for name in BUDGETS:
            cap = getattr(self.limits, name)
            if name in overrides:
                if overrides[name] > cap:
                    raise LimitError(f"{name}: {overrides[name]} is above the cap {cap}")
            elif getattr(stored, name) is None:
                overrides[name] = cap
            elif getattr(stored, name) > cap:  # never lowered without a word: the caller says what it wants
                raise LimitError(
                    f"{name}: this run's budget {getattr(stored, name)} is above the cap {cap}; "
                    f"resume with {name} at most {cap}"
                )
        self.runner.model_for(load_stored_run(run_dir, **overrides).ctx)
        return run_dir

    async def resumable(
        self,
        run: str,
        *,
        reject: list[int] | None = None,
        rename: dict[int, str] | None = None,
        **budgets: Any,
    ) -> RunHandle:
        """Check a resume before it runs (budgets within the caps, proposal numbers that exist) and open the run."""
        overrides = {k: v for k, v in budgets.items() if v is not None}
        bad = set(overrides) - set(BUDGETS)
        if bad:
            raise LimitError(f"resume: unknown parameter {sorted(bad)[0]!r}")
        run_dir = await asyncio.to_thread(self._overrides, run, overrides)
        info = await self.runner.status(run_dir)
        pending = [i for i in info.get("interrupt", []) if isinstance(i, dict)]
        decision: dict[str, Any] | None = None
        if pending and pending[0].get("kind") == "review_subtasks":
            proposals = pending[0].get("proposals", [])
            asked = [*(reject or []), *(rename or {})]
            bad_n = [n for n in asked if not 1 <= n <= len(proposals)]
            if bad_n:
                raise LimitError(f"reject: no proposal {bad_n[0]} (there are {len(proposals)})")
            names = {n: str(new).strip() for n, new in (rename or {}).items()}
            if any(not new or "\n" in new or len(new) > 200 for new in names.values()):
                raise LimitError("rename: give each proposal a new name of one line (at most 200 characters)")
            decision = {
                "reject": [proposals[n - 1]["name"] for n in sorted(set(reject or []))],
                "rename": {proposals[n - 1]["name"]: new for n, new in names.items()},
            }
        elif reject or rename:
            raise LimitError("reject: this run is not waiting for a review")
        return await self.runner.open(run_dir, decision=decision, **overrides)

    async def resume(
        self,
        run: str,
        *,
        reject: list[int] | None = None,
        progress: ProgressFn | None = None,
        **budgets: Any,
    ) -> dict[str, Any]:
        """Continue a stopped run; at a review pause, `reject` names proposals by number (none: accept all)."""
        return await self.drive(await self.resumable(run, reject=reject, **budgets), progress)

    async def _compact(self, outcome: RunOutcome) -> dict[str, Any]:
        status = None if outcome.status == "done" else compact_status(await self.runner.status(outcome.run_dir))
        return compact_outcome(outcome, status)

    # -- look

    async def status(self, run: str) -> dict[str, Any]:
        run_dir = await asyncio.to_thread(self.limits.existing_run, run)
        info = compact_status(await self.runner.status(run_dir))
        if info["status"] == "done":  # the finished run's summary; opening a finished run only reads it
            finished = (await self.runner.open(run_dir)).finished
            if finished is not None:
                return compact_outcome(finished)
        return info

    def run_dirs(self, limit: int) -> list[Path]:
        """The newest run directories under the root (blocking: a listing, no checkpoint read)."""
        root = self.limits.root
        if not root.is_dir():
            return []
        dirs = [p for p in root.iterdir() if p.is_dir() and (p / RUN_META).is_file()]
        dirs.sort(key=lambda p: (p / RUN_META).stat().st_mtime, reverse=True)
        return dirs[:limit]

    async def list_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest runs under the root with status and counts; unreadable ones say why in one line."""
        rows = []
        for run_dir in await asyncio.to_thread(self.run_dirs, limit):
            try:
                meta = await asyncio.to_thread(RunStore(run_dir).read_meta)
                row = await self.status(str(run_dir))
                source = meta.get("input", {})
                row["domain"] = source.get("domain") or Path(str(source.get("seed", ""))).name
            except Exception as e:  # one broken run must not hide the others
                row = {"run_id": run_dir.name, "run_dir": str(run_dir), "status": "unreadable", "error": one_line(e)}
            rows.append(row)
        return rows
