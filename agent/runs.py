"""Run operations shared by every face that acts for someone else (tool, chat, MCP, `runs`): bounded, compact.

`Runs` starts, resumes, inspects and lists run directories under the operator's output root, always through
`Limits`, and answers with compact dicts (ids, counts, paths, cost), never the data. File-system work happens
off the event loop, because the Agent Server (`langgraph dev`) rejects blocking calls inside it.
"""

from __future__ import annotations

import asyncio
import contextvars
import secrets
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from explore_instruct.agent.limits import LimitError, Limits, slug
from explore_instruct.agent.runner import (
    ProgressFn,
    RunOutcome,
    begin_run,
    drive,
    load_run,
    new_run_dir,
    own_http_client,
    resume_run,
    run_status,
)
from explore_instruct.graphs.context import Context, ContextError
from explore_instruct.tools.llm import ModelConfigError, make_chat_model
from explore_instruct.tools.runstore import CHECKPOINTS, EXAMPLES, RUN_META, TREE_DIR, RunDirError, RunStore
from explore_instruct.tools.seeds import SeedError, load_seed
from explore_instruct.tools.similarity import SimilarityError

T = TypeVar("T")
EXPORT_DIR = "export"
# Resumable pauses other than a review, and what resumes them.
PAUSES = {"budget": "resume with a larger budget", "provider": "resume once the model provider answers again"}
# Failures a caller can fix; every face turns them into one line (tool error, chat reply, exit code 2).
BAD_INPUT: tuple[type[Exception], ...] = (
    LimitError,
    ContextError,
    ModelConfigError,
    SeedError,
    RunDirError,
    SimilarityError,
)


class RunFailed(RuntimeError):
    """A run stopped by a fault (not a budget or review); its directory is kept and resumable."""


def one_line(e: BaseException) -> str:
    """A caller-facing message: one line, typed unless it is a known bad-input error."""
    if isinstance(e, ValidationError):
        err = e.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ())) or "input"
        return f"{where}: {err.get('msg', 'invalid')}".replace("Value error, ", "")
    first = str(e).splitlines()[0] if str(e) else ""
    if isinstance(e, (*BAD_INPUT, ValueError, RunFailed)) and first:
        return first
    return f"{type(e).__name__}: {first}" if first else type(e).__name__


def _ints(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, str):
        try:
            return [int(v) for v in value.replace(" ", "").split(",") if v]
        except ValueError:
            raise ValueError("give whole numbers separated by commas, e.g. 4,3") from None
    return value


class ExploreRequest(BaseModel):
    """Explore a domain as a tree of tasks and generate instruction-tuning examples for each task.

    Returns a compact result (run id, counts, file paths, cost), never the examples themselves.
    """

    model_config = ConfigDict(extra="forbid")

    domain: str | None = Field(
        default=None,
        max_length=500,
        description="The domain in one sentence, e.g. 'rewriting legal contracts in plain English'.",
    )
    seed: str | None = Field(
        default=None, description="Instead of a domain: a YAML/JSON seed tree file or an Explore-Instruct directory."
    )
    depth: int | None = Field(default=None, ge=0, le=8, description="Max depth of the task tree (default 2).")
    breadth: list[int] | None = Field(
        default=None, description="New subtasks per task at each depth, e.g. [4, 3] (default [8, 6])."
    )
    examples: list[int] | None = Field(
        default=None, description="Examples per task at each depth; the last value repeats (default [50])."
    )
    model: str | None = Field(
        default=None, description="provider:model for generation, e.g. openai:gpt-4o-mini (default: the operator's)."
    )
    max_calls: int | None = Field(default=None, gt=0, description="Budget: LLM calls (at most the operator cap).")
    max_tokens: int | None = Field(default=None, gt=0, description="Budget: tokens (at most the operator cap).")
    max_cost_usd: float | None = Field(default=None, gt=0, description="Budget: USD (at most the operator cap).")
    output_dir: str | None = Field(
        default=None, description="Run directory, relative to the operator's output root (default: a new name)."
    )

    @field_validator("breadth", "examples", mode="before")
    @classmethod
    def _counts(cls, v: Any) -> Any:
        return _ints(v)

    @field_validator("breadth", "examples")
    @classmethod
    def _non_negative(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and (not v or any(n < 0 for n in v)):
            raise ValueError("give one non-negative count per depth")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> ExploreRequest:
        if bool(self.domain and self.domain.strip()) == bool(self.seed):
            raise ValueError("give exactly one of domain or seed")
        return self

    def context_params(self) -> dict[str, Any]:
        pairs = {
            "max_depth": self.depth,
            "breadth": self.breadth,
            "examples": self.examples,
            "model": self.model,
            "max_calls": self.max_calls,
            "max_tokens": self.max_tokens,
            "max_cost_usd": self.max_cost_usd,
        }
        return {k: v for k, v in pairs.items() if v is not None}


# ---- compact answers ------------------------------------------------------------------------------


def _cost(stats: dict[str, Any]) -> float | None:
    """None when any call's price is unknown: a partial sum would read as a real cost."""
    return None if stats.get("cost_unknown_calls") else round(float(stats.get("cost_usd", 0.0)), 6)


def compact_status(info: dict[str, Any]) -> dict[str, Any]:
    """`run_status` without the raw stats: what a caller needs to decide the next step."""
    stats = info.get("stats", {})
    waiting = info.get("interrupt") or []
    first = waiting[0] if waiting and isinstance(waiting[0], dict) else {}
    state = info.get("status", "")
    if first.get("kind") in PAUSES:
        state = str(first["kind"])
    elif first.get("kind") == "review_subtasks":
        state = "review"
    elif state != "done" and info.get("next"):
        state = "stopped"  # killed or cancelled mid-run: resumable
    out: dict[str, Any] = {
        "run_id": Path(info["run_dir"]).name,
        "run_dir": info["run_dir"],
        "status": state,
        "tasks": info.get("nodes", 0),
        "examples": info.get("examples", 0),
        "calls": stats.get("calls", 0),
        "tokens": stats.get("input_tokens", 0) + stats.get("output_tokens", 0),
        "cost_usd": _cost(stats),
    }
    if first.get("kind") in PAUSES:
        out["stopped_by"] = first.get("reason")
    if first.get("kind") == "review_subtasks":
        out["proposals"] = _proposals(first)
    return out


def _proposals(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"n": i, "name": p.get("name"), "under": p.get("target"), "reason": p.get("reason")}
        for i, p in enumerate(request.get("proposals", []), 1)
    ]


