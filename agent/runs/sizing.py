"""What a tool caller who names only a domain gets: a run sized to finish in minutes, not the batch defaults.

The batch defaults (depth 2, breadth 8,6, 50 examples per task: up to 57 tasks and 2,850 examples) are for an
operator's `run` and take an hour or more; an agent or an MCP client that says only `{"domain": "x"}` wants
an answer it can use today. Every face that acts for a caller (the LangChain tool, MCP, the chat, the web UI)
starts from these instead; the CLI's `run` keeps the batch defaults. The operator still decides: run defaults
given to `Runs` (`mcp --config`) and `EXPLORE_INSTRUCT_<NAME>` variables win over these, and the caller's own
arguments win over everything.

Measured on the embedded model (`local:smollm2`, a shared 2-core machine, embedding similarity): a background
run of these sizes answered in 0.3 s and ended after 86 s with 9 tasks and 45 examples in 20 calls (the CLI
with examples 4: 75 s); depth 1, breadth 3, examples 5 took 25 s but kept only one subtask.
"""

from __future__ import annotations

import os
from typing import Any

ENV_PREFIX = "EXPLORE_INSTRUCT_"

# Context field -> value. Keep CALLER_NOTE in step.
CALLER_DEFAULTS: dict[str, Any] = {"max_depth": 2, "breadth": [3, 2], "examples": [5]}

CALLER_NOTE = (
    "Defaults for a caller who gives only a domain: depth 2, breadth [3, 2], examples [5] (up to 10 tasks and "
    "50 examples, about 15-20 LLM calls): a few minutes on the embedded model (about 75-90 s on 2 CPU cores), "
    "under a minute on a hosted model. Larger runs (e.g. depth 2, breadth [8, 6], examples [50]) take an hour "
    "or more. The run goes on in the background: the answer comes at once with the run id and the planned size; "
    "`status` follows it (phase, counts, calls, cost, ETA, then the summary), `cancel` stops it resumably, "
    "`wait=true` blocks until it ends."
)


def caller_defaults(operator: dict[str, Any]) -> dict[str, Any]:
    """The caller sizes the operator has not set, in code (`operator`) or in the environment."""
    return {
        name: value
        for name, value in CALLER_DEFAULTS.items()
        if name not in operator and not os.environ.get(ENV_PREFIX + name.upper(), "").strip()
    }
