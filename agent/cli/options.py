"""Command-line options generated from `ExploreRequest`, so `run` takes exactly the request's fields; and the run
parameters a command's own options set (`operator_params`).

Typer reads a command's options from its signature; `request_options` adds one option per request field to a
command's own (operator-level) options and hands the values that were given to the command as `request`, a
dict for `ExploreRequest.model_validate`. Flags are the field names (`--max-tokens`), or their short names
where the request has one (`--out`, `--max-cost`); list fields are read as text (`--breadth 8,6`) and parsed
by the request like every other face's values. The help states the CLI's own defaults (the definition's, in
tools/params.py), not the caller sizes the request's descriptions state for agents.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from explore_instruct.agent.request import ALIASES, ExploreRequest, run_param, stated

FLAGS = {name: "--" + alias.replace("_", "-") for alias, name in ALIASES.items()}
# The operator-level options whose flag is not the run parameter's own name.
OPERATOR_NAMES = {"concurrency": "max_concurrency", "random_seed": "seed"}


def operator_params(**given: Any) -> dict[str, Any]:
    """The run parameters that a command's own (operator-level) options set, by parameter name (`--concurrency`
    sets max_concurrency). An option left out (None), or an on/off flag left off, sets nothing, so a config file's
    value and the definition's default still apply. `run`, `batch` and `mcp` share it, so each option means the
    same on all three."""
    return {OPERATOR_NAMES.get(k, k): v for k, v in given.items() if v is not None and v is not False}


def flag_for(name: str) -> str:
    return FLAGS.get(name, "--" + name.replace("_", "-"))


def _option_type(annotation: Any) -> Any:
    """A field's type on the command line: its scalar type; a list or a choice is text for the request to parse
    (and to refuse in its own words)."""
    kinds = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    kind = kinds[0]
    while typing.get_origin(kind) is Annotated:
        kind = typing.get_args(kind)[0]
    return str if typing.get_origin(kind) in (list, Literal) else kind


def request_options(
    *,
    fields: Collection[str] | None = None,
    required: Collection[str] = (),
    help: dict[str, str] | None = None,
    paths: Collection[str] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command an option per request field (`fields`: a subset), `required` ones without a default,
    `paths` typed as paths, `help` overriding a field's description where this face reads it differently."""
    names = [n for n in ExploreRequest.model_fields if fields is None or n in fields]
    texts = help or {}

    def option(name: str) -> inspect.Parameter:
        info = ExploreRequest.model_fields[name]
        kind = Path if name in paths else _option_type(info.annotation)
        flag = flag_for(name)
        if kind is bool:  # an on/off flag (--judge / --no-judge), unset unless given
            flag = f"{flag}/--no-{flag.removeprefix('--')}"
        param = run_param(name)
        spec = typer.Option(flag, help=texts.get(name, stated(param) if param else info.description))
        if name in required:
            return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[kind, spec])
        return inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[kind | None, spec]
        )

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        own = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for p in inspect.signature(command, eval_str=True).parameters.values()
            if p.name != "request"
        ]
        clash = {p.name for p in own} & set(names)
        if clash:
            raise TypeError(f"{command.__name__}: options {sorted(clash)} are request fields")

        def with_request(**kwargs: Any) -> Any:
            given = {n: kwargs.pop(n) for n in names}
            request = {n: str(v) if isinstance(v, Path) else v for n, v in given.items() if v is not None}
            return command(request=request, **kwargs)

        # Keyword-only (typer passes every value by name), so the request's options can come first in --help.
        signature = inspect.Signature([*(option(n) for n in names), *own])
        with_request.__signature__ = signature  # type: ignore[attr-defined]
        with_request.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
        with_request.__name__ = command.__name__
        with_request.__qualname__ = command.__qualname__
        with_request.__doc__ = command.__doc__
        with_request.__module__ = command.__module__
        return with_request

    return decorate
