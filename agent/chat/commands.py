"""The chat's command path: `/name free words key=value ...`, parsed deterministically so it works on any model.

Runs started here (`/explore`, `/approve`, `/reject`, `/rename`, `/resume`) go on in the background; `/status`
follows them and `/cancel` stops one (resumably).

Every command is an operation of the catalogue (agent/operations/catalogue.py): `/explore`'s options are the
fields of `ExploreRequest`, the others' (`/resume`, `/export`, `/stats`, ...) the fields of their operation's
argument model, with the short names `out=` and `max_cost=`; so an argument added to an operation is an option
here too, and a misspelt one is an error that names it. What stays here is what a person needs and a tool
caller does not: the last run as the default, review answers by number, proposals shown before a resume.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from explore_instruct.agent.chat.context import ChatContext, ChatState, after_run, progress_writer
from explore_instruct.agent.chat.replies import HELP, describe, describe_export, describe_runs, describe_stats
from explore_instruct.agent.operations.catalogue import CATALOGUE, Call
from explore_instruct.agent.operations.runner import Runner, runner_of
from explore_instruct.agent.request import ALIASES, ExploreRequest, field_for
from explore_instruct.tools.parsing import parse_bool, parse_ints


class CommandError(ValueError):
    """A command that cannot be read; the reply says how to write it."""


_OPTION = re.compile(r"""(?:^|\s)([a-z_]+)=("[^"]*"|'[^']*'|\S+)""")
# Options /explore takes besides the request's fields: whether a person reviews the proposed subtasks.
REVIEW = "review"


def explore_options() -> list[str]:
    """Every `/explore` option: the request's fields and their short names."""
    return sorted({*ExploreRequest.model_fields, *ALIASES})


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


@dataclass(frozen=True)
class Verb:
    """A command that is one operation of the catalogue: free words fill `positional` fields in order, and
    `key=value` options any field (or its short name); the operation's model checks them."""

    op: str
    positional: tuple[str, ...] = ("run",)


VERBS = {
    "status": Verb("status"),
    "cancel": Verb("cancel"),
    "resume": Verb("resume"),
    "runs": Verb("list_runs", ()),
    "list": Verb("list_runs", ()),
    "export": Verb("export", ("run", "format")),
    "stats": Verb("stats"),
}
REVIEW_ANSWERS = {"approve", "reject", "rename"}


def arguments(cmd: SlashCommand, verb: Verb, last: str | None) -> dict[str, Any]:
    """The operation's arguments from a command; the run defaults to the chat's last one."""
    fields = CATALOGUE[verb.op].args.model_fields
    if len(cmd.args) > len(verb.positional):
        extra = " ".join(cmd.args[len(verb.positional) :])
        raise CommandError(f"/{cmd.name}: unexpected words {extra!r}; options are written key=value")
    params: dict[str, Any] = dict(zip(verb.positional, cmd.args, strict=False))
    known = sorted({*fields, *(a for a, f in ALIASES.items() if f in fields)})
    for key, value in cmd.options.items():
        name = field_for(key)
        if name not in fields:
            raise CommandError(f"/{cmd.name}: unknown option {key}= (known: {', '.join(known)})")
        if name in params:
            raise CommandError(f"/{cmd.name}: {name} is given twice")
        params[name] = value
    if "run" in fields and "run" not in params:
        if not last:
            usage = " ".join(f"<{p}>" for p in verb.positional)
            raise CommandError(f"/{cmd.name} {usage}: which run? `/runs` lists them")
        params["run"] = last
    return params


async def _waiting_review(runner: Runner, state: ChatState, named: str | None) -> str | None:
    """The run a review answer goes to: the one named (`run=`, the web UI's buttons), the pending one, else the
    last run if it now waits for a review."""
    pending = None if named else state.get("pending_review")
    last = named or state.get("last_run")
    if pending or not last:
        return pending
    info = await CATALOGUE["status"](runner, {"run": last})
    return str(info["run_id"]) if info.get("status") == "review" else None


def _renames(words: list[str]) -> dict[int, str]:
    """`/rename 2 Better name`: one proposal's number and its new name."""
    if len(words) < 2 or not words[0].isdigit() or int(words[0]) < 1:
        raise CommandError("/rename: give a proposal number and its new name, e.g. /rename 2 Formal emails")
    return {int(words[0]): " ".join(words[1:]).strip("\"'")}


def _reply(op: str, result: Any, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """An operation's answer as the chat's reply and the state update it makes."""
    if op == "list_runs":
        return describe_runs(result), {}
    if op in {"export", "stats"}:
        return (describe_export if op == "export" else describe_stats)(result), {"last_run": params["run"]}
    if op in {"status", "cancel"}:  # looking at a run makes it the last one; only a review pause makes it pending
        update = {"last_run": result["run_id"]}
        if result["status"] == "review":
            update["pending_review"] = result["run_id"]
        return describe(result), update
    return describe(result), after_run(result)


async def run_command(cmd: SlashCommand, state: ChatState, ctx: ChatContext) -> tuple[str, dict[str, Any]]:
    """One command: the reply text and the state update. Runs go on in the background; a reply waits a moment
    (`ChatContext.answer_within_s`) so a review's proposals or a small run's end come back in the same turn."""
    runner = runner_of(ctx.background())
    last = state.get("last_run")
    call = Call(review=ctx.review, progress=progress_writer())
    if cmd.name in {"help", "start", "?"}:
        return HELP, {}
    if cmd.name == "explore":
        req, review = explore_request(cmd)
        result = await CATALOGUE["explore"](runner, req, Call(ctx.review if review is None else review, call.progress))
        return _reply("explore", result, {})
    if cmd.name in REVIEW_ANSWERS:
        pending = await _waiting_review(runner, state, cmd.options.get("run"))
        if not pending:
            return "Nothing is waiting for a review. `/runs` lists runs; `/status <run>` shows one.", {}
        reject = _numbers(cmd.args) if cmd.name == "reject" else []
        rename = _renames(cmd.args) if cmd.name == "rename" else {}
        return _reply(
            "review", await CATALOGUE["review"](runner, {"run": pending, "reject": reject, "rename": rename}, call), {}
        )
    verb = VERBS.get(cmd.name)
    if verb is None:
        raise CommandError(f"/{cmd.name}: unknown command")
    if cmd.name == "status" and not cmd.args and not cmd.options and not last:
        return describe_runs(await CATALOGUE["list_runs"](runner, {"limit": 10})), {}
    op = CATALOGUE[verb.op]
    args = op.parse(arguments(cmd, verb, last))
    if verb.op == "resume":  # a person is here: at a review, show the proposals rather than accept them unseen
        info = await CATALOGUE["status"](runner, {"run": args.run})  # type: ignore[attr-defined]
        if info["status"] == "review":
            return describe(info), {"last_run": info["run_id"], "pending_review": info["run_id"]}
    return _reply(verb.op, await op(runner, args, call), args.model_dump())
