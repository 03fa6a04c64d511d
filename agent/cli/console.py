"""What every CLI command shares: the two consoles, the exit codes and `guard`, which turns failures into one line.

Exit codes: 0 ok, 2 bad input, 3 stopped by a budget, 1 anything else. Errors are one line unless `--debug` is
given, because the people reading them need the cause, not a stack.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from explore_instruct.agent.errors import is_bad_input, one_line

out = Console()
err = Console(stderr=True)

EXIT_BAD_INPUT = 2
EXIT_BUDGET = 3
T = TypeVar("T")


class Debug:
    """`--debug` (the app's callback sets it): let tracebacks through instead of one-line errors."""

    on = False


def say(text: str, *, stderr: bool = False) -> None:
    """Plain text (never read as markup or emoji codes: an example id `node:x:3` stays as it is), wrapped by the
    terminal rather than by rich."""
    (err if stderr else out).print(escape(text), highlight=False, soft_wrap=True, emoji=False)


def guard(fn: Callable[[], T]) -> T:
    """Run a command's work; known failures exit 2 and anything else exits 1, each with one line."""
    try:
        return fn()
    except (KeyboardInterrupt, typer.Exit):
        raise
    except Exception as e:
        if Debug.on:
            raise
        err.print(f"[red]error:[/red] {escape(one_line(e))}", markup=True, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT if is_bad_input(e) else 1) from None
