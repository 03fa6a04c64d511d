"""Seed inputs: a sentence, a YAML/JSON seed tree, or an Explore-Instruct directory (tools/tree/ei_dir.py).

Every failure is a `SeedError` whose message is one line naming the file and the field, because
these inputs come from people and other agents who need to fix them, not read a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from explore_instruct.tools.tree.ei_dir import load_ei_dir
from explore_instruct.tools.tree.model import DomainTree, Example, Origin, TaskNode
from explore_instruct.tools.tree.seed_io import (
    MAX_DEPTH,
    MAX_DOMAIN_CHARS,
    SeedError,
    read_model,
)

__all__ = ["domain_tree_from_sentence", "load_seed", "load_seed_file"]

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


def load_seed_file(path: Path) -> DomainTree:
    root = read_model(path, SeedNode, "a mapping with 'name' (the domain)", yaml_ok=True)

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
