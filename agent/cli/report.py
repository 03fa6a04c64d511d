"""What `run` and `resume` show and ask: live progress bars on stderr, review prompts, then the outcome and its
exit code."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.progress import Progress as Bars

from explore_instruct.agent.cli.console import EXIT_BUDGET, err, out
from explore_instruct.tools.parsing import parse_ints

if TYPE_CHECKING:
    from explore_instruct.agent.runs.driver import RunOutcome


class Progress:
    """Live bars: exploration (tasks proposed) and enrichment (calls done, with ETA)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar = Bars(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=False,
        )
        self.explore = self.bar.add_task("explore", total=None)
        self.enrich = self.bar.add_task("enrich", total=0, visible=False)
        self.tokens = 0
        self.tasks = 0

    def __enter__(self) -> Progress:
        if not self.quiet:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.quiet:
            self.bar.stop()

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "proposed":
            self.tasks += len(event.get("subtasks", []))
            self.bar.update(self.explore, advance=1, description=f"explore: {self.tasks} subtasks proposed")
        elif kind == "enrich_round":
            task = self.bar.tasks[self.enrich]
            self.bar.update(self.enrich, total=(task.total or 0) + event["calls"], visible=True)
            self.bar.update(self.explore, total=self.bar.tasks[self.explore].completed)
        elif kind == "generated":
            self.tokens += int(event.get("tokens", 0))
            self.bar.update(self.enrich, advance=1, description=f"enrich: {self.tokens} tokens")


def report(outcome: RunOutcome, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(outcome.as_dict(), ensure_ascii=False, indent=2, default=str))
        return
    s = outcome.summary
    if s:
        out.print(
            escape(
                f"{s.get('root')}: tasks per depth {s.get('nodes_per_depth')}, examples {s.get('examples')} "
                f"{s.get('examples_per_depth')}, pruned {s.get('tasks_pruned')}"
            ),
            highlight=False,
        )
        if s.get("shortfall"):
            out.print(escape(f"short of the target: {s['shortfall']}"), highlight=False)
    st = outcome.stats
    cost = "unknown" if st.get("cost_unknown_calls") else f"${st.get('cost_usd', 0.0):.4f}"
    out.print(
        escape(
            f"calls {st.get('calls', 0)} ({st.get('calls_ok', 0)} valid), tokens {st.get('input_tokens', 0)} in / "
            f"{st.get('output_tokens', 0)} out, cost {cost}, faults {st.get('faults', {})}, drops {st.get('drops', {})}"
        ),
        highlight=False,
    )
    out.print(escape(f"run directory: {outcome.run_dir}"), highlight=False)
    if outcome.status == "provider":
        err.print(
            escape(f"paused: {(outcome.interrupt or {}).get('reason')}: explore-instruct resume {outcome.run_dir}"),
            highlight=False,
        )
    if outcome.status == "budget":
        err.print(
            escape(
                f"stopped: {(outcome.interrupt or {}).get('reason')}; resume with a larger budget: "
                f"explore-instruct resume {outcome.run_dir} --max-calls N"
            ),
            highlight=False,
        )


def review_prompt(request: dict[str, Any]) -> dict[str, Any]:
    """`run --review`: list the proposals and ask which to reject."""
    proposals = request.get("proposals", [])
    for i, p in enumerate(proposals, 1):
        err.print(escape(f"  {i}. {p['name']} (under {p['target']}): {p['reason']}"), highlight=False)
    answer = typer.prompt("Numbers to reject (comma-separated, empty keeps all)", default="", show_default=False)
    numbers: list[int] = []
    for part in answer.split(","):  # lenient at a prompt: what is not a number is skipped
        try:
            numbers += parse_ints(part)
        except ValueError:
            continue
    return {"reject": [proposals[n - 1]["name"] for n in numbers if 1 <= n <= len(proposals)]}


def exit_for(outcome: RunOutcome) -> None:
    if outcome.status == "budget":
        raise typer.Exit(EXIT_BUDGET)
    if outcome.status != "done":
        raise typer.Exit(1)
