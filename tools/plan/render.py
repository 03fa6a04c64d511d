"""The plan as the terminal shows it (`run --dry-run`, `batch --dry-run`): presentation apart from the arithmetic
in tools/plan/estimate.py, which the JSON faces (`Plan.as_dict`) read without this text."""

from __future__ import annotations

from explore_instruct.tools.plan.estimate import Plan
from explore_instruct.tools.plan.inputs import Params


def render(plan: Plan, ctx: Params, title: str) -> str:
    """The plan as the terminal shows it."""
    rows = [
        f"plan for {title}: {plan.model}, {plan.profile} prompts, {ctx.strategy}, depth {ctx.max_depth}, "
        f"breadth {','.join(map(str, ctx.breadth))}, examples {','.join(map(str, ctx.examples))} "
        f"({ctx.examples_per_call} per call){', judge' if ctx.judge else ''}",
        f"{'depth':>5} {'tasks':>6} {'decompose':>10} {'enrich':>8} {'judge':>7} {'examples':>9}",
    ]
    for lv in plan.levels:
        rows.append(
            f"{lv.depth:>5} {lv.tasks:>6} {lv.decompose_calls:>10} {round(lv.enrich_calls):>8} "
            f"{round(lv.judge_calls):>7} {round(lv.examples):>9}"
        )
    c = plan.calls
    rows.append(
        f"{'all':>5} {sum(lv.tasks for lv in plan.levels):>6} {round(c['decompose']):>10} {round(c['enrich']):>8} "
        f"{round(c['judge'] + c['solve']):>7} {round(sum(lv.examples for lv in plan.levels)):>9}"
    )
    t, lo, hi = plan.tokens, plan.tokens_low, plan.tokens_high
    rows.append(f"calls: ~{round(plan.total_calls)}")
    rows.append(
        f"tokens: ~{round(t['input']):,} prompt + ~{round(t['output']):,} completion "
        f"(range {round(lo['input'] + lo['output']):,} .. {round(hi['input'] + hi['output']):,})"
    )
    cost = plan.cost_usd
    if plan.price_per_mtok is None or cost["expected"] is None:
        rows.append(f"cost: unknown (no price for {plan.model})")
    else:
        pin, pout = plan.price_per_mtok
        rows.append(
            f"cost: ${cost['low']:.4f} .. ${cost['high']:.4f} (expected ${cost['expected']:.4f}) "
            f"at ${pin}/${pout} per 1M prompt/completion tokens"
        )
    rows += [f"assumes: {n}" for n in plan.notes]
    return "\n".join(rows)
