"""The operations on runs, each defined once: name, description, argument model, answer model and what it does.

Every face is generated from `CATALOGUE`: the LangChain tools (agent/tool.py), the MCP tools and their input and
output schemas (agent/mcp/server.py), the chat agent's tools (agent/chat/agent.py) and the chat's slash commands
(agent/chat/commands.py). A face decides only how it is called (names, who reviews, where progress goes); what an
operation takes, does and answers is here. Arguments are strict (`extra="forbid"`: `wiat_s=5` is an error naming
it, never a default call), and every answer is checked against its model before a face sees it, so the models
(results.py) stay a true description of what callers get.

An operation acts through a `Runner` (runner.py): the run lifecycle's public methods (agent/runs/).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import to_jsonable_python

from explore_instruct.agent.errors import one_line
from explore_instruct.agent.operations.results import (
    CurateAnswer,
    ExploreAnswer,
    ExportAnswer,
    RunAnswer,
    RunList,
    StatsAnswer,
)
from explore_instruct.agent.operations.runner import ProgressFn, Runner
from explore_instruct.agent.request import ExploreRequest
from explore_instruct.agent.runs.sizing import CALLER_NOTE
from explore_instruct.tools.dataset import curation
from explore_instruct.tools.dataset.curate import curate
from explore_instruct.tools.dataset.export import Format
from explore_instruct.tools.dataset.runstore import RunStore

MAX_WAIT_S = 600


@dataclass(frozen=True)
class Call:
    """How a face calls: whether runs pause for a person's review, where progress events go, and a note for
    answers of runs that go on (`{run}` is filled in), e.g. that they stop with a stdio client."""

    review: bool = False
    progress: ProgressFn | None = None
    note: str | None = None


# ---- arguments ---------------------------------------------------------------------------------------------


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


RUN = Field(description="A run id (its directory name under the output root).")


class RunRef(Strict):
    run: str = RUN


class StatusArgs(Strict):
    run: str = RUN
    wait_s: float = Field(
        default=0, ge=0, le=MAX_WAIT_S, description=f"Wait up to this many seconds (<= {MAX_WAIT_S}) for it to end."
    )


class ListRunsArgs(Strict):
    limit: int = Field(default=50, ge=1, le=200, description="At most this many.")


class Budgets(Strict):
    max_calls: int | None = Field(default=None, gt=0, description="New budget: LLM calls.")
    max_tokens: int | None = Field(default=None, gt=0, description="New budget: tokens.")
    max_cost_usd: float | None = Field(default=None, gt=0, description="New budget: USD.")


class ResumeArgs(Budgets, RunRef):  # fields in this order: run, the budgets, wait
    wait: bool = Field(default=False, description="Answer when the run ends (default: at once, it goes on).")


class ReviewArgs(Strict):
    run: str = Field(description="The run waiting for a review.")
    reject: list[int] = Field(default_factory=list, description="Numbers of the proposals to drop; [] keeps all.")
    rename: dict[int, str] = Field(default_factory=dict, description="New names by proposal number.")


class ExportArgs(Strict):
    run: str = RUN
    format: Format = Field(default="jsonl", description="File format.")
    n: int | None = Field(default=None, gt=0, description="Examples to sample (default: all).")
    seed: int = Field(default=0, description="Sampling seed.")
    include_reasoning: bool = Field(
        default=False,
        description="alpaca, jsonl, openai: each example's reasoning before its answer in <think> tags (the other "
        "formats always carry it in their own field).",
    )


class StatsArgs(Strict):
    run: str = RUN
    verbs: bool = Field(
        default=True, description="Count verb-noun pairs (the paper's diversity metric; needs spaCy, slower)."
    )


class CurateArgs(Strict):
    run: str = RUN
    action: Literal["accept", "reject", "edit", "rescue", "pin", "unpin"] = Field(
        description="accept, reject or edit examples; rescue a pruned task, pin a task against pruning, or unpin it."
    )
    ids: list[str] = Field(
        default_factory=list, description="Example ids (examples.jsonl's `id`), or task ids for rescue/pin/unpin."
    )
    instruction: str | None = Field(default=None, description="edit: the new instruction.")
    input: str | None = Field(default=None, description="edit: the new input.")
    output: str | None = Field(default=None, description="edit: the new output.")
    match: str | None = Field(default=None, description="Bulk reject: every kept example whose text holds this.")
    below_score: int | None = Field(
        default=None, ge=1, le=5, description="Bulk reject: every kept example the judge scored under this."
    )
    task: str | None = Field(default=None, description="Bulk reject: only this task and the tasks below it.")
    note: str = Field(default="", max_length=curation.MAX_NOTE, description="Why (kept with the decision).")
    who: str = Field(default="agent", max_length=100, description="Who decides (kept with the decision).")


# ---- the operations ------------------------------------------------------------------------------------------


class AnswerDrift(RuntimeError):
    """An answer that its model does not describe: a bug here, said in one line."""


@dataclass(frozen=True)
class Operation:
    name: str
    description: str
    args: type[BaseModel]
    answer: type[BaseModel]
    act: Callable[[Runner, Any, Call], Awaitable[Any]]
    read_only: bool = False
    title: str | None = None
    names_model: bool = False  # a run's answer: it says which model the run uses

    def parse(self, arguments: Mapping[str, Any] | BaseModel) -> BaseModel:
        """The arguments as the operation's model (a ValidationError names what is wrong)."""
        if isinstance(arguments, self.args):
            return arguments
        return self.args.model_validate(dict(arguments) if isinstance(arguments, Mapping) else arguments)

    async def __call__(self, runner: Runner, arguments: Mapping[str, Any] | BaseModel, call: Call = Call()) -> Any:
        result = await self.act(runner, self.parse(arguments), call)
        if self.names_model:
            result = await _with_model(runner, result)
        try:
            self.answer.model_validate(to_jsonable_python(result, fallback=str))
        except ValidationError as e:
            raise AnswerDrift(f"{self.name} answered outside its model: {one_line(e)}") from None
        return result


