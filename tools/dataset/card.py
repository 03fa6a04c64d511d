"""The dataset card (README.md beside the data): what was sampled from what, by which model, at what cost.

Everything in it comes from files the run already wrote (run.json, query_log.jsonl, dropped.jsonl) and the
tree. Secrets cannot reach it: run.json holds the *name* of the key variable, never a value, and as a second
guard every parameter that looks like a credential is left out and the values of credential-like environment
variables are masked wherever they would appear.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from explore_instruct.tools.dataset.export_chat import shape_lines
from explore_instruct.tools.dataset.provenance import corpus_card_section
from explore_instruct.tools.dataset.runstore import DROPPED, JUDGE_PURPOSES, QUERY_LOG, RUN_META
from explore_instruct.tools.dataset.sampling import LoadedTree, SampleResult
from explore_instruct.tools.fileio import read_jsonl
from explore_instruct.tools.prompts.judge import judge_caveat

_SECRET_KEY = re.compile(r"(^|_)(api_?key|secret|password|passwd|token|auth|credentials?)$", re.IGNORECASE)
_SECRET_ENV = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)


def run_accounting(run_dir: Path) -> dict[str, Any]:
    """Calls, tokens and cost from query_log.jsonl (the judge's apart); dropped candidates by stage and rule."""

    rows = read_jsonl(run_dir / QUERY_LOG)
    judged = [c for c in rows if c.get("purpose") in JUDGE_PURPOSES]
    drops = Counter(f"{d.get('stage', '?')}:{d.get('rule', '?')}" for d in read_jsonl(run_dir / DROPPED))
    out = _call_totals([c for c in rows if c.get("purpose") not in JUDGE_PURPOSES])
    out |= {"drops": dict(sorted(drops.items())), "dropped": sum(drops.values())}
    if judged:  # the judge's calls are counted apart: it may be another, dearer model
        out["judge"] = _call_totals(judged)
    return out


def _call_totals(calls: list[dict[str, Any]]) -> dict[str, Any]:
    from explore_instruct.tools.llm.models import cost_usd

    cost = 0.0
    unknown = 0
    for c in calls:
        price = cost_usd(str(c.get("model", "")), int(c.get("input_tokens") or 0), int(c.get("output_tokens") or 0))
        if price is None:
            unknown += 1
        else:
            cost += price
    return {
        "calls": len(calls),
        "calls_ok": sum(1 for c in calls if c.get("ok")),
        "input_tokens": sum(int(c.get("input_tokens") or 0) for c in calls),
        "output_tokens": sum(int(c.get("output_tokens") or 0) for c in calls),
        "cost_usd": None if unknown else round(cost, 6),
        "cost_unknown_calls": unknown,
        "models": sorted({str(c["model"]) for c in calls if c.get("model")}),
    }


def read_run_meta(run_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((run_dir / RUN_META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _no_userinfo(value: Any) -> Any:
    if isinstance(value, str) and "://" in value and "@" in value:
        parts = urlsplit(value)
        return urlunsplit(parts._replace(netloc=parts.hostname or ""))
    return value


def public_params(context: dict[str, Any]) -> dict[str, Any]:
    """Run parameters fit to publish: no credential-like keys, no user:password in URLs, no local paths."""
    skip = {"run_dir", "runs_root", "chat_model"}
    params = {k: _no_userinfo(v) for k, v in context.items() if k not in skip and not _SECRET_KEY.search(k)}
    if isinstance(params.get("docs"), str):  # the corpus by its folder's name, not where it lies on this machine
        params["docs"] = Path(params["docs"]).name or params["docs"]
    return params


def mask_secrets(text: str) -> str:
    """Replace the value of every credential-like environment variable that appears in `text`."""
    for name, value in os.environ.items():
        if _SECRET_ENV.search(name) and len(value) >= 8 and value in text:
            text = text.replace(value, "***")
    return text


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "n>1M"


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_card(
    loaded: LoadedTree,
    result: SampleResult,
    *,
    fmt: str,
    files: list[str],
    accounting: dict[str, Any] | None = None,
    run_meta: dict[str, Any] | None = None,
    planned: tuple[list[tuple[str, float, float]], str] | None = None,
    include_reasoning: bool = False,
) -> str:
    tree = loaded.tree
    domain = tree.root.name
    per_depth_tree = tree.examples_per_depth()
    nodes_per_depth = tree.nodes_per_depth()
    per_depth_out = Counter(s.depth for s in result.examples)
    every = list(tree.preorder(include_pruned=True))
    pruned = [n for n in every if n.status == "pruned"]
    kept = sum(per_depth_tree.values())
    lines = [
        "---",
        f"pretty_name: {json.dumps(domain + ' (Explore-Instruct)', ensure_ascii=False)}",
        "task_categories:",
        "- text-generation",
        "tags:",
        "- explore-instruct",
        "- synthetic",
        "- instruction-tuning",
        "size_categories:",
        f"- {_size_category(len(result.examples))}",
        "---",
        "",
        f"# {_md(domain)}: domain instruction-tuning data",
        "",
        "Made with explore-instruct, a reproduction of Explore-Instruct (Wan et al., EMNLP 2023): the domain is",
        "explored as a tree of tasks and each task is enriched with instruction/response examples.",
        "",
        "## Data",
        "",
        f"- format: `{fmt}`; files: {', '.join(f'`{f}`' for f in files)}",
        *shape_lines(result.examples, fmt, include_reasoning=include_reasoning),
        *seed_shape_lines(run_meta),
        "- every example carries `id`, `node_id`, `depth` and `task_path` (task names from the root to its task)"
        + (" (not in `openai`, whose rows hold messages and tools only)" if fmt == "openai" else ""),
        f"- source: {'a run' if loaded.run_dir else 'an Explore-Instruct tree directory'} "
        f"(`{_md(loaded.source.name)}`)",
        "",
        "## Sampling",
        "",
        f"- {result.describe()}",
    ]
    if result.requested is None:
        lines.append("- every kept example of the tasks that are not pruned (nor under a pruned task)")
    else:
        lines += [
            "- quota per task: `min(int(N * w / sum(w)) + 1, n)` with `w = min(n, weight_cap)`, tasks at depth "
            "<= max_depth in level order, truncated to N; a shortfall is topped up from tasks with spare examples; "
            "pruned tasks and their subtrees are left out",
            f"- N: {result.requested}; seed: {result.seed}; weight_cap: {result.weight_cap}",
        ]
    lines.append(f"- max_depth: {result.max_depth if result.max_depth is not None else 'any'}")
    lines += [
        "",
        "## Counts per depth",
        "",
        "| depth | tasks | examples in the tree | examples here |",
        "| --- | --- | --- | --- |",
    ]
    for depth in sorted(set(nodes_per_depth) | set(per_depth_out)):
        lines.append(
            f"| {depth} | {nodes_per_depth.get(depth, 0)} | {per_depth_tree.get(depth, 0)} "
            f"| {per_depth_out.get(depth, 0)} |"
        )
    lines += ["", "## Kept and dropped", "", f"- examples kept in the tree: {kept}"]
    reasons = Counter(n.status_reason or "unspecified" for n in pruned)
    lines.append(
        f"- tasks pruned: {len(pruned)}"
        + (f" ({'; '.join(f'{_md(r)}: {c}' for r, c in reasons.items())})" if pruned else "")
    )
    if accounting is not None:
        lines.append(f"- candidates dropped: {accounting['dropped']}")
        if accounting["drops"]:
            lines += ["", "| stage:rule | dropped |", "| --- | --- |"]
            lines += [f"| {_md(k)} | {v} |" for k, v in accounting["drops"].items()]
    lines += ["", "## Generation", ""]
    context = (run_meta or {}).get("context", {})
    if accounting is not None:
        model = context.get("model") or ", ".join(accounting["models"]) or "unknown"
        cost = accounting["cost_usd"]
        cost_text = (
            f"${cost:.4f}" if cost is not None else f"unknown ({accounting['cost_unknown_calls']} unpriced calls)"
        )
        lines += [
            f"- model: `{_md(model)}`",
            f"- LLM calls: {accounting['calls']} ({accounting['calls_ok']} valid)",
            f"- tokens: {accounting['input_tokens']} in, {accounting['output_tokens']} out",
            f"- cost: {cost_text}",
        ]
        judge = accounting.get("judge")
        if judge:
            judge_cost = "unknown" if judge["cost_usd"] is None else f"${judge['cost_usd']:.4f}"
            lines += [
                f"- judge: `{_md(', '.join(judge['models']))}`: {judge['calls']} calls, tokens {judge['input_tokens']} "
                f"in, {judge['output_tokens']} out, cost {judge_cost} (not in the figures above)"
            ]
    else:
        lines.append("- not recorded (this tree did not come from a run of ours)")
    lines += quality_section(result)
    lines += curation_section(loaded.curation)
    if isinstance(context, dict):  # a grounded run: its corpus and the coverage of these examples
        cited = ((s.example.model_extra or {}).get("sources") for s in result.examples)
        lines += corpus_card_section(context, cited, loaded.run_dir)
    if planned is not None:
        rows, source = planned
        lines += ["", f"Planned ({_md(source)}) and actual:", "", "| | planned | actual | actual / planned |"]
        lines.append("| --- | --- | --- | --- |")
        lines += [f"| {what} | {round(p)} | {round(a)} | {a / p:.2f} |" if p else f"| {what} | 0 | {round(a)} | - |"
                  for what, p, a in rows]  # fmt: skip
    params = public_params(context) if isinstance(context, dict) else {}
    if params:
        lines += ["", "| parameter | value |", "| --- | --- |"]
        lines += [f"| {_md(k)} | {_md(json.dumps(v, ensure_ascii=False))} |" for k, v in params.items()]
    lines.append("")
    return mask_secrets("\n".join(lines))


def seed_shape_lines(run_meta: dict[str, Any] | None) -> list[str]:
    """What a shaped run did with its seed's examples: only those already of its shape are data (graphs/lifecycle.py),
    so a reader of a multi-turn set does not look for a preset's single pairs in it."""
    meta = run_meta or {}
    context, given = meta.get("context"), meta.get("input")
    shape = context.get("shape", "single") if isinstance(context, dict) else "single"
    if shape == "single" or not (isinstance(given, dict) and given.get("seed")):
        return []
    return [
        f"- seed examples: only those already of the `{_md(shape)}` shape are data here; the seed's others (a "
        "preset's single pairs) only showed the model each task, as demonstrations, and counted toward no quota"
    ]


def quality_section(result: SampleResult) -> list[str]:
    """The judge's score histogram over the examples here, and which judge gave them (nothing if none did)."""
    verdicts = [(s.example.model_extra or {}).get("quality") for s in result.examples]
    scores: Counter[int] = Counter(
        v["score"] for v in verdicts if isinstance(v, dict) and isinstance(v.get("score"), int)
    )
    if not scores:
        return []
    judges = sorted({str(v["judge_model"]) for v in verdicts if isinstance(v, dict) and v.get("judge_model")})
    unjudged = len(verdicts) - sum(scores.values())
    lines = ["", "## Quality", "", f"- judge: {', '.join(f'`{_md(j)}`' for j in judges) or 'unknown'}; every example"
             " carries its verdict in `quality` (score 1-5, reason, math answer check)"]  # fmt: skip
    if unjudged:
        lines.append(f"- not judged (seed examples, or no usable verdict): {unjudged}")
    caveats = {judge_caveat(j) for j in judges} - {None}
    lines += [f"- caveat: {_md(str(c))}" for c in sorted(caveats, key=str)]
    lines += ["", "| score | examples |", "| --- | --- |"]
    lines += [f"| {score} | {scores[score]} |" for score in sorted(scores, reverse=True)]
    return lines


def curation_section(summary: dict[str, int] | None) -> list[str]:
    """What reviewers decided (curation.jsonl), applied to every example counted above; nothing if nobody did."""
    if not summary or not summary.get("decisions"):
        return []
    return [
        "",
        "## Curation",
        "",
        f"- {summary['decisions']} reviewer decisions in `curation.jsonl`, applied to this dataset: "
        f"{summary['rejected']} examples rejected, {summary['edited']} edited, {summary['accepted']} accepted; "
        f"{summary['rescued']} tasks rescued, {summary['pinned']} pinned",
    ] + ([f"- conflicts for a second look: {summary['conflicts']}"] if summary.get("conflicts") else [])


def card_for(
    loaded: LoadedTree, result: SampleResult, *, fmt: str, files: list[str], include_reasoning: bool = False
) -> str:
    """The card for a tree or a run (a run adds model, parameters, tokens, cost, drops and its plan)."""
    from explore_instruct.tools.plan.measure import planned_vs_actual

    if loaded.run_dir is None:
        return render_card(loaded, result, fmt=fmt, files=files, include_reasoning=include_reasoning)
    return render_card(
        loaded,
        result,
        fmt=fmt,
        files=files,
        include_reasoning=include_reasoning,
        accounting=run_accounting(loaded.run_dir),
        run_meta=read_run_meta(loaded.run_dir),
        planned=planned_vs_actual(loaded.run_dir),
    )
