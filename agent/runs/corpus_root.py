"""A remote caller's corpus (`docs`): read only from the seed root, by the same rule as a seed.

A corpus folder names files on the server's disk, so a caller of MCP or the Agent Server must not be able to
point `docs` anywhere: it is resolved by `Limits.seed` (under the seed root, no symlink or `..`) and must be a
corpus (hold `corpus.json`); anything else, a missing folder included, gets the same one line, so `docs=`
cannot probe the disk any more than `seed=` can. The CLI, the operator's own face, reads any path.
"""

from __future__ import annotations

from pathlib import Path

from explore_instruct.agent.runs.limits import LimitError, Limits
from explore_instruct.tools.corpus.manifest import MANIFEST


def confine_docs(limits: Limits, path: str) -> str:
    """The resolved corpus folder under the seed root, or a LimitError in one line."""
    refused = LimitError(f"docs: {path!r} is not a corpus under the seed root")
    try:
        resolved = limits.seed(path)
    except LimitError:
        raise refused from None
    if not (Path(resolved) / MANIFEST).is_file():
        raise refused
    return resolved


def confine_tools(limits: Limits, path: str) -> str:
    """A remote caller's tools list (`tools`, a JSON file) from the seed root only, by the seed's rule; or a
    LimitError in one line that says nothing of what is on the disk."""
    refused = LimitError(f"tools: {path!r} is not a tools file under the seed root")
    try:
        resolved = limits.seed(path)
    except LimitError:
        raise refused from None
    if not (Path(resolved).is_file() and resolved.lower().endswith(".json")):
        raise refused
    return resolved