def _noted(answer: dict[str, Any], call: Call) -> dict[str, Any]:
    if call.note and answer.get("status") == "running":
        return {**answer, "note": call.note.format(run=answer.get("run_id"))}
    return answer


async def _explore(runner: Runner, args: ExploreRequest, call: Call) -> Any:
    return _noted(await runner.explore(args, review=call.review, progress=call.progress), call)


async def _status(runner: Runner, args: StatusArgs, call: Call) -> Any:
    return await runner.status(args.run, wait_s=args.wait_s)


async def _cancel(runner: Runner, args: RunRef, call: Call) -> Any:
    return await runner.cancel(args.run)


async def _list_runs(runner: Runner, args: ListRunsArgs, call: Call) -> Any:
    return await runner.list_runs(args.limit)


async def _resume(runner: Runner, args: ResumeArgs, call: Call) -> Any:
    budgets = args.model_dump(include=set(Budgets.model_fields))
    return _noted(await runner.resume(args.run, wait=args.wait, progress=call.progress, **budgets), call)


async def _review(runner: Runner, args: ReviewArgs, call: Call) -> Any:
    answer = await runner.resume(args.run, reject=args.reject, rename=args.rename or None, progress=call.progress)
    return _noted(answer, call)


async def _export(runner: Runner, args: ExportArgs, call: Call) -> Any:
    return await runner.export(
        args.run, args.format, n=args.n, seed=args.seed, include_reasoning=args.include_reasoning
    )


async def _stats(runner: Runner, args: StatsArgs, call: Call) -> Any:
    return await runner.stats(args.run, verbs=args.verbs)


