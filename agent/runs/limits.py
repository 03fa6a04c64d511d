"""Operator hard caps that no caller (an agent, an MCP client, a chat user) can raise.

The operator sets them in code or through `EXPLORE_INSTRUCT_HARD_*` / `EXPLORE_INSTRUCT_OUTPUT_ROOT`; every face
that starts runs for someone else passes the request through `Limits.check` first.

Policy: a request above a cap is **rejected** with a one-line `LimitError`, never silently clamped, so a caller
never gets a smaller dataset than it asked for without knowing. A budget the caller leaves out is filled in with
the cap, so every run is bounded. Output directories must resolve (after `..` and symlinks) inside the output root.

Seeds a caller names are read only from the seed root (default `seeds/` under the output root), never through a
symlink or `..`; a path that is refused and one that does not exist get the same one-line answer, so a caller
cannot use `seed=` to learn which files exist on the machine (the CLI, the operator's own face, reads any path).
"""

from __future__ import annotations

import os
import re
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field
from pydantic.dataclasses import dataclass

from explore_instruct.tools.params import ENV_PREFIX, MAX_CHILDREN, env_name, info
from explore_instruct.tools.settings import with_env

if TYPE_CHECKING:
    from explore_instruct.graphs.context import Context

HARD_PREFIX = ENV_PREFIX + "HARD_"  # EXPLORE_INSTRUCT_HARD_<CAP>
# Where the caps' own names are not `HARD_<NAME>`: the roots every face shares, and the allowed models.
ROOT_ENV = {
    "output_root": env_name("output_root"),
    "seed_root": env_name("seed_root"),
    "models": env_name("allowed_models"),
}
SEED_SUFFIXES = (".yaml", ".yml", ".json")


class LimitError(ValueError):
    """A request that breaks an operator cap or leaves the output root; one line."""


def level_counts(
    max_depth: int, breadth: list[int], max_children: int = MAX_CHILDREN, seeded: dict[int, int] | None = None
) -> list[int]:
    """The most tasks per depth: 1, b0, b0*b1, ... (each task gets at most `max_children` new ones).

    `seeded` counts a seed's own tasks per depth; each of them may get new children too.
    """
    seeded = seeded or {0: 1}
    counts = [seeded.get(0, 1)]
    for d in range(max(max_depth, max(seeded))):
        b = (breadth[min(d, len(breadth) - 1)] if breadth else 0) if d < max_depth else 0
        counts.append(counts[-1] * min(b, max_children) + seeded.get(d + 1, 0))
    return counts


def node_count(
    max_depth: int, breadth: list[int], max_children: int = MAX_CHILDREN, seeded: dict[int, int] | None = None
) -> int:
    """The most tasks a tree can hold: 1 + b0 + b0*b1 + ..."""
    return sum(level_counts(max_depth, breadth, max_children, seeded))


def _cap(name: str, what: str | None = None) -> Any:
    """A cap on run parameter `name`, described from its definition (or `what`): above 0, never clamped to."""
    text = what or (info(name).description or name).removeprefix("budget: ")
    return Field(gt=0, description=f"{text} per run (a caller may ask for less, never more)")


