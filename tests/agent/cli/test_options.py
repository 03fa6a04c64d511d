"""The run parameters a command's own options set (`operator_params`), shared by `run`, `batch` and `mcp`."""

from __future__ import annotations

from explore_instruct.agent.cli.options import operator_params
from explore_instruct.graphs.context import Context


def test_an_option_sets_its_run_parameter_and_one_left_out_sets_nothing() -> None:
    got = operator_params(concurrency=3, random_seed=0, base_url=None, review=False, execute_tools=True, strategy="bfs")
    # A seed of 0 is a seed; an on/off flag left off leaves the config's value standing.
    assert got == {"max_concurrency": 3, "seed": 0, "execute_tools": True, "strategy": "bfs"}
    assert set(got) <= set(Context.__dataclass_fields__)  # every name is a run parameter the context reads
