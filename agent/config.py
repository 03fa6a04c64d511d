"""Run parameters from a YAML file (`run --config`, `mcp --config`): a mapping of run parameter names
(`RunParams` in tools/params.py, the one definition).

Unknown keys are rejected, in one line naming the first of them, so a typo (`max_depht`) cannot silently
start a run with the default; every value is then checked by `Context` itself before anything runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from explore_instruct.graphs.context import Context


def context_fields() -> set[str]:
    """The run parameters a file may set: the definition's, never the live objects `Context` adds."""
    from explore_instruct.tools.params import RunParams

    return set(RunParams.__dataclass_fields__)


def load_config(path: Path | None, *, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """The parameters in `path` (none when `path` is None); `exclude` names fields this face does not take."""
    if path is None:
        return {}
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ValueError(f"{path}: cannot read config ({str(e).splitlines()[0] if str(e) else e})") from None
    except RecursionError:
        raise ValueError(f"{path}: cannot read config (nesting is too deep)") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: config must be a mapping of parameter names to values")
    check_names(loaded, where=str(path), exclude=exclude)
    return loaded


def check_names(params: dict[Any, Any], *, where: str, exclude: Iterable[str] = ()) -> None:
    """Keys may be anything YAML can write (numbers, null): they are sorted by repr, never compared."""
    allowed = context_fields() - set(exclude)
    unknown = sorted(set(params) - allowed, key=repr)
    if unknown:
        raise ValueError(f"{where}: unknown parameter {unknown[0]!r}")


def build_context(params: dict[str, Any], *, where: str = "config") -> Context:
    """`Context(**params)`; a bad value is already a one-line `ParamError`, a TypeError (a doubled argument) is
    made one."""
    from explore_instruct.graphs.context import Context

    try:
        return Context(**params)
    except TypeError as e:
        raise ValueError(f"{where}: {e}") from None
