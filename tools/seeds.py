"""Seed inputs (a sentence, a YAML/JSON seed tree, an Explore-Instruct directory) and the EI writer.

Every failure is a `SeedError` whose message is one line naming the file and the field, because
these inputs come from people and other agents who need to fix them, not read a traceback.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from explore_instruct.tools.fileio import write_text_atomic
from explore_instruct.tools.tree import DomainTree, Example, NodeStatus, Origin, TaskNode, slugify

META_FILENAME = "tree_meta_info.json"
MAX_SEED_BYTES = 64 * 1024 * 1024
MAX_NODE_FILE_BYTES = 512 * 1024 * 1024
MAX_DOMAIN_CHARS = 500
MAX_NODES = 100_000
MAX_DEPTH = 32


class SeedError(ValueError):
    """Bad seed input; the message is a single line fit for a CLI or a tool error."""


# ---- seed tree file schema (YAML / JSON) ------------------------------------------------------


class SeedExample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(min_length=1)
    input: str = ""
    output: str = ""


class SeedNode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_DOMAIN_CHARS)
    reason: str = ""
    examples: list[SeedExample] = Field(default_factory=list)
    children: list[SeedNode] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _one_line(cls, v: str) -> str:
        v = v.strip()
        if not v or "\n" in v:
            raise ValueError("must be a non-empty single line")
        return v


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    return f"{loc}: {err['msg']}"


def _read_text(path: Path, limit: int) -> str:
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


def _check_acyclic(obj: Any, path: Path) -> None:
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


def load_seed_file(path: Path) -> DomainTree:
    text = _read_text(path, MAX_SEED_BYTES)
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise SeedError(f"{path}: cannot parse: {first}") from None
    except RecursionError:
        raise SeedError(f"{path}: cannot parse: nesting is too deep") from None
    if not isinstance(data, dict):
        raise SeedError(f"{path}: top level must be a mapping with 'name' (the domain), got {type(data).__name__}")
    _check_acyclic(data, path)
    try:
        root = SeedNode.model_validate(data)
    except ValidationError as e:
        raise SeedError(f"{path}: {_first_error(e)}") from None

    tree = DomainTree.from_domain(root.name, root.reason, [Example(**e.model_dump()) for e in root.examples])
    seen_names = {root.name.casefold(): "(root)"}

    def add(parent: TaskNode, kids: list[SeedNode], where: str) -> None:
        for i, kid in enumerate(kids):
            loc = f"{where}.children.{i}"
            key = kid.name.casefold()
            if key in seen_names:
                raise SeedError(f"{path}: {loc}.name: duplicate task name {kid.name!r} (also at {seen_names[key]})")
            seen_names[key] = loc
            if parent.depth + 1 > MAX_DEPTH:
                raise SeedError(f"{path}: {loc}: deeper than {MAX_DEPTH} levels")
            node = tree.add_child(
                parent.id,
                kid.name,
                reason=kid.reason,
                examples=[Example(**e.model_dump()) for e in kid.examples],
                origin=Origin.SEED,
            )
            add(node, kid.children, loc)

    add(tree.root, root.children, "root")
    return tree


# ---- Explore-Instruct tree directory ----------------------------------------------------------


class _EIMeta(BaseModel):
    model_config = ConfigDict(extra="allow")

    task_name: str = Field(min_length=1)
    raw_task_name: str | None = None
    reason: str | None = None
    config_filename: str | None = None
    children: list[_EIMeta] = Field(default_factory=list)


def _safe_node_file(directory: Path, filename: str, where: str) -> Path:
    candidate = Path(filename)
    if candidate.is_absolute() or len(candidate.parts) != 1 or filename in {".", ".."}:
        raise SeedError(f"{directory / META_FILENAME}: {where}.config_filename: {filename!r} must be a plain file name")
    return directory / filename


def load_ei_dir(directory: Path) -> DomainTree:
    meta_path = directory / META_FILENAME
    if not meta_path.is_file():
        raise SeedError(f"{directory}: not an Explore-Instruct tree directory (no {META_FILENAME})")
    text = _read_text(meta_path, MAX_SEED_BYTES)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise SeedError(f"{meta_path}: cannot parse: {e.msg} at line {e.lineno}") from None
    except RecursionError:
        raise SeedError(f"{meta_path}: cannot parse: nesting is too deep") from None
    if not isinstance(data, dict):
        raise SeedError(f"{meta_path}: top level must be the root task object, got {type(data).__name__}")
    _check_acyclic(data, meta_path)
    try:
        meta = _EIMeta.model_validate(data)
    except ValidationError as e:
        raise SeedError(f"{meta_path}: {_first_error(e)}") from None

    nodes: dict[str, TaskNode] = {}

    def build(m: _EIMeta, parent: TaskNode | None, where: str) -> TaskNode:
        if m.task_name in nodes:
            raise SeedError(f"{meta_path}: {where}.task_name: duplicate task_name {m.task_name!r}")
        if len(nodes) >= MAX_NODES:
            raise SeedError(f"{meta_path}: more than {MAX_NODES} tasks")
        depth = 0 if parent is None else parent.depth + 1
        if depth > MAX_DEPTH:
            raise SeedError(f"{meta_path}: {where}: deeper than {MAX_DEPTH} levels")
        filename = m.config_filename or f"{m.task_name}.json"
        node_file = _safe_node_file(directory, filename, where)
        examples: list[Example] = []
        extra: dict[str, Any] = {"config_filename": m.config_filename} if m.config_filename else {}
        meta_extra = {k: v for k, v in (m.model_extra or {}).items() if k != "parent"}
        # `status`/`status_reason` are what tree_meta writes for non-accepted nodes; read them back.
        status, status_reason = NodeStatus.ACCEPTED, None
        if meta_extra.get("status") in {NodeStatus.PROPOSED.value, NodeStatus.PRUNED.value}:
            status = NodeStatus(meta_extra.pop("status"))
            if isinstance(meta_extra.get("status_reason"), str):
                status_reason = meta_extra.pop("status_reason")
        if meta_extra:
            extra["meta_extra"] = meta_extra
        reason = m.reason or ""
        raw_name = m.raw_task_name
        if node_file.is_file():
            ntext = _read_text(node_file, MAX_NODE_FILE_BYTES)
            try:
                ndata = json.loads(ntext)
            except json.JSONDecodeError as e:
                raise SeedError(f"{node_file}: cannot parse: {e.msg} at line {e.lineno}") from None
            except RecursionError:
                raise SeedError(f"{node_file}: cannot parse: nesting is too deep") from None
            if not isinstance(ndata, dict):
                raise SeedError(f"{node_file}: top level must be an object, got {type(ndata).__name__}")
            raw_examples = ndata.get("examples", [])
            if not isinstance(raw_examples, list):
                raise SeedError(f"{node_file}: examples: must be a list")
            for i, ex in enumerate(raw_examples):
                if not isinstance(ex, dict):
                    raise SeedError(f"{node_file}: examples.{i}: must be an object")
                try:
                    examples.append(Example.model_validate(ex))
                except ValidationError as e:
                    raise SeedError(f"{node_file}: examples.{i}.{_first_error(e)}") from None
            if ndata.get("task_name", m.task_name) != m.task_name:
                raise SeedError(
                    f"{node_file}: task_name: {ndata.get('task_name')!r} differs from "
                    f"{m.task_name!r} in {META_FILENAME}"
                )
            for key in ("reason", "raw_task_name"):
                if key in ndata and not isinstance(ndata[key], str):
                    raise SeedError(f"{node_file}: {key}: must be a string")
            reason = ndata.get("reason", reason) or ""
            raw_name = ndata.get("raw_task_name", raw_name)
            known = {"task_name", "raw_task_name", "reason", "examples", "config_filename"}
            node_extra = {k: v for k, v in ndata.items() if k not in known}
            if node_extra:
                extra["file_extra"] = node_extra
        elif m.config_filename:
            raise SeedError(f"{meta_path}: {where}.config_filename: {node_file.name} does not exist")
        node = TaskNode(
            id=m.task_name,
            name=raw_name or m.task_name,
            reason=reason,
            examples=examples,
            depth=depth,
            parent=parent.id if parent else None,
            origin=Origin.SEED,
            status=status,
            status_reason=status_reason,
            extra=extra,
        )
        nodes[node.id] = node
        for i, child in enumerate(m.children):
            kid = build(child, node, f"{where}.children.{i}")
            node.children.append(kid.id)
        return node

    root = build(meta, None, "root")
    return DomainTree(root_id=root.id, nodes=nodes)


def _atomic_write_json(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2))


def node_filename(node: TaskNode) -> str:
    name = node.extra.get("config_filename")
    if isinstance(name, str) and re.fullmatch(r"[^/\\\x00]{1,255}", name) and name not in {".", "..", META_FILENAME}:
        return name
    safe = re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", node.id) and node.id != META_FILENAME[:-5]
    return f"{node.id if safe else slugify(node.id)}.json"


def node_record(node: TaskNode) -> dict[str, Any]:
    """One `<task_name>.json` in the reference's layout (plus any keys it came in with)."""
    record: dict[str, Any] = {
        "task_name": node.id,
        "raw_task_name": node.name,
        "reason": node.reason,
        "examples": [e.model_dump() for e in node.examples],
        "config_filename": node_filename(node),
    }
    record.update(node.extra.get("file_extra", {}))
    return record


