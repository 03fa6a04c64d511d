"""The chat's command path: `/name free words key=value ...`, parsed deterministically so it works on any model.

Runs started here (`/explore`, `/approve`, `/reject`, `/rename`, `/resume`) go on in the background; `/status`
follows them and `/cancel` stops one (resumably).

`/explore`'s options are the fields of `ExploreRequest` (and their short names, `out=` and `max_cost=`), so an
option added to the request is an option here too; a misspelt one is an error that names it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from explore_instruct.agent.chat.context import ChatContext, ChatState, after_run, progress_writer
from explore_instruct.agent.chat.replies import HELP, describe, describe_export, describe_runs, describe_stats
from explore_instruct.agent.request import ALIASES, BUDGETS, ExploreRequest, field_for
from explore_instruct.tools.parsing import parse_bool, parse_ints


class CommandError(ValueError):
    """A command that cannot be read; the reply says how to write it."""


_OPTION = re.compile(r"""(?:^|\s)([a-z_]+)=("[^"]*"|'[^']*'|\S+)""")
# Options /explore takes besides the request's fields: whether a person reviews the proposed subtasks.
REVIEW = "review"


def explore_options() -> list[str]:
    """Every `/explore` option: the request's fields and their short names."""
    return sorted({*ExploreRequest.model_fields, *ALIASES})


def budget_options() -> list[str]:
    """`/resume` options: the request's budgets and their short names."""
    return [name for name in sorted({*BUDGETS, *ALIASES}) if field_for(name) in BUDGETS]


@dataclass
class SlashCommand:
    name: str
    args: list[str]
    options: dict[str, str]


def parse_command(text: str) -> SlashCommand | None:
    """`/name free words key=value ...`; values may be quoted. None when the text is not a command."""
    text = text.strip()
    if not text.startswith("/"):
        return None
    head, _, rest = text[1:].partition(" ")
    options = {k: v[1:-1] if v[:1] in "\"'" and v[-1:] == v[:1] else v for k, v in _OPTION.findall(rest)}
    words = _OPTION.sub(" ", rest).split()
    return SlashCommand(head.lower(), words, options)


def explore_request(cmd: SlashCommand) -> tuple[ExploreRequest, bool | None]:
    """The request of an `/explore` command (free words are the domain) and its review option, if given."""
    known = explore_options()
    unknown = sorted(set(cmd.options) - set(known) - {REVIEW})
    if unknown:
        raise CommandError(f"/explore: unknown option {unknown[0]}= (known: {', '.join([*known, REVIEW])})")
    params: dict[str, Any] = {field_for(k): v for k, v in cmd.options.items() if k != REVIEW}
    domain = " ".join(cmd.args).strip().strip("\"'")
    if domain:
        if "domain" in params:
            raise CommandError("/explore: give the domain as words or as domain=, not both")
        params["domain"] = domain
    review = None
    if REVIEW in cmd.options:
        try:
            review = parse_bool(cmd.options[REVIEW])
        except ValueError:
            raise CommandError(f"review={cmd.options[REVIEW]}: use on or off") from None
    return ExploreRequest(**params), review


def _numbers(words: list[str]) -> list[int]:
    try:
        numbers = parse_ints(" ".join(words))
    except ValueError:
        numbers = None
    if not isinstance(numbers, list) or any(n < 1 for n in numbers):
        raise CommandError(f"/reject {' '.join(words)}: give proposal numbers, e.g. /reject 1,3")
    return numbers


def _budgets(cmd: SlashCommand) -> dict[str, Any]:
    known = budget_options()
    out: dict[str, Any] = {}
    for key, value in cmd.options.items():
        if key not in known:
            raise CommandError(f"/resume: unknown option {key}= (known: {', '.join(known)})")
        name = field_for(key)
        try:
            out[name] = float(value) if name == "max_cost_usd" else int(value)
        except ValueError:
            raise CommandError(f"/resume: {key}={value} is not a number") from None
    return out


def suggest(text: str) -> str | None:
    """A command for a plain request like "build me instruction data for legal contract rewriting, depth 2"."""
    opts = []
    for key in ("depth", "breadth", "examples"):
        m = re.search(rf"\b{key}\s*(?:=|:|of)?\s*(\d+(?:\s*,\s*\d+)*)", text, re.I)
        if m:
            opts.append(f"{key}={m.group(1).replace(' ', '')}")
            text = text[: m.start()] + text[m.end() :]
    m = re.search(r"\b(?:for|about|on)\s+(.+)$", text, re.I)
    if not m:
        return None
    # Drop what removing the options left behind: trailing punctuation and joining words ("..., with").
    domain = re.sub(r"(?:[\s,.;:!?]+|\b(?:with|and|at|of|using|to)\b)+$", "", m.group(1)).strip()
    return f"/explore {domain} {' '.join(opts)}".strip() if domain else None


