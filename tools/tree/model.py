"""The domain tree: tasks as nodes, kept flat (id -> node) so graph state can merge node updates.

A flat dict with explicit parent/children ids serialises cleanly into checkpoints and JSON, which an
anytree object graph (the reference's choice) does not.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, deque
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_ID_LENGTH = 64
# Names that must never become node file names in an Explore-Instruct directory.
RESERVED_IDS = frozenset(
    {"tree_meta_info", "query_log", "bad_completions", "pruned_subtasks_name"}
    # Windows device names: `con.json` cannot be created or copied there, whatever the extension.
    | {"con", "prn", "aux", "nul"}
    | {f"{dev}{i}" for dev in ("com", "lpt") for i in range(1, 10)}
)


class Example(BaseModel):
    """One instruction-tuning example; unknown keys survive a round trip."""

    model_config = ConfigDict(extra="allow")

    instruction: str
    input: str = ""
    output: str = ""


class NodeStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    PRUNED = "pruned"


class Origin(StrEnum):
    SEED = "seed"
    LOOKAHEAD = "lookahead"
    BACKTRACKING = "backtracking"


class TaskNode(BaseModel):
    id: str
    name: str
    reason: str = ""
    examples: list[Example] = Field(default_factory=list)
    depth: int = 0
    parent: str | None = None
    children: list[str] = Field(default_factory=list)
    status: NodeStatus = NodeStatus.ACCEPTED
    status_reason: str | None = None
    origin: Origin = Origin.SEED
    # Keys of an imported Explore-Instruct node file we do not model, kept so a write-back loses nothing.
    extra: dict[str, Any] = Field(default_factory=dict)


def slugify(name: str) -> str:
    """Lowercase snake_case ASCII, bounded, never empty, never a reserved artefact name."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")
    slug = slug[:MAX_ID_LENGTH].rstrip("_") or "task"
    if slug in RESERVED_IDS:
        slug = f"{slug}_task"
    return slug


class TreeError(ValueError):
    """An operation that would break the tree's invariants."""


class DomainTree(BaseModel):
    root_id: str
    nodes: dict[str, TaskNode]

    # ---- construction -------------------------------------------------------------------------

    @classmethod
    def from_domain(cls, domain: str, reason: str = "", examples: list[Example] | None = None) -> DomainTree:
        root = TaskNode(id=slugify(domain), name=domain, reason=reason, examples=list(examples or []))
        return cls(root_id=root.id, nodes={root.id: root})

    def unique_id(self, name: str) -> str:
        """The reference stops suffixing at _9 and then collides; we count on without limit."""
        base = slugify(name)
        if base not in self.nodes:
            return base
        n = 0
        while f"{base}_{n}" in self.nodes:
            n += 1
        return f"{base}_{n}"

    def add_child(
        self,
        parent_id: str,
        name: str,
        *,
        reason: str = "",
        examples: list[Example] | None = None,
        origin: Origin = Origin.SEED,
        status: NodeStatus = NodeStatus.ACCEPTED,
        status_reason: str | None = None,
        node_id: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> TaskNode:
        parent = self.node(parent_id)
        nid = node_id or self.unique_id(name)
        if nid in self.nodes:
            raise TreeError(f"duplicate task id {nid!r}")
        node = TaskNode(
            id=nid,
            name=name,
            reason=reason,
            examples=list(examples or []),
            depth=parent.depth + 1,
            parent=parent.id,
            origin=origin,
            status=status,
            status_reason=status_reason,
            extra=dict(extra or {}),
        )
        self.nodes[nid] = node
        parent.children.append(nid)
        return node

    # ---- navigation ---------------------------------------------------------------------------

    @property
    def root(self) -> TaskNode:
        return self.nodes[self.root_id]

    def node(self, node_id: str) -> TaskNode:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise TreeError(f"no task with id {node_id!r}") from None

    def children(self, node_id: str, *, include_pruned: bool = False) -> list[TaskNode]:
        kids = [self.nodes[c] for c in self.node(node_id).children]
        return kids if include_pruned else [k for k in kids if k.status != NodeStatus.PRUNED]

    def peers(self, node_id: str, *, include_pruned: bool = False) -> list[TaskNode]:
        """Siblings: the other children of the node's parent (the root has none)."""
        node = self.node(node_id)
        if node.parent is None:
            return []
        return [k for k in self.children(node.parent, include_pruned=include_pruned) if k.id != node_id]

    def ancestors(self, node_id: str) -> list[TaskNode]:
        """Parent first, root last."""
        out: list[TaskNode] = []
        current = self.node(node_id).parent
        while current is not None:
            out.append(self.nodes[current])
            current = self.nodes[current].parent
        return out

    def path(self, node_id: str) -> list[TaskNode]:
        """Root first, the node last."""
        return [*reversed(self.ancestors(node_id)), self.node(node_id)]

    def preorder(self, node_id: str | None = None, *, include_pruned: bool = False) -> Iterator[TaskNode]:
        stack = [self.node(node_id or self.root_id)]
        while stack:
            node = stack.pop()
            if node.status == NodeStatus.PRUNED and not include_pruned:
                continue
            yield node
            stack.extend(reversed([self.nodes[c] for c in node.children]))

    def subtree(self, node_id: str, *, include_pruned: bool = False) -> list[TaskNode]:
        return list(self.preorder(node_id, include_pruned=include_pruned))

    def level_order(self, *, include_pruned: bool = False) -> Iterator[TaskNode]:
        queue = deque([self.root])
        while queue:
            node = queue.popleft()
            if node.status == NodeStatus.PRUNED and not include_pruned:
                continue
            yield node
            queue.extend(self.nodes[c] for c in node.children)

    def depth(self, node_id: str) -> int:
        return self.node(node_id).depth

    # ---- counts -------------------------------------------------------------------------------

    def nodes_per_depth(self, *, include_pruned: bool = False) -> dict[int, int]:
        counts = Counter(n.depth for n in self.preorder(include_pruned=include_pruned))
        return dict(sorted(counts.items()))

    def examples_per_depth(self) -> dict[int, int]:
        counts: Counter[int] = Counter()
        for n in self.preorder():
            counts[n.depth] += len(n.examples)
        return dict(sorted(counts.items()))

    def summary(self) -> dict[str, Any]:
        every = list(self.preorder(include_pruned=True))
        return {
            "root": self.root.name,
            # Descendants of a pruned node are gone with it, as in nodes_per_depth.
            "nodes": sum(1 for _ in self.preorder()),
            "pruned": sum(1 for n in every if n.status == NodeStatus.PRUNED),
            "max_depth": max(n.depth for n in every),
            "nodes_per_depth": self.nodes_per_depth(),
            "examples": sum(len(n.examples) for n in self.preorder()),
            "examples_per_depth": self.examples_per_depth(),
            "examples_per_node": {n.id: len(n.examples) for n in self.preorder()},
        }
