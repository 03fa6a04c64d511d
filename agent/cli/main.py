"""The `explore-instruct` command line: one Typer app, its commands grouped by job in the modules beside this one.

- `run`: run, resume, status (one run directory)
- `tree`: tree, try (a seed; a model tried once)
- `similarity`: filter, prune, drops (similarity on trees and runs that exist)
- `dataset`: sample, export (dataset out)
- `review`: review (a reviewer's decisions on a run's examples and tasks)
- `diversity`: stats, compare (coverage and diversity on a fixed-size sample)
- `ablate`: ablate (the paper's K=0 vs K comparison)
- `judge`: judge (an LLM judge over any run, tree or dataset)
- `faces`: runs, mcp (the faces that act for others)
- `batch`: batch (many runs, on Ray or in this process)
- `ingest`: ingest (documents into a corpus for grounded runs)

Exit codes: 0 ok, 2 bad input, 3 stopped by a budget, 1 anything else (`console`). Only Typer, rich and
pydantic load at start-up: LangGraph, LangChain, the model clients and Chroma are imported by the commands
that use them, so `--help`, `tree`, `filter` and the dataset commands start fast.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from explore_instruct.agent.cli import (
    ablate,
    batch,
    dataset,
    diversity,
    faces,
    ingest,
    judge,
    review,
    run,
    similarity,
    tree,
)
from explore_instruct.agent.cli.console import EXIT_BAD_INPUT, EXIT_BUDGET, Debug, err

__all__ = ["EXIT_BAD_INPUT", "EXIT_BUDGET", "app", "main"]

app = typer.Typer(
    name="explore-instruct",
    help="Explore a domain as a tree of tasks and generate instruction-tuning data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False) -> None:
    Debug.on = debug


COMMANDS = (tree, run, similarity, dataset, review, diversity, ablate, judge, faces, batch, ingest)
for _module in COMMANDS:
    _module.register(app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
