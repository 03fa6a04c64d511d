"""What each operation answers, as pydantic models: the fields the run layer really returns, described once.

The MCP tools' output schemas are generated from these models, so a client sees every field; the LangChain tools
and the chat get the same dicts. The models describe the dicts of `agent/runs/answers.py` (`compact_status`,
`compact_outcome`), `agent/runs/background.py` (a running run's answer and progress), `agent/runs/plan.py`
(`plan_answer`), `agent/runs/service.py` (`list_runs`) and `agent/runs/data.py` (`export`, `stats`). Where an
answer varies (a run that is running, paused, done or failed), every field it can carry is listed and optional,
and extra keys stay allowed, so a field the run layer adds later reaches callers before it is described here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel


class Open(BaseModel):
    """An answer whose listed fields are described and whose other keys pass through."""

    model_config = ConfigDict(extra="allow")


class Proposal(Open):
    n: int = Field(description="The proposal's number, for `reject` / `rename`.")
    name: str | None = Field(default=None, description="The proposed subtask.")
    under: str | None = Field(default=None, description="The task it would split.")
    reason: str | None = Field(default=None, description="Why the model proposed it.")


class Planned(Open):
    tasks: int = Field(description="The most tasks the request allows.")
    examples: int = Field(description="The examples it aims for.")
    calls: int = Field(description="About how many LLM calls it takes (without refills).")


class Round(Open):
    calls: int = Field(description="Calls in the current enrichment or judging round.")
    done: int = Field(description="Calls of the round done so far.")


class Live(Open):
    calls: int = Field(description="LLM calls made so far, earlier drives included.")
    subtasks_proposed: int = Field(description="Subtasks proposed so far in this drive.")
    subtasks_pruned: int = Field(description="Proposals pruned so far in this drive.")
    examples_kept: int = Field(description="Examples kept so far.")
    round: Round | None = Field(default=None, description="The current round, if one is going on.")


class Paths(Open):
    examples: str = Field(description="examples.jsonl: every kept example.")
    tree: str = Field(description="The task tree in the Explore-Instruct layout.")


RUN_STATUSES = "running, done, review, budget, provider, stopped, cancelled, failed"


class RunAnswer(Open):
    """A run's state: what `explore`, `resume`, `status`, `cancel` and `review` answer."""

    run_id: str = Field(description="The run's id: its directory name under the output root.")
    status: str = Field(description=f"One of {RUN_STATUSES} (a run that never started says so).")
    run_dir: str | None = Field(default=None, description="The run directory on the server.")
    model: str | None = Field(default=None, description="The generation model the run uses.")
    phase: str | None = Field(
        default=None, description="starting, exploring, enriching, judging, done, or the pause or end it is in."
    )
    tasks: int | None = Field(default=None, description="Tasks in the tree so far.")
    examples: int | None = Field(default=None, description="Examples kept so far.")
    calls: int | None = Field(default=None, description="LLM calls made.")
    tokens: int | None = Field(default=None, description="Input and output tokens.")
    cost_usd: float | None = Field(default=None, description="Cost in USD; null when a call's price is unknown.")
    tasks_per_depth: dict[str, int] | None = Field(default=None, description="Done: tasks at each depth.")
    examples_per_depth: dict[str, int] | None = Field(default=None, description="Done: examples at each depth.")
    tasks_pruned: int | None = Field(default=None, description="Done: proposals pruned by the similarity check.")
    shortfall_tasks: int | None = Field(default=None, description="Done: tasks that got fewer examples than asked.")
    paths: Paths | None = Field(default=None, description="Done or paused: the run's files.")
    planned: Planned | None = Field(default=None, description="Running: the planned size.")
    live: Live | None = Field(default=None, description="Running: live counts from the run's events.")
    elapsed_s: float | None = Field(default=None, description="Running: seconds since this drive began.")
    eta_s: float | None = Field(default=None, description="Running: seconds left at the pace so far.")
    stopped_by: str | None = Field(default=None, description="budget or provider: what stopped it.")
    proposals: list[Proposal] | None = Field(default=None, description="review: the proposed subtasks.")
    error: str | None = Field(default=None, description="failed: the cause, in one line.")
    next_step: str | None = Field(default=None, description="What to call next.")
    note: str | None = Field(default=None, description="What the caller should know about where the run lives.")