def compact_outcome(outcome: RunOutcome, status: dict[str, Any] | None = None) -> dict[str, Any]:
    """A finished or paused run in a few fields; counts come from the live status when there is no summary."""
    s, st = outcome.summary, outcome.stats
    root = Path(outcome.run_dir)
    out: dict[str, Any] = {
        "run_id": root.name,
        "status": outcome.status,
        "run_dir": str(root),
        "tasks": sum(s.get("nodes_per_depth", {}).values()) if s else (status or {}).get("tasks", 0),
        "examples": s.get("examples") if s else (status or {}).get("examples", 0),
        "calls": st.get("calls", 0),
        "tokens": st.get("input_tokens", 0) + st.get("output_tokens", 0),
        "cost_usd": _cost(st),
    }
    if s:
        out |= {
            "tasks_per_depth": s.get("nodes_per_depth", {}),
            "examples_per_depth": s.get("examples_per_depth", {}),
            "tasks_pruned": s.get("tasks_pruned", 0),
            "shortfall_tasks": len(s.get("shortfall", {})),
        }
    out["paths"] = {"examples": str(root / EXAMPLES), "tree": str(root / TREE_DIR)}
    pause = outcome.interrupt or {}
    if outcome.status in PAUSES:
        out["stopped_by"] = pause.get("reason")
        out["next_step"] = PAUSES[outcome.status]
    elif outcome.status == "review":
        out["proposals"] = _proposals(pause)
        out["next_step"] = "approve or reject the proposals"
    return out


# ---- isolation ----------------------------------------------------------------------------------


async def isolated(make: Callable[[], Awaitable[T]], http: Any = None) -> T:
    """Run in a fresh contextvars context, so a caller's graph config (a ReAct agent's checkpoint namespace,
    callbacks) does not leak into a run that has its own checkpointer; then close the run's HTTP client."""
    try:
        return await asyncio.create_task(_await(make), context=contextvars.Context())
    finally:
        if http is not None:
            await http.aclose()


async def _await(make: Callable[[], Awaitable[T]]) -> T:
    return await make()


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine from sync code; in a worker thread when the caller's thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(make))
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(_await(make))
        except BaseException as e:
            box["error"] = e

    worker = threading.Thread(target=target, name="explore-instruct-sync")
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


# ---- the operations -------------------------------------------------------------------------------


