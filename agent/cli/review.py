"""`review`: a reviewer's decisions on a run's examples and tasks, from the terminal (tools/dataset/curation.py).

The same operation the web workbench and the agent tools call, so an expert with a shell, or an agent, curates
the same log. Without an action it shows what the reviewers have decided so far.
"""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from explore_instruct.agent.cli.console import guard, say
from explore_instruct.tools.params import env_name

REVIEWER_ENV = env_name("reviewer")


def _ids(what: str) -> Any:
    return typer.Option(metavar="ID", show_default=False, help=what)


def _who(given: str | None) -> str:
    if given:
        return given
    try:
        return os.environ.get(REVIEWER_ENV) or getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return ""


def review_cmd(
    run: Annotated[Path, typer.Argument(help="A run directory.")],
    reject: Annotated[list[str] | None, _ids("Reject this example (repeat for more).")] = None,
    accept: Annotated[list[str] | None, _ids("Accept this example, undoing a reject.")] = None,
    edit: Annotated[str | None, typer.Option(metavar="ID", help="Edit this example's fields.")] = None,
    instruction: Annotated[str | None, typer.Option(help="With --edit: the new instruction.")] = None,
    input_: Annotated[str | None, typer.Option("--input", help="With --edit: the new input.")] = None,
    output: Annotated[str | None, typer.Option(help="With --edit: the new output.")] = None,
    rescue: Annotated[list[str] | None, _ids("Bring this pruned task back.")] = None,
    pin: Annotated[list[str] | None, _ids("Protect this task from pruning.")] = None,
    unpin: Annotated[list[str] | None, _ids("Undo a pin.")] = None,
    reject_matching: Annotated[
        str | None, typer.Option(help="Reject every kept example whose text holds this (any case).")
    ] = None,
    reject_below: Annotated[
        int | None, typer.Option(min=1, max=5, help="Reject every kept example the judge scored under this.")
    ] = None,
    task: Annotated[
        str | None, typer.Option(help="With a --reject-* filter: only this task and those below it.")
    ] = None,
    note: Annotated[str, typer.Option(help="Why (kept with the decision).")] = "",
    who: Annotated[str | None, typer.Option(help=f"Reviewer (default: ${REVIEWER_ENV} or the user name).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Reject, accept or edit examples, rescue or pin tasks; every decision is appended to curation.jsonl."""

    def work() -> dict[str, Any]:
        from explore_instruct.tools.dataset.curate import curate

        fields = {
            k: v for k, v in (("instruction", instruction), ("input", input_), ("output", output)) if v is not None
        }
        if fields and not edit:
            raise ValueError("--instruction, --input and --output go with --edit ID")
        filtered = reject_matching is not None or reject_below is not None
        chosen = [
            (name, ids)
            for name, ids in (
                ("reject", reject or ([] if filtered else None)),
                ("accept", accept),
                ("edit", [edit] if edit else None),
                ("rescue", rescue),
                ("pin", pin),
                ("unpin", unpin),
            )
            if ids is not None
        ]
        if len(chosen) > 1:
            raise ValueError(
                "give one kind of decision at a time: --reject, --accept, --edit, --rescue, --pin or --unpin"
            )
        if not chosen:
            if task is not None:
                raise ValueError("--task narrows a --reject-matching or --reject-below filter")
            return {"run": str(run), "view": _summary(run)}
        action, ids = chosen[0]
        result = curate(
            run, action, ids, fields=fields or None, match=reject_matching, below_score=reject_below, task=task,
            note=note, who=_who(who),
        )  # fmt: skip
        return {"run": str(run), **result}

    result = guard(work)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    if "view" in result:
        view = result["view"]
        say(", ".join(f"{k} {v}" for k, v in view["summary"].items()))
        for conflict in view["conflicts"]:
            say(f"conflict: {conflict}")
        return
    matched = f" (of {result['matched']} matched)" if "matched" in result else ""
    say(f"{result['action']}: {len(result['recorded'])} recorded{matched}, {len(result['unchanged'])} unchanged")


def _summary(run: Path) -> dict[str, Any]:
    from explore_instruct.tools.dataset import curation
    from explore_instruct.tools.dataset.sampling import is_run_dir

    if not is_run_dir(run):
        raise ValueError(f"{run}: not a run directory")
    state = curation.load(run)
    return {"summary": state.summary(), "conflicts": state.conflicts}


def register(app: typer.Typer) -> None:
    app.command("review")(review_cmd)
