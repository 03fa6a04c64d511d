"""The exploration graph as `langgraph dev` and the Agent Server serve it (langgraph.json): a face for remote callers.

A remote caller sets the run's input, its `context` and its `configurable` (the server's `/mcp` tool passes a
`context` through as well), so none of them can carry "this caller may read any file": the rule is chosen here,
when the graph is compiled. This graph is the exploration's wiring (`graphs.explore.build`) with a caller's `seed`
read through the seed-root rule every other face that acts for someone else uses (`Limits.seed`: a seed file or
Explore-Instruct directory under the seed root, reached without a symlink or `..`; anything else, a missing file
included, gets the same one line, so `seed=` cannot probe the server's disk). The CLI's driver compiles
`graphs.explore.builder`, which reads any path: that is the operator's own face. A `docs` input (grounding) goes
through the same rule when it lands.
"""

from __future__ import annotations

from explore_instruct.agent.runs.limits import Limits
from explore_instruct.graphs.explore import build
from explore_instruct.tools.tree.model import DomainTree
from explore_instruct.tools.tree.seeds import load_seed

__all__ = ["graph", "read_seed"]


def read_seed(path: str) -> DomainTree:
    """A remote caller's seed, from the seed root only (the operator's `EXPLORE_INSTRUCT_SEED_ROOT`, else `seeds/`
    under `EXPLORE_INSTRUCT_OUTPUT_ROOT`), read at each run so the server's environment decides."""
    return load_seed(Limits().seed(path))


graph = build(read_seed).compile(name="explore_instruct")