async def _curate(runner: Runner, args: CurateArgs, call: Call) -> Any:
    run_dir = runner.limits.existing_run(args.run)
    fields = {k: v for k in curation.EDITABLE if (v := getattr(args, k)) is not None}
    result = await asyncio.to_thread(
        curate, run_dir, args.action, args.ids, fields=fields or None, match=args.match,
        below_score=args.below_score, task=args.task, note=args.note, who=args.who,
    )  # fmt: skip
    return {"run_id": run_dir.name, **result, "review": curation.load(run_dir).summary()}


EXPLORE_DESCRIPTION = (
    "Build instruction-tuning data for a domain: explore it as a tree of tasks (depth levels, breadth subtasks "
    "per task) and generate examples for every task. Give `domain` (one sentence), `seed` (a seed file) or "
    "`preset`. Answers give run_id, status, counts, file paths, the model and cost, never the examples (they stay "
    "on disk); status 'budget' means a budget cap stopped the run (it is resumable). `plan=true` only plans it: "
    "tasks, calls and a cost range. " + CALLER_NOTE
)
OPERATIONS = [
    Operation("explore", EXPLORE_DESCRIPTION, ExploreRequest, ExploreAnswer, _explore, title="Explore a domain",
              names_model=True),
    Operation(
        "status",
        "Where a run stands: 'running' with phase, counts, calls, cost and ETA; then its summary (status 'done'), "
        "or what it waits for (a review, a budget). wait_s waits up to that many seconds for it to end.",
        StatusArgs, RunAnswer, _status, read_only=True, names_model=True,
    ),
    Operation("cancel", "Stop a running run at the step it is in; it stays resumable (`resume` continues it).",
              RunRef, RunAnswer, _cancel, names_model=True),
    Operation("list_runs", "The newest runs under the output root with status and counts.", ListRunsArgs, RunList,
              _list_runs, read_only=True, names_model=True),
    Operation(
        "resume",
        "Continue a run stopped by a budget, a fault, a cancel or a restart, optionally with a larger budget; in "
        "the background like explore.",
        ResumeArgs, RunAnswer, _resume, names_model=True,
    ),
    Operation("review", "Answer a run's review pause: reject proposals by number (or rename them), keep the rest.",
              ReviewArgs, RunAnswer, _review, names_model=True),
    Operation(
        "export",
        "Sample a run's examples (the method's per-task quota) and write them as a training file; answers the "
        "file paths.",
        ExportArgs, ExportAnswer, _export,
    ),
    Operation("stats", "Shape (tasks and examples per depth), diversity (ROUGE-L, verb-noun pairs) and cost of a run.",
              StatsArgs, StatsAnswer, _stats, read_only=True),
    Operation(
        "curate",
        "Review a run's data: reject, accept or edit examples by id, reject in bulk by a filter (match, "
        "below_score, task), rescue a pruned task or pin one. Each decision is appended to the run's "
        "curation.jsonl (who, when, a note); export, stats and sample honour it. Repeating a decision changes "
        "nothing.",
        CurateArgs, CurateAnswer, _curate,
    ),
]  # fmt: skip
CATALOGUE: dict[str, Operation] = {op.name: op for op in OPERATIONS}


# ---- the model a run uses ------------------------------------------------------------------------------------


def model_of(runner: Runner, run_dir: str) -> str | None:
    """The model a run talks to: the application's model object when the runner was given one, else the
    `provider:model` its run.json records (blocking: a file read)."""
    given = getattr(runner, "chat_model", None)
    if given is not None:
        return f"{type(given).__name__} (a model object given by the application)"
    try:
        model = RunStore(Path(run_dir)).read_meta().get("context", {}).get("model")
    except (OSError, ValueError):
        return None
    return str(model) if model else None


async def _with_model(runner: Runner, result: Any) -> Any:
    """A run's answer (or each row of a listing) with the model it uses, when the answer does not say already."""
    if isinstance(result, list):
        return [await _with_model(runner, row) for row in result]
    if not isinstance(result, dict) or "model" in result or not result.get("run_dir"):
        return result
    if result.get("status") == "unreadable":
        return result
    return {**result, "model": await asyncio.to_thread(model_of, runner, str(result["run_dir"]))}