@dataclass
class Runs:
    """Bounded run operations under one output root.

    defaults: operator run parameters (any `Context` field, e.g. base_url, similarity) that callers cannot set.
    chat_model: a model object for the runs (tests, apps embedding a model); never written anywhere.
    """

    limits: Limits = field(default_factory=Limits)
    defaults: dict[str, Any] = field(default_factory=dict)
    chat_model: Any = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.defaults) - set(Context.__dataclass_fields__))
        if unknown:
            raise ValueError(f"run defaults: unknown parameter {unknown[0]!r}")

    # -- start

    def prepare(self, req: ExploreRequest, *, review: bool = False) -> tuple[Context, dict[str, str]]:
        """Validate everything and create the run directory; blocking, so callers run it in a thread."""
        seeded: dict[int, int] | None = None
        inputs: dict[str, str] = {}
        if req.seed:
            seed_path = self.limits.seed(req.seed)
            tree = load_seed(seed_path)
            seeded = {int(d): n for d, n in tree.nodes_per_depth().items()}
            inputs["seed"] = str(Path(seed_path).resolve()) if Path(seed_path).exists() else seed_path
            name = tree.root.name
        else:
            assert req.domain is not None
            inputs["domain"] = req.domain.strip()
            name = inputs["domain"]
        run_dir = self.limits.run_dir(req.output_dir, default_name=f"{slug(name)}-{secrets.token_hex(3)}")
        params = {**self.defaults, **req.context_params(), "review": review, "run_dir": str(run_dir)}
        ctx = self.limits.check(Context(**params), seeded)
        # A bad model string or a missing key fails here, before anything is written.
        ctx.chat_model = self.chat_model if self.chat_model is not None else make_chat_model(ctx.model_spec())
        if (run_dir / RUN_META).exists() or (run_dir / CHECKPOINTS).exists():
            raise RunDirError(f"output_dir: {run_dir.name!r} already holds a run; resume it or pick another name")
        new_run_dir(ctx)
        return ctx, inputs

    async def start(
        self, req: ExploreRequest, *, review: bool = False
    ) -> tuple[RunStore, str, Context, dict[str, str]]:
        """What `runner.start_run` does before driving, plus the caps; file work stays off the event loop."""
        ctx, inputs = await asyncio.to_thread(self.prepare, req, review=review)
        store = RunStore(ctx.run_dir or "")
        thread_id = await begin_run(store, ctx, inputs)
        return store, thread_id, ctx, inputs

    async def explore(
        self, req: ExploreRequest, *, review: bool = False, progress: ProgressFn | None = None
    ) -> dict[str, Any]:
        store, thread_id, ctx, inputs = await self.start(req, review=review)
        ctx.chat_model, http = own_http_client(ctx.chat_model)
        try:
            outcome = await isolated(lambda: drive(store, thread_id, ctx, inputs, progress, None), http)
        except Exception as e:
            raise RunFailed(f"run {store.root.name} stopped: {one_line(e)} (resume it once fixed)") from e
        return await self._compact(outcome)

    # -- resume, review

    def _load(self, run: str, overrides: dict[str, Any]) -> tuple[RunStore, str, Context]:
        """The stored run under the root, its budgets held to the caps (a run started without caps gets them)."""
        run_dir = self.limits.existing_run(run)
        _, _, stored = load_run(str(run_dir))
        for name in ("max_calls", "max_tokens", "max_cost_usd"):
            cap = getattr(self.limits, name)
            if name in overrides:
                if overrides[name] > cap:
                    raise LimitError(f"{name}: {overrides[name]} is above the cap {cap}")
            elif getattr(stored, name) is None or getattr(stored, name) > cap:
                overrides[name] = cap
        store, thread_id, ctx = load_run(str(run_dir), **overrides)
        # A bad model string or a missing key fails here, before the run is touched.
        ctx.chat_model = self.chat_model if self.chat_model is not None else make_chat_model(ctx.model_spec())
        return store, thread_id, ctx

    async def resume(
        self,
        run: str,
        *,
        reject: list[int] | None = None,
        progress: ProgressFn | None = None,
        **budgets: Any,
    ) -> dict[str, Any]:
        """Continue a stopped run; at a review pause, `reject` names proposals by number (none: accept all)."""
        overrides = {k: v for k, v in budgets.items() if v is not None}
        bad = set(overrides) - {"max_calls", "max_tokens", "max_cost_usd"}
        if bad:
            raise LimitError(f"resume: unknown parameter {sorted(bad)[0]!r}")
        store, _, ctx = await asyncio.to_thread(self._load, run, overrides)
        info = await run_status(str(store.root))
        pending = [i for i in info.get("interrupt", []) if isinstance(i, dict)]
        decision: dict[str, Any] | None = None
        if pending and pending[0].get("kind") == "review_subtasks":
            proposals = pending[0].get("proposals", [])
            bad_n = [n for n in reject or [] if not 1 <= n <= len(proposals)]
            if bad_n:
                raise LimitError(f"reject: no proposal {bad_n[0]} (there are {len(proposals)})")
            decision = {"reject": [proposals[n - 1]["name"] for n in sorted(set(reject or []))]}
        elif reject:
            raise LimitError("reject: this run is not waiting for a review")
        ctx.chat_model, http = own_http_client(ctx.chat_model)

        def go() -> Awaitable[RunOutcome]:
            return resume_run(
                str(store.root), progress=progress, chat_model=ctx.chat_model, decision=decision, **overrides
            )

        try:
            outcome = await isolated(go, http)
        except Exception as e:
            raise RunFailed(f"run {store.root.name} stopped: {one_line(e)} (resume it once fixed)") from e
        return await self._compact(outcome)

    async def _compact(self, outcome: RunOutcome) -> dict[str, Any]:
        status = None if outcome.status == "done" else compact_status(await run_status(outcome.run_dir))
        return compact_outcome(outcome, status)

    # -- look

    async def status(self, run: str) -> dict[str, Any]:
        run_dir = await asyncio.to_thread(self.limits.existing_run, run)
        info = compact_status(await run_status(str(run_dir)))
        if info["status"] == "done":  # the finished run's summary; resuming a finished run only reads it
            return compact_outcome(await resume_run(str(run_dir)))
        return info

    def _run_dirs(self, limit: int) -> list[Path]:
        root = self.limits.root
        if not root.is_dir():
            return []
        dirs = [p for p in root.iterdir() if p.is_dir() and (p / RUN_META).is_file()]
        dirs.sort(key=lambda p: (p / RUN_META).stat().st_mtime, reverse=True)
        return dirs[:limit]

    async def list_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest runs under the root with status and counts; unreadable ones say why in one line."""
        rows = []
        for run_dir in await asyncio.to_thread(self._run_dirs, limit):
            try:
                meta = await asyncio.to_thread(RunStore(run_dir).read_meta)
                row = await self.status(str(run_dir))
                source = meta.get("input", {})
                row["domain"] = source.get("domain") or Path(str(source.get("seed", ""))).name
            except Exception as e:  # one broken run must not hide the others
                row = {"run_id": run_dir.name, "run_dir": str(run_dir), "status": "unreadable", "error": one_line(e)}
            rows.append(row)
        return rows

    # -- dataset out (tools/sampling.py, tools/export.py, tools/coverage.py)

    def _export(self, run: str, fmt: str, n: int | None, seed: int) -> dict[str, Any]:
        from explore_instruct.tools.card import card_for
        from explore_instruct.tools.export import check_format, plan_output, write_dataset
        from explore_instruct.tools.sampling import load_tree_source, sample

        run_dir = self.limits.existing_run(run)
        kind = check_format(fmt)
        loaded = load_tree_source(run_dir)
        result = sample(loaded, n, seed=seed)
        if not result.examples:
            raise LimitError(f"export: run {run_dir.name} has no examples yet")
        out = run_dir / EXPORT_DIR / kind  # inside the run, so inside the root; a re-export replaces it
        card = card_for(loaded, result, fmt=kind, files=[plan_output(out, kind).data.name])
        written = write_dataset(kind, result.examples, out, card=card, force=True)
        return {
            "run_id": run_dir.name,
            "format": kind,
            "examples": len(result.examples),
            "requested": n,
            "shortfall": result.shortfall,
            "summary": result.describe(),
            "files": [str(p) for p in written],
        }

    async def export(self, run: str, fmt: str = "jsonl", n: int | None = None, seed: int = 0) -> dict[str, Any]:
        """Sample `n` examples (all when None) with the method's per-task quota and write them in `fmt`."""
        if n is not None and n < 1:
            raise LimitError("export: n must be at least 1")
        return await asyncio.to_thread(self._export, run, fmt, n, seed)

    def _stats(self, run: str, verbs: bool) -> dict[str, Any]:
        from explore_instruct.tools.coverage import CoverageError, analyse

        run_dir = self.limits.existing_run(run)
        try:
            stats = analyse(run_dir, verbs=verbs).stats
        except CoverageError:  # spaCy (verb-noun pairs) is optional: the rest still holds
            stats = analyse(run_dir, verbs=False).stats
        return {"run_id": run_dir.name, **_without_per_node(stats)}

    async def stats(self, run: str, verbs: bool = True) -> dict[str, Any]:
        """Shape, diversity (verb-noun pairs when `verbs` and spaCy is there) and accounting; no per-task tables."""
        return await asyncio.to_thread(self._stats, run, verbs)


def _without_per_node(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_per_node(v) for k, v in value.items() if k != "per_node"}
    return value
