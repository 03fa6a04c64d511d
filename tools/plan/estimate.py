"""A plan before spending: tasks per depth, calls, tokens and a cost range for one run, without calling the model.

The plan follows what the graph does (graphs/routing.py, graphs/enrich.py, graphs/judging.py):
- every task shallower than K gets `breadth[d]` new children in calls of `subtasks_per_call` (lookahead, then
  backtracking), so ceil(breadth / subtasks_per_call) decomposition calls per task (the high end adds
  `lookahead_retries` more: a lookahead that comes back short is tried again);
- enrichment asks ceil(need / examples_per_call) calls per task and round; a round keeps `yield_` of what it
  asked (short replies, filters, near-duplicates) and the next round refills the rest, until under half an
  example is missing;
- with the judge, what each round keeps is judged `judge_batch` at a time (math: one re-solve call per batch
  too), and what it drops is refilled.

Prompt tokens are the real prompt builders filled with text of representative lengths, at ~4 characters a token
(what the text costs; providers add a few tokens per message and, with json_schema, the schema). Completion tokens
are the JSON replies of those lengths. `Measured` (tools/plan/inputs.py, filled by tools/plan/measure.py) replaces
the defaults with what a run showed: its yield, its example and name lengths, and how far its tokens were from the
plan's own estimate.

The range: low = every reply full and kept (one round); high = the expected run plus one more round of refills
per task (each of its calls asking a full `examples_per_call`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from explore_instruct.tools.generation.pool import SAMPLES
from explore_instruct.tools.plan.inputs import Measured, Params
from explore_instruct.tools.plan.tokens import (
    Shape,
    decompose_tokens,
    generate_tokens,
    judge_tokens,
    shape_calls,
    solve_tokens,
)
from explore_instruct.tools.prompts.full import Flavour

KINDS = ("decompose", "enrich", "judge", "solve")  # calls by purpose; the query log says "generate" for enrich
PLAN_FILE = "plan.json"  # a started run's plan, beside its run.json


def tasks_per_depth(p: Params, seeded: dict[int, int] | None = None) -> list[int]:
    """The most tasks per depth, as `agent.limits.level_counts` counts them (a test holds the two equal)."""
    seeded = seeded or {0: 1}
    counts = [seeded.get(0, 1)]
    for d in range(max(p.max_depth, max(seeded))):
        counts.append(counts[-1] * min(p.breadth_at(d), p.max_children) + seeded.get(d + 1, 0))
    return counts


@dataclass
class Level:
    depth: int
    tasks: int
    decompose_calls: int = 0
    enrich_calls: float = 0.0
    judge_calls: float = 0.0
    examples: float = 0.0


@dataclass
class Plan:
    model: str
    profile: str
    levels: list[Level]
    calls: dict[str, float]
    tokens: dict[str, float]  # input, output (expected)
    tokens_low: dict[str, float]
    tokens_high: dict[str, float]
    cost_usd: dict[str, float | None]  # low, expected, high; None: no known price
    price_per_mtok: tuple[float, float] | None
    measured: Measured
    notes: list[str] = field(default_factory=list)

    @property
    def total_calls(self) -> float:
        return sum(self.calls.values())

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["total_calls"] = round(self.total_calls)
        out["calls"] = {k: round(v) for k, v in self.calls.items()}
        for key in ("tokens", "tokens_low", "tokens_high"):
            out[key] = {k: round(v) for k, v in out[key].items()}
        for lv in out["levels"]:
            for k in ("enrich_calls", "judge_calls", "examples"):
                lv[k] = round(lv[k])
        return out


@dataclass
class _Tally:
    calls: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(("decompose", "enrich", "judge", "solve"), 0.0)
    )
    tin: float = 0.0
    tout: float = 0.0

    def add(self, kind: str, calls: float, tokens: tuple[float, float]) -> None:
        self.calls[kind] += calls
        self.tin += calls * tokens[0]
        self.tout += calls * tokens[1]


def _rounds(need: float, goal: float, ctx: Params, y: float, judge_drop: float) -> list[tuple[float, float]]:
    """Per enrich round of one task: (examples asked, examples kept after the judge). Each round asks for all
    `need` still missing, as the graph does; `goal` (need, or less where tasks give up before their quota, as
    measured) ends the rounds."""
    out: list[tuple[float, float]] = []
    kept = 0.0
    while goal - kept >= 0.5 and len(out) < 64:
        asked = need - kept
        gain = min(goal - kept, y * asked * ((1 - judge_drop) if ctx.judge else 1))
        out.append((asked, gain))
        kept += gain
    return out


def make_plan(
    ctx: Params, *, seeded: dict[int, int] | None = None, seed_examples: dict[int, float] | None = None,
    measured: Measured | None = None, levels: list[int] | None = None,
) -> Plan:  # fmt: skip
    """The plan of a run with these parameters. `seeded`: a seed tree's tasks per depth; `seed_examples`: its mean
    examples per task at each depth; `levels`: tasks per depth when known (a finished run's tree)."""
    m = measured or Measured()
    s = Shape(ctx, m)
    counts = levels or tasks_per_depth(ctx, seeded)
    full = ctx.profile == "full"
    y = min(1.0, max(0.01, m.yield_))
    exp, low, high = _Tally(), _Tally(), _Tally()
    out_levels: list[Level] = []
    for depth, tasks in enumerate(counts):
        lv = Level(depth, tasks)
        before = dict(exp.calls)
        breadth = min(ctx.breadth_at(depth), ctx.max_children)
        siblings = max(0, (counts[depth] // max(1, counts[depth - 1]) if depth else 1) - 1)
        own = (seed_examples or {}).get(depth, 0.0)
        # (a grounded run leaves them out: they cite nothing; a shaped one keeps them as demonstrations only)
        if full and depth > 0 and not ctx.grounded and ctx.shape == "single":
            own += ctx.examples_per_subtask * y  # the subtask's examples come with its decomposition
        demos = ctx.demonstrations if (own or depth) else 0
        # decomposition: calls of subtasks_per_call until the task has its breadth; a bare sentence's root on the
        # compact profile draws each of its calls SAMPLES times (tools/generation/pool.py)
        pooled = SAMPLES if depth == 0 and ctx.profile == "compact" and not (seeded or {}).get(1) else 1
        existing = 0
        while existing < breadth:
            k = min(ctx.subtasks_per_call, breadth - existing)
            tok = decompose_tokens(s, depth, existing, k, siblings, demos)
            for tally in (exp, low, high):
                tally.add("decompose", tasks * pooled, tok)
            existing += k
        if breadth:  # the high end: every lookahead comes back short and is tried again (graphs/routing.py)
            for _ in range(ctx.lookahead_retries):
                k = min(ctx.subtasks_per_call, breadth)
                high.add("decompose", tasks * pooled, decompose_tokens(s, depth, 1, k, siblings, demos))
        if ctx.judge and full and depth > 0:  # the decomposition's examples are judged too
            for tally in (exp, low, high):
                _judge(tally, s, ctx, tasks, own)
        need = max(0.0, ctx.examples_at(depth) - own)
        per = ctx.examples_per_call
        rounds = _rounds(need, max(0.0, ctx.examples_at(depth) * m.fill - own), ctx, y, m.judge_drop)
        for i, (asked, gain) in enumerate(rounds):
            calls = math.ceil(asked / per - 1e-9)
            for tally in (exp, high, low) if i == 0 else (exp, high):
                _enrich(tally, s, ctx, depth, tasks, calls, asked, siblings)
                if ctx.judge:
                    _judge(tally, s, ctx, tasks, gain / (1 - m.judge_drop))
        if need >= 0.5:  # high: one more refill round per task, its calls asking for a full examples_per_call
            extra = max(1, math.ceil(need * (1 - y) / per - 1e-9))
            _enrich(high, s, ctx, depth, tasks, extra, extra * per, siblings)
        lv.decompose_calls = round(exp.calls["decompose"] - before["decompose"])
        lv.enrich_calls = exp.calls["enrich"] - before["enrich"]
        lv.judge_calls = exp.calls["judge"] + exp.calls["solve"] - before["judge"] - before["solve"]
        lv.examples = tasks * min(ctx.examples_at(depth), own + sum(g for _, g in rounds))
        out_levels.append(lv)
    from explore_instruct.tools.llm.models import cost_usd, price_for  # langchain-core: only once a plan is made

    price = price_for(ctx.model)
    tokens = {k: v for k, v in (("input", exp.tin * m.input_scale), ("output", exp.tout * m.output_scale))}
    tlow = {"input": low.tin * m.input_scale, "output": low.tout * m.output_scale}
    thigh = {"input": high.tin * m.input_scale * 1.15, "output": high.tout * m.output_scale}
    costs = {
        name: cost_usd(ctx.model, round(t["input"]), round(t["output"]))
        for name, t in (("low", tlow), ("expected", tokens), ("high", thigh))
    }
    notes = [
        f"{round(y * 100)}% of the examples asked for are kept per round ({m.source})",
        *([f"tasks reach {round(m.fill * 100)}% of their quota, then give up ({m.source})"] if m.fill < 1 else []),
        "prompt tokens at ~4 characters a token; high adds 15% for message overhead and response schemas",
    ]
    if ctx.judge:
        notes.append(f"the judge drops {round(m.judge_drop * 100)}% of what it judges ({m.source})")
    if price is None:
        notes.append(f"no price known for {ctx.model}: tokens only")
    return Plan(ctx.model, ctx.profile, out_levels, exp.calls, tokens, tlow, thigh, costs, price, m, notes)


def _enrich(
    tally: _Tally, s: Shape, ctx: Params, depth: int, tasks: float, calls: int, asked: float, siblings: int
) -> None:
    """`calls` enrich calls per task that together ask for `asked` examples."""
    if calls <= 0:
        return
    per_example = shape_calls(ctx.shape, ctx.turns, ctx.profile)
    if per_example is not None:  # a conversation: calls per example, each a part of it
        pt, ct = generate_tokens(s, depth, 1, siblings, ctx.demonstrations)
        tally.add("enrich", tasks * asked * per_example, (pt, ct / per_example))
        return
    per_call = asked / calls
    pt, ct = generate_tokens(s, depth, max(1, round(per_call)), siblings, ctx.demonstrations)
    tally.add("enrich", tasks * calls, (pt, ct * per_call / max(1, round(per_call))))


def _judge(tally: _Tally, s: Shape, ctx: Params, tasks: float, judged: float) -> None:
    """The judge calls over `judged` examples of each task (`judge_batch` a call)."""
    calls = math.ceil(judged / ctx.judge_batch - 1e-9)
    if calls > 0:
        tally.add("judge", tasks * calls, judge_tokens(s, max(1, round(judged / calls))))
        if ctx.flavour == Flavour.MATH and ctx.answer_check:
            tally.add("solve", tasks * calls, solve_tokens(s, max(1, round(judged / calls))))
