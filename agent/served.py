"""The exploration graph as `langgraph dev` and the Agent Server serve it (langgraph.json): a face for remote callers.

A remote caller sets the run's input, its `context` and its `configurable` (the server's `/mcp` tool passes a
`context` through as well), so none of them can carry "this caller may read any file": the rule is chosen here,
when the graph is compiled. This graph is the exploration's wiring (`graphs.explore.build`) with a caller's `seed`
read through the seed-root rule every other face that acts for someone else uses (`Limits.seed`: a seed file or
Explore-Instruct directory under the seed root, reached without a symlink or `..`; anything else, a missing file
included, gets the same one line, so `seed=` cannot probe the server's disk). The CLI's driver compiles
`graphs.explore.builder`, which reads any path: that is the operator's own face. A caller's `docs` (a corpus, in
the context) goes through the same rule (`confine_docs`).

The caller's context is held to the same line (`ServedContext`, checked at every invoke, resumes included): the
run directory must lie under the output root, the endpoint, its key variable, the embedder and the Chroma server
stay the operator's (a caller who could name `base_url` and `api_key_env` could have the server send its key to
them, or reach an internal host), models follow the operator's allow-list, budgets and sizes its caps, and no live
model can come in through JSON.
"""

from __future__ import annotations

from pydantic import ConfigDict
from pydantic.dataclasses import dataclass

from explore_instruct.agent.runs.corpus_root import confine_docs, confine_tools
from explore_instruct.agent.runs.limits import LimitError, Limits
from explore_instruct.graphs.context import Context
from explore_instruct.graphs.explore import build
from explore_instruct.tools.params import ENV_PREFIX
from explore_instruct.tools.settings import with_env
from explore_instruct.tools.tree.model import DomainTree
from explore_instruct.tools.tree.seeds import load_seed

__all__ = ["OPERATOR_ONLY", "ServedContext", "graph", "read_seed"]

# What only the operator sets (by environment or config): a caller's value must equal the operator's.
# An MCP server for tools (`tools_from_mcp`) is a program the server would start, or a host it would reach, and
# `execute_tools` has that server act on the model's arguments: both stay the operator's.
OPERATOR_ONLY = (
    "base_url",
    "api_key_env",
    "judge_base_url",
    "embedder",
    "chroma_host",
    "chroma_port",
    "tools_from_mcp",
    "execute_tools",
)


def admit(ctx: Context) -> None:
    """Refuse a caller's context that reaches past what the operator allows; fill the budgets it left out."""
    limits = Limits()
    operator = Context()
    for name in OPERATOR_ONLY:
        if getattr(ctx, name) != getattr(operator, name):
            raise LimitError(f"{name}: set by the operator of this server, not by a caller")
    if ctx.chat_model is not None or ctx.judge_chat_model is not None:
        raise LimitError("chat_model: a caller cannot hand the server a model object")
    if ctx.runs_root == operator.runs_root:
        ctx.runs_root = str(limits.root)  # the server's default: its output root, wherever it was started
    else:  # resolved as it was checked: relative to the output root, not to where the server was started
        ctx.runs_root = str(limits.inside(ctx.runs_root, "runs_root", allow_root=True))
    if ctx.run_dir is not None:  # relative to the output root, as every face reads it
        ctx.run_dir = str(limits.inside(ctx.run_dir, "run_dir"))
    if ctx.docs is not None:  # a corpus is read from the seed root only, exactly as a seed is
        ctx.docs = confine_docs(limits, ctx.docs)
    if ctx.tools is not None and ctx.tools != operator.tools:  # a tools list, by the same rule
        ctx.tools = confine_tools(limits, ctx.tools)
    limits.check(ctx)


@with_env(ENV_PREFIX)
@dataclass(kw_only=True, config=ConfigDict(strict=True, extra="forbid"))
class ServedContext(Context):
    """The context a remote caller may give the served graph: the run parameters, within the operator's line."""

    def __post_init__(self) -> None:
        super().__post_init__()
        admit(self)


def read_seed(path: str) -> DomainTree:
    """A remote caller's seed, from the seed root only (the operator's `EXPLORE_INSTRUCT_SEED_ROOT`, else `seeds/`
    under `EXPLORE_INSTRUCT_OUTPUT_ROOT`), read at each run so the server's environment decides."""
    return load_seed(Limits().seed(path))


graph = build(read_seed, ServedContext).compile(name="explore_instruct")
