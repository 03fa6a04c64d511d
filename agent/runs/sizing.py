"""What a tool caller who names only a domain gets: a run sized to finish in minutes, not the batch defaults.

The batch defaults (`RunParams` in tools/params.py: depth 2, breadth 8,6, 50 examples per task: up to 57 tasks and
2,850 examples) are for an operator's `run` and take an hour or more; an agent or an MCP client that says only
`{"domain": "x"}` wants an answer it can use today. Every face that acts for a caller (the LangChain tool, MCP,
the chat, the web UI) starts from these instead; the CLI's `run` keeps the batch defaults. The operator still
decides: run defaults given to `Runs` (`mcp --config`) and `EXPLORE_INSTRUCT_<NAME>` variables win over these,
and the caller's own arguments win over everything.

`CALLER_DEFAULTS` is the only place these sizes are written: the note callers read (`CALLER_NOTE`) and the
defaults the request's descriptions state (agent/request.py) are made from it.

Measured on the embedded model (`local:smollm2`, a shared 2-core machine, embedding similarity): a background
run of these sizes answered in 0.3 s and ended after 86 s with 9 tasks and 45 examples in 20 calls (the CLI
with examples 4: 75 s); depth 1, breadth 3, examples 5 took 25 s but kept only one subtask.
"""

from __future__ import annotations

from typing import Any

from explore_instruct.agent.runs.limits import level_counts
from explore_instruct.tools.params import ENV_PREFIX, RunParams, default_of
from explore_instruct.tools.settings import env_values

# Context field -> value, for a caller who leaves it out.
CALLER_DEFAULTS: dict[str, Any] = {"max_depth": 2, "breadth": [3, 2], "examples": [5]}


def _size(params: dict[str, Any]) -> str:
    """`depth 2, breadth [3, 2], examples [5] (up to 10 tasks and 50 examples)` for these sizes."""
    depth, breadth, examples = params["max_depth"], params["breadth"], params["examples"]
    levels = level_counts(depth, breadth)
    total = sum(n * examples[min(d, len(examples) - 1)] for d, n in enumerate(levels))
    return f"depth {depth}, breadth {breadth}, examples {examples} (up to {sum(levels):,} tasks and {total:,} examples)"


CALLER_NOTE = (
    f"Defaults for a caller who gives only a domain: {_size(CALLER_DEFAULTS)}: a few minutes on the embedded "
    "model (about 75-90 s on 2 CPU cores), under a minute on a hosted model. The batch defaults, "
    f"{_size({n: default_of(n) for n in CALLER_DEFAULTS})}, take an hour or more. The run goes on in the "
    "background: the answer comes at once with the run id and the planned size; `status` follows it (phase, "
    "counts, calls, cost, ETA, then the summary), `cancel` stops it resumably, `wait=true` blocks until it ends."
)


def caller_defaults(operator: dict[str, Any]) -> dict[str, Any]:
    """The caller sizes the operator has not set, in code (`operator`) or in the environment."""
    in_env = env_values(RunParams, ENV_PREFIX, names=CALLER_DEFAULTS)
    return {name: value for name, value in CALLER_DEFAULTS.items() if name not in operator and name not in in_env}
