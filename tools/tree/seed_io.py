"""What every seed reader shares: the one-line `SeedError`, size and depth limits, and careful file reading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

META_FILENAME = "tree_meta_info.json"
MAX_SEED_BYTES = 64 * 1024 * 1024
MAX_NODE_FILE_BYTES = 512 * 1024 * 1024
MAX_DOMAIN_CHARS = 500
MAX_NODES = 100_000
MAX_DEPTH = 32
M = TypeVar("M", bound=BaseModel)


class SeedError(ValueError):
    """Bad seed input; the message is a single line fit for a CLI or a tool error."""


def first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    return f"{loc}: {err['msg']}"


def read_text(path: Path, limit: int) -> str:
    try:
        size = path.stat().st_size
    except OSError as e:
        raise SeedError(f"{path}: cannot read ({e.strerror})") from None
    if size > limit:
        raise SeedError(f"{path}: file is {size} bytes, over the {limit}-byte limit")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SeedError(f"{path}: not valid UTF-8 (byte {e.start})") from None
    except OSError as e:
        raise SeedError(f"{path}: cannot read ({e.strerror})") from None
    if not text.strip():
        raise SeedError(f"{path}: file is empty")
    return text


def check_acyclic(obj: Any, path: Path) -> None:
    """YAML anchors can build self-referencing structures; refuse them before pydantic recurses."""
    seen: set[int] = set()
    stack: list[tuple[Any, int]] = [(obj, 0)]
    count = 0
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH * 4:
            raise SeedError(f"{path}: nesting is deeper than {MAX_DEPTH} levels (or the tree has a cycle)")
        if isinstance(item, dict | list):
            if id(item) in seen:
                raise SeedError(f"{path}: the tree references itself (YAML alias cycle or shared node)")
            seen.add(id(item))
            count += 1
            if count > MAX_NODES * 4:
                raise SeedError(f"{path}: more than {MAX_NODES} tasks")
            values = item.values() if isinstance(item, dict) else item
            stack.extend((v, depth + 1) for v in values)


def parse(path: Path, text: str, *, yaml_ok: bool = False) -> Any:
    """JSON (or YAML when `yaml_ok` and the file is not .json) from a seed file; a failure is one line."""
    import yaml

    try:
        return yaml.safe_load(text) if yaml_ok and path.suffix.lower() != ".json" else json.loads(text)
    except json.JSONDecodeError as e:
        raise SeedError(f"{path}: cannot parse: {e.msg} at line {e.lineno}") from None
    except yaml.YAMLError as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise SeedError(f"{path}: cannot parse: {first}") from None
    except RecursionError:
        raise SeedError(f"{path}: cannot parse: nesting is too deep") from None


def read_model(path: Path, model: type[M], top: str, *, yaml_ok: bool = False) -> M:
    """A seed file's top-level object as `model`: read within the size limit, parsed, refused when not a mapping
    (`top` says what it must be) or when it references itself, then validated; every failure one line."""
    data = parse(path, read_text(path, MAX_SEED_BYTES), yaml_ok=yaml_ok)
    if not isinstance(data, dict):
        raise SeedError(f"{path}: top level must be {top}, got {type(data).__name__}")
    check_acyclic(data, path)
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise SeedError(f"{path}: {first_error(e)}") from None
