"""The Explore-Instruct directory layout: `tree_meta_info.json` plus one `<task_name>.json` per node, read and
written back without loss (unknown keys and the pruned status survive a round trip).

Read errors are `SeedError`s of one line naming the file and the field, like every seed input.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from explore_instruct.tools.fileio import write_text_atomic
from explore_instruct.tools.tree.model import DomainTree, Example, NodeStatus, Origin, TaskNode, slugify
from explore_instruct.tools.tree.seed_io import (
    MAX_DEPTH,
    MAX_NODE_FILE_BYTES,
    MAX_NODES,
    META_FILENAME,
    SeedError,
    first_error,
    parse,
    read_model,
    read_text,
)


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
    meta = read_model(meta_path, _EIMeta, "the root task object")

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
            ndata = parse(node_file, read_text(node_file, MAX_NODE_FILE_BYTES))
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
                    raise SeedError(f"{node_file}: examples.{i}.{first_error(e)}") from None
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


def write_ei_dir(
    tree: DomainTree, directory: Path, *, include_pruned: bool = True, unchanged: dict[Path, str] | None = None
) -> list[Path]:
    """Write the tree in the Explore-Instruct layout; each file lands atomically.

    `unchanged` (path -> the text last written there) lets a caller that rewrites the same tree at every step
    skip the files whose text is the same and still on disk; it is updated with what is written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    jobs = [(directory / node_filename(n), node_record(n)) for n in tree.preorder(include_pruned=include_pruned)]
    jobs.append((directory / META_FILENAME, tree_meta(tree, include_pruned=include_pruned)))
    for path, data in jobs:
        text = json.dumps(data, ensure_ascii=False, indent=2)
        if unchanged is not None and unchanged.get(path) == text and path.is_file():
            continue
        write_text_atomic(path, text)
        if unchanged is not None:
            unchanged[path] = text
    return [path for path, _ in jobs]