async def _waiting_review(runs: Any, state: ChatState, named: str | None) -> str | None:
    """The run a review answer goes to: the one named (`run=`, the web UI's buttons), the pending one, else the
    last run if it now waits for a review."""
    pending = None if named else state.get("pending_review")
    last = named or state.get("last_run")
    if pending or not last:
        return pending
    info = await runs.status(last)
    return str(info["run_id"]) if info.get("status") == "review" else None


def _renames(words: list[str]) -> dict[int, str]:
    """`/rename 2 Better name`: one proposal's number and its new name."""
    if len(words) < 2 or not words[0].isdigit() or int(words[0]) < 1:
        raise CommandError("/rename: give a proposal number and its new name, e.g. /rename 2 Formal emails")
    return {int(words[0]): " ".join(words[1:]).strip("\"'")}


async def run_command(cmd: SlashCommand, state: ChatState, ctx: ChatContext) -> tuple[str, dict[str, Any]]:
    """One command: the reply text and the state update. Runs go on in the background; a reply waits a moment
    (`ChatContext.answer_within_s`) so a review's proposals or a small run's end come back in the same turn."""
    runs = ctx.background()
    last = state.get("last_run")
    if cmd.name in {"help", "start", "?"}:
        return HELP, {}
    if cmd.name == "explore":
        req, review = explore_request(cmd)
        result = await runs.explore(req, review=ctx.review if review is None else review, progress=progress_writer())
        return describe(result), after_run(result)
    if cmd.name in {"approve", "reject", "rename"}:
        pending = await _waiting_review(runs, state, cmd.options.get("run"))
        if not pending:
            return "Nothing is waiting for a review. `/runs` lists runs; `/status <run>` shows one.", {}
        reject = _numbers(cmd.args) if cmd.name == "reject" else []
        if cmd.name == "reject" and not reject:
            raise CommandError("/reject: give proposal numbers, e.g. /reject 1,3")
        rename = _renames(cmd.args) if cmd.name == "rename" else None
        result = await runs.resume(pending, reject=reject, rename=rename, progress=progress_writer())
        return describe(result), after_run(result)
    if cmd.name == "resume":
        run = cmd.args[0] if cmd.args else last
        if not run:
            raise CommandError("/resume: which run? `/runs` lists them")
        budgets = _budgets(cmd)
        info = await runs.status(run)
        if info["status"] == "review":  # a person is here: show the proposals rather than accept them unseen
            return describe(info), {"last_run": info["run_id"], "pending_review": info["run_id"]}
        result = await runs.resume(run, progress=progress_writer(), **budgets)
        return describe(result), after_run(result)
    if cmd.name in {"status", "cancel"}:
        run = cmd.args[0] if cmd.args else last
        if not run:
            if cmd.name == "cancel":
                raise CommandError("/cancel: which run? `/runs` lists them")
            return describe_runs(await runs.runs.list_runs(limit=10)), {}
        info = await (runs.status(run) if cmd.name == "status" else runs.cancel(run))
        update = {"last_run": info["run_id"]}
        if info["status"] == "review":
            update["pending_review"] = info["run_id"]
        return describe(info), update
    if cmd.name in {"runs", "list"}:
        return describe_runs(await runs.runs.list_runs()), {}
    if cmd.name == "export":
        run = cmd.args[0] if cmd.args else last
        if not run:
            raise CommandError("/export <run> <format>: which run? `/runs` lists them")
        fmt = cmd.args[1] if len(cmd.args) > 1 else cmd.options.get("format", "jsonl")
        n = int(cmd.options["n"]) if cmd.options.get("n", "").isdigit() else None
        seed = int(cmd.options["seed"]) if cmd.options.get("seed", "").isdigit() else 0
        return describe_export(await runs.runs.export(run, fmt, n=n, seed=seed)), {"last_run": run}
    if cmd.name == "stats":
        run = cmd.args[0] if cmd.args else last
        if not run:
            raise CommandError("/stats <run>: which run? `/runs` lists them")
        return describe_stats(await runs.runs.stats(run)), {"last_run": run}
    raise CommandError(f"/{cmd.name}: unknown command")
