"""Parameters from the environment, read by pydantic-settings, and one-line refusals for pydantic dataclasses.

`with_env(prefix)` makes a pydantic dataclass read each field it is not given from `<prefix><NAME>` (text read
as the field's type: lists of counts as `4,3`, tuples of names as `a,b`, flags as `on`/`off`) and answer a bad
value with one line naming the field (or the variable) and the bound. The run parameters (tools/params.py), the
operator caps (agent/runs/limits.py) and the chat's settings use it; a class stays a dataclass, so LangGraph can
take it as a context schema and `dataclasses.replace` works.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import types
import typing
from collections.abc import Callable, Collection, Mapping
from enum import Enum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BeforeValidator, Field, ValidationError, create_model

from explore_instruct.tools.parsing import parse_ints

__all__ = ["ParamError", "env_values", "one_line", "with_env"]
T = TypeVar("T")


class ParamError(ValueError):
    """A parameter (or its environment variable) that cannot work; one line naming it and what it must be."""


def _env_type(hint: Any) -> Any:
    """How a field's text in the environment is read: lists by the one count parser or by commas; choices as text,
    so the field's own check names what is allowed."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    base = args[0] if typing.get_origin(hint) in (typing.Union, types.UnionType) else hint
    origin = typing.get_origin(base)
    from pydantic_settings import NoDecode

    if origin is list:
        return Annotated[list[int] | None, NoDecode, BeforeValidator(parse_ints)]
    if origin is tuple:
        split = BeforeValidator(
            lambda v: tuple(p.strip() for p in v.split(",") if p.strip()) if isinstance(v, str) else v
        )
        return Annotated[tuple[str, ...] | None, NoDecode, split]
    if origin is Literal or (isinstance(base, type) and issubclass(base, Enum)):
        return str | None
    return base | None


@functools.cache
def _env_model(cls: type, prefix: str, names: tuple[str, ...], exact: tuple[tuple[str, str], ...]) -> Any:
    """A settings model of `names` alone, reading the process environment only (no .env file, no secrets dir)."""
    from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

    class Env(BaseSettings):
        model_config = SettingsConfigDict(env_prefix=prefix, env_ignore_empty=True, extra="ignore")

        @classmethod
        def settings_customise_sources(
            cls, settings_cls: type[BaseSettings], *sources: PydanticBaseSettingsSource, **named: Any
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (named["env_settings"],)

    hints = typing.get_type_hints(cls)
    aliases = dict(exact)
    fields: dict[str, Any] = {
        n: (_env_type(hints[n]), Field(default=None, validation_alias=aliases.get(n))) for n in names
    }
    return create_model(f"{cls.__name__}Env", __base__=Env, **fields)


@functools.cache
def settable(cls: type) -> tuple[str, ...]:
    """Fields the environment may set: every one but live objects (typed Any)."""
    hints = typing.get_type_hints(cls)
    return tuple(f.name for f in dataclasses.fields(cls) if hints[f.name] is not Any)


def env_values(
    cls: type,
    prefix: str,
    *,
    names: Collection[str] | None = None,
    exact: Mapping[str, str] | None = None,
    error: type[ValueError] = ParamError,
) -> dict[str, Any]:
    """The fields of dataclass `cls` (or `names` of them) set in the environment as `<prefix><NAME>` (or the
    variable `exact` names), read as their types by pydantic-settings. Unreadable text is `error`, naming the
    variable. Only the variables that are set are read (a settings model per set of them, made once), so a
    context costs microseconds when nothing is set."""
    exact = exact or {}
    present = {k.upper() for k, v in os.environ.items() if v.strip()}
    chosen = tuple(
        n
        for n in settable(cls)
        if (names is None or n in names) and (exact.get(n) or prefix + n.upper()).upper() in present
    )
    if not chosen:
        return {}
    model = _env_model(cls, prefix, chosen, tuple(sorted((k, v) for k, v in exact.items() if k in chosen)))
    try:
        got = model()
    except ValidationError as e:
        field = str(e.errors()[0]["loc"][0])
        var = exact.get(field) or prefix + field.upper()
        raw = next((v for k, v in os.environ.items() if k.upper() == var.upper()), "")
        raise error(f"{var}: cannot read {raw!r}") from None
    return {n: getattr(got, n) for n in got.model_fields_set}


def one_line(e: ValidationError) -> str:
    """`name: what is wrong` for the first error; a rule over two parameters names them itself."""
    err = e.errors()[0]
    msg = str(err.get("msg", "invalid")).replace("Value error, ", "")
    where = ".".join(str(p) for p in err.get("loc", ()))
    if err.get("type") == "unexpected_keyword_argument":
        return f"unknown parameter {where!r}"
    return f"{where}: {msg}" if where else msg


def with_env(
    prefix: str, *, error: type[ValueError] = ParamError, exact: Mapping[str, str] | None = None
) -> Callable[[type[T]], type[T]]:
    """For a pydantic dataclass: `Cls(**given)` fills each field not given from the environment, then validates;
    a bad value is `error`, one line naming the field (or the variable) and the bound.

    A field given in code wins over the environment; so does every field of `dataclasses.replace`.
    """

    def decorate(cls: type[T]) -> type[T]:
        validate = cls.__init__

        @functools.wraps(validate)
        def __init__(self: Any, **given: Any) -> None:
            env = {k: v for k, v in env_values(cls, prefix, exact=exact, error=error).items() if k not in given}
            try:
                validate(self, **env, **given)
            except ValidationError as e:
                raise error(one_line(e)) from None

        cls.__init__ = __init__  # type: ignore[method-assign]
        return cls

    return decorate
