"""Built-in seed trees for the paper's three domains: `--preset rewriting|brainstorming|math`.

Each is a root, six depth-1 tasks with reasons and two examples each, written for this project (the
reference's demo data carries a non-commercial licence), plus the prompt flavour that suits it. A preset
gives a small model a well-named first level to widen and deepen, where a bare sentence gives it nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from explore_instruct.tools.prompts.full import Flavour
from explore_instruct.tools.tree.model import DomainTree
from explore_instruct.tools.tree.seed_io import SeedError
from explore_instruct.tools.tree.seeds import load_seed

TREES = Path(__file__).parent / "preset_trees"


@dataclass(frozen=True)
class Preset:
    name: str
    flavour: Flavour

    @property
    def path(self) -> Path:
        return TREES / f"{self.name}.yaml"

    def tree(self) -> DomainTree:
        return load_seed(str(self.path))


PRESETS = {p.name: p for p in (Preset("rewriting", Flavour.REWRITING), Preset("brainstorming", Flavour.BRAINSTORMING),
                               Preset("math", Flavour.MATH))}  # fmt: skip


def preset(name: str) -> Preset:
    """The preset called `name`; a one-line error naming the known ones otherwise."""
    found = PRESETS.get(name.strip().lower())
    if found is None:
        raise SeedError(f"preset: {name!r} is not one of {', '.join(PRESETS)}")
    return found