class PlanAnswer(Open):
    """`explore` with `plan=true`: the size and cost of the request; nothing ran."""

    status: Literal["planned"] = Field(description="Always 'planned'.")
    model: str | None = Field(default=None, description="The generation model the plan prices.")
    tasks: list[int] = Field(description="The most tasks at each depth.")
    calls: dict[str, int] = Field(description="LLM calls by purpose.")
    total_calls: int = Field(description="All LLM calls.")
    tokens: dict[str, int] = Field(description="Expected input and output tokens.")
    cost_usd: dict[str, float | None] = Field(description="low, expected and high cost; null: no known price.")
    assumes: list[str] = Field(default_factory=list, description="What the estimate assumes.")


class ExploreAnswer(RootModel[RunAnswer | PlanAnswer]):
    """A started run's state, or its plan (`plan=true`)."""


class RunRow(RunAnswer):
    """A run in a listing; an unreadable one has `status: unreadable` and `error`."""

    domain: str | None = Field(default=None, description="The run's domain, or its seed file's name.")


class RunList(RootModel[list[RunRow]]):
    """The newest runs under the output root, newest first."""


class ExportAnswer(Open):
    run_id: str = Field(description="The run.")
    format: str = Field(description="The file format written.")
    examples: int = Field(description="Examples written.")
    requested: int | None = Field(default=None, description="Examples asked for (null: all).")
    shortfall: int = Field(description="Asked for but not available.")
    summary: str = Field(description="What was drawn from which tasks, in one line.")
    files: list[str] = Field(description="The files written, as paths on the server.")
    resources: list[str] | None = Field(
        default=None, description="MCP: the same files as resource URIs, for `resources/read`."
    )


class VerbNoun(Open):
    instructions: int
    with_verb: int
    with_pair: int
    unique_pairs: int
    unique_verbs: int
    top_pairs: list[dict[str, Any]]
    top_pair: str | None = None
    top_pair_share: float | None = None


class Accounting(Open):
    calls: int = Field(description="Generation calls (the judge's apart).")
    calls_ok: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = Field(default=None, description="null when a call's price is unknown.")
    cost_unknown_calls: int | None = None
    drops: dict[str, int] | None = Field(default=None, description="Dropped candidates by stage:rule.")
    dropped: int | None = None
    judge: dict[str, Any] | None = Field(default=None, description="The judge's calls, counted apart.")


class StatsAnswer(Open):
    """Shape, diversity and accounting of a run's dataset (no per-task tables)."""

    run_id: str = Field(description="The run.")
    source: str | None = Field(default=None, description="What was analysed.")
    kind: str | None = Field(default=None, description="run, tree or file.")
    domain: str | None = Field(default=None, description="The root task.")
    examples: int = Field(description="Examples in tasks that are not pruned.")
    tasks: int | None = Field(default=None, description="Tasks that are not pruned.")
    pruned: int | None = Field(default=None, description="Pruned proposals.")
    nodes_per_depth: dict[str, int] | None = Field(default=None, description="Tasks at each depth.")
    examples_per_depth: dict[str, int] | None = Field(default=None, description="Examples at each depth.")
    examples_per_node: dict[str, float] | None = Field(default=None, description="min, mean, max per task.")
    rouge_l_within_nodes: dict[str, float | int | None] | None = Field(
        default=None, description="Mean ROUGE-L between a task's instructions (lower: more diverse) and tasks counted."
    )
    rouge_l_overall: float | None = Field(default=None, description="Mean ROUGE-L over the whole dataset.")
    verb_noun: VerbNoun | None = Field(default=None, description="Verb-noun pairs (the paper's diversity metric).")
    run: Accounting | None = Field(default=None, description="Calls, tokens, cost and drops.")


class CurateAnswer(Open):
    """What a review decision recorded."""

    run_id: str = Field(description="The run.")
    action: str = Field(description="The decision.")
    recorded: list[str] = Field(description="Ids the decision was written for.")
    unchanged: list[str] = Field(description="Ids already so (nothing written for them).")
    matched: int | None = Field(default=None, description="Bulk reject: examples the filter selected.")
    review: dict[str, int] = Field(
        description="The run's review so far: decisions, rejected, accepted, edited, rescued, pinned, conflicts."
    )
