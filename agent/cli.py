"""The `explore-instruct` command line: one Typer app, its commands grouped by job in `cli_*` modules.

- `cli_run`: run, resume, status (one run directory)
- `cli_tree`: tree, try (a seed; a model tried once)
- `cli_similarity`: filter, prune, drops (similarity on trees and runs that exist)
- `cli_dataset`: sample, export (dataset out)
- `cli_diversity`: stats, compare (coverage and diversity on a fixed-size sample)
- `cli_ablate`: ablate (the paper's K=0 vs K comparison)
- `cli_judge`: judge (an LLM judge over any run, tree or dataset)
- `cli_faces`: runs, mcp (the faces that act for others)
- `cli_batch`: batch (many runs, on Ray or in this process)

Exit codes: 0 ok, 2 bad input, 3 stopped by a budget, 1 anything else (`cli_console`). Only Typer, rich and
pydantic load at start-up: LangGraph, LangChain, the model clients and Chroma are imported by the commands
that use them, so `--help`, `tree`, `filter` and the dataset commands start fast.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from explore_instruct.agent import (
    cli_ablate,
    cli_batch,
    cli_dataset,
    cli_diversity,
    cli_faces,
    cli_judge,
    cli_run,
    cli_similarity,
    cli_tree,
)
from explore_instruct.agent.cli_console import EXIT_BAD_INPUT, EXIT_BUDGET, Debug, err

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


COMMANDS = (cli_tree, cli_run, cli_similarity, cli_dataset, cli_diversity, cli_ablate, cli_judge, cli_faces, cli_batch)
for _module in COMMANDS:
    _module.register(app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