def tree_meta(tree: DomainTree, *, include_pruned: bool = True) -> dict[str, Any]:
    def build(node: TaskNode) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "task_name": node.id,
            "raw_task_name": node.name,
            "reason": node.reason,
            "config_filename": node_filename(node),
        }
        meta.update(node.extra.get("meta_extra", {}))
        if node.status != NodeStatus.ACCEPTED:
            meta["status"] = node.status.value
            if node.status_reason:
                meta["status_reason"] = node.status_reason
        kids = [
            build(tree.nodes[c]) for c in node.children if include_pruned or tree.nodes[c].status != NodeStatus.PRUNED
        ]
        if kids:
            meta["children"] = kids
        return meta

    return build(tree.root)


def write_ei_dir(tree: DomainTree, directory: Path, *, include_pruned: bool = True) -> list[Path]:
    """Write the tree in the Explore-Instruct layout; each file lands atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for node in tree.preorder(include_pruned=include_pruned):
        path = directory / node_filename(node)
        _atomic_write_json(path, node_record(node))
        written.append(path)
    meta_path = directory / META_FILENAME
    _atomic_write_json(meta_path, tree_meta(tree, include_pruned=include_pruned))
    written.append(meta_path)
    return written


# ---- entry point ------------------------------------------------------------------------------


def domain_tree_from_sentence(sentence: str) -> DomainTree:
    text = " ".join(sentence.split())
    if not text:
        raise SeedError("domain: the domain sentence is empty")
    if len(text) > MAX_DOMAIN_CHARS:
        raise SeedError(f"domain: the domain sentence is {len(text)} characters, over {MAX_DOMAIN_CHARS}")
    return DomainTree.from_domain(text)


def load_seed(source: str | os.PathLike[str]) -> DomainTree:
    """A sentence, a seed file, or an EI directory: whichever `source` names."""
    text = os.fspath(source)
    if not text.strip():
        raise SeedError("seed: empty; give a domain sentence, a YAML/JSON seed file or a tree directory")
    looks_like_path = (
        "/" in text or text.endswith((".json", ".yaml", ".yml")) or text.startswith(".")
    ) and "\n" not in text
    path = Path(text).expanduser()
    try:
        exists = looks_like_path and len(text) < 4096 and path.exists()
    except OSError:
        exists = False
    if exists:
        if path.is_dir():
            return load_ei_dir(path)
        if path.suffix.lower() not in {".json", ".yaml", ".yml"}:
            raise SeedError(f"{path}: seed files must end in .yaml, .yml or .json")
        return load_seed_file(path)
    if looks_like_path and " " not in text.strip():
        raise SeedError(f"{text}: no such file or directory")
    return domain_tree_from_sentence(text)