@with_env(HARD_PREFIX, error=LimitError, exact=ROOT_ENV)
@dataclass(kw_only=True)
class Limits:
    """Hard caps on one run started by a caller, and where its files may go; each reads
    `EXPLORE_INSTRUCT_HARD_<NAME>` (the roots and models: `ROOT_ENV`) when not given."""

    max_nodes: Annotated[int, _cap("max_nodes", "tasks in the tree (from depth and breadth)")] = 200
    max_calls: Annotated[int, _cap("max_calls")] = 2000
    max_tokens: Annotated[int, _cap("max_tokens")] = 5_000_000
    max_cost_usd: Annotated[float, _cap("max_cost_usd")] = 10.0
    max_examples: Annotated[int, _cap("max_examples", "target examples")] = 20_000
    output_root: Annotated[str, Field(description="every run directory lives under it")] = "runs"
    seed_root: Annotated[
        str | None, Field(description="seed files must live under it (default: seeds/ under the output root)")
    ] = None
    models: Annotated[tuple[str, ...] | None, Field(description="allowed model strings (if set)")] = None
    max_running: Annotated[int, Field(gt=0, description="background runs going on at once, per process")] = 4

    @property
    def root(self) -> Path:
        """The output root, symlinks resolved (it need not exist yet)."""
        return Path(self.output_root).expanduser().resolve()

    # ---- paths ------------------------------------------------------------------------------------

    def inside(self, path: str, what: str, *, allow_root: bool = False) -> Path:
        """`path` (relative to the output root, or absolute) resolved, `..` and symlinks included; a one-line
        LimitError naming `what` where it leaves the root. The root itself is refused unless `allow_root`: a run
        directory there would write over every other run. The one confinement rule of every face that writes or
        reads a run for someone else (a new run's directory, a run named by id, a served graph's context)."""
        if "\x00" in path:
            raise LimitError(f"{what}: contains a NUL byte")
        root = self.root
        given = Path(path).expanduser()
        target = (given if given.is_absolute() else root / given).resolve()
        if not ((allow_root and target == root) or (target != root and target.is_relative_to(root))):
            raise LimitError(f"{what}: {path!r} is outside the output root")
        return target

    def run_dir(self, out: str | None, *, default_name: str) -> Path:
        """Where a new run goes: `out` relative to the root (or absolute inside it), else `root/default_name`."""
        return self.inside(out or default_name, "output_dir")

    def existing_run(self, ref: str) -> Path:
        """A run a caller names by id (its directory name) or path; it must live under the root."""
        if not ref or "\x00" in ref:
            raise LimitError("run: give a run id or directory")
        target = self.inside(ref, "run")
        if not target.is_dir():
            raise LimitError(f"run: no run {ref!r} under the output root")
        return target

    @property
    def seeds(self) -> Path:
        """The seed root, symlinks resolved: the operator's, else `seeds/` under the output root."""
        return Path(self.seed_root).expanduser().resolve() if self.seed_root else self.root / "seeds"

    def seed(self, path: str) -> str:
        """A caller's seed: a seed file (.yaml, .yml, .json) or an Explore-Instruct directory under the seed root,
        reached without symlinks or `..`. Anything else, missing included, gets the same line."""
        refused = LimitError(f"seed: {path!r} is not a seed file under the seed root")
        root = self.seeds
        if not path or "\x00" in path or not root.is_dir():
            raise refused
        given = Path(path).expanduser()
        if ".." in given.parts:
            raise refused
        target = given if given.is_absolute() else root / given
        try:
            resolved = target.resolve(strict=True)
        except (OSError, RuntimeError):
            raise refused from None
        # Resolving changes nothing for a path without symlinks below the root (the root's own are resolved).
        if resolved != Path(os.path.normpath(target)) or not resolved.is_relative_to(root) or resolved == root:
            raise refused
        if not (resolved.is_dir() or (resolved.is_file() and resolved.suffix.lower() in SEED_SUFFIXES)):
            raise refused
        return str(resolved)

    # ---- the request ----------------------------------------------------------------------------

    def check(self, ctx: Context, seeded: dict[int, int] | None = None) -> Context:
        """Reject anything above a cap; fill budgets the caller left out with the caps. Returns `ctx`."""
        levels = level_counts(ctx.max_depth, ctx.breadth, ctx.max_children, seeded)
        nodes = sum(levels)
        if nodes > self.max_nodes:
            raise LimitError(
                f"depth {ctx.max_depth} with breadth {ctx.breadth} allows up to {nodes} tasks; the cap is "
                f"{self.max_nodes}"
            )
        examples = sum(n * ctx.examples_at(d) for d, n in enumerate(levels))
        if examples > self.max_examples:
            raise LimitError(f"up to {examples} examples requested; the cap is {self.max_examples}")
        for name in ("max_calls", "max_tokens", "max_cost_usd"):
            asked, cap = getattr(ctx, name), getattr(self, name)
            if asked is None:
                setattr(ctx, name, cap)
            elif asked > cap:
                raise LimitError(f"{name}: {asked} is above the cap {cap}")
            elif asked <= 0:
                raise LimitError(f"{name}: must be positive")
        for name in ("model", "judge_model"):
            chosen = getattr(ctx, name, None)
            if self.models is not None and chosen is not None and chosen not in self.models:
                raise LimitError(f"{name}: {chosen!r} is not allowed here (allowed: {', '.join(self.models)})")
        return ctx

    def public(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def slug(text: str, limit: int = 40) -> str:
    """A run-directory-safe name from a domain sentence."""
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-")
    return s or "run"
