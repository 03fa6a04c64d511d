"""Sampling: the method's quotas exactly, the shortfall top-up, pruned subtrees left out, seeded determinism."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest
from support.dataset_run import make_run, quota_tree

from explore_instruct.tools.dataset.sampling import (
    LoadedTree,
    SampledExample,
    eligible_nodes,
    load_run,
    load_tree_source,
    quotas,
    sample,
)
from explore_instruct.tools.tree.ei_dir import write_ei_dir
from explore_instruct.tools.tree.seed_io import SeedError


def loaded() -> LoadedTree:
    return LoadedTree(tree=quota_tree(), ids={}, source=Path("constructed"))


def per_node(result_examples: list[SampledExample]) -> dict[str, int]:
    return dict(Counter(s.node_id for s in result_examples))


def test_quota_formula() -> None:
    # w = min(n, 500): 10, 500, 5, 20, 7 (sum 542); quota = min(int(N*w/542) + 1, n).
    assert quotas([10, 1000, 5, 20, 7], 100) == [2, 93, 1, 4, 2]
    assert quotas([10, 1000, 5, 20, 7], 1030) == [10, 951, 5, 20, 7]
    assert quotas([], 10) == []
    assert quotas([0, 0], 10) == [0, 0]


def test_exact_quotas_truncated_in_level_order() -> None:
    result = sample(loaded(), 100, seed=1)
    # Level order a, b, c, d, e (p is pruned, q under it, f is at depth 4 > 3).
    assert result.quotas == {"a": 2, "b": 93, "c": 1, "d": 4, "e": 2}
    # 102 drawn, truncated to 100 in level order: e's 2 go.
    assert per_node(result.examples) == {"a": 2, "b": 93, "c": 1, "d": 4}
    assert result.drawn == {"a": 2, "b": 93, "c": 1, "d": 4}
    assert len(result.examples) == 100 and result.topped_up == 0 and result.shortfall == 0
    assert len({s.id for s in result.examples}) == 100


def test_shortfall_is_topped_up_from_spare_examples() -> None:
    # The weight cap leaves b short: quotas sum to 993 < 1030; only b has spare examples (49).
    result = sample(loaded(), 1030, seed=3)
    assert result.quotas == {"a": 10, "b": 951, "c": 5, "d": 20, "e": 7}
    assert result.topped_up == 37
    assert per_node(result.examples) == {"a": 10, "b": 988, "c": 5, "d": 20, "e": 7}
    assert len(result.examples) == 1030 and result.shortfall == 0
    assert len({s.id for s in result.examples}) == 1030
    assert "37 topped up" in result.describe()


def test_tree_smaller_than_n_gives_everything_and_says_so() -> None:
    result = sample(loaded(), 5000)
    assert result.available == 10 + 1000 + 5 + 20 + 7
    assert len(result.examples) == result.available
    assert result.shortfall == 5000 - result.available
    assert "hold only 1042" in result.describe()


def test_pruned_subtree_and_deep_nodes_are_left_out() -> None:
    tree = quota_tree()
    assert [n.id for n in eligible_nodes(tree, 3)] == ["a", "b", "c", "d", "e"]
    assert [n.id for n in eligible_nodes(tree, None)] == ["a", "b", "c", "d", "e", "f"]
    everything = sample(LoadedTree(tree, {}, Path("t")), None, max_depth=None)
    nodes = {s.node_id for s in everything.examples}
    assert nodes == {"a", "b", "c", "d", "e", "f"}  # never p nor q under it
    assert len(everything.examples) == 10 + 1000 + 5 + 20 + 7 + 9
    shallow = sample(LoadedTree(tree, {}, Path("t")), 50, max_depth=1)
    assert set(shallow.quotas) == {"a", "b", "c"}


def test_metadata_path_and_depth() -> None:
    result = sample(loaded(), None, max_depth=None)
    e = next(s for s in result.examples if s.node_id == "e")
    assert e.depth == 3
    assert e.path == ("Domain", "C", "D", "E")
    assert e.id.startswith("e:")


def test_same_seed_same_draw_other_seed_other_draw() -> None:
    a = [s.id for s in sample(loaded(), 60, seed=7).examples]
    b = [s.id for s in sample(loaded(), 60, seed=7).examples]
    c = [s.id for s in sample(loaded(), 60, seed=8).examples]
    assert a == b
    assert a != c


def test_bad_parameters_are_one_line_errors() -> None:
    for kwargs in ({"n": 0}, {"n": 5, "max_depth": -1}, {"n": 5, "weight_cap": 0}):
        with pytest.raises(ValueError) as info:
            sample(loaded(), **kwargs)
        assert "\n" not in str(info.value)


def _digest(directory: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_run_is_resampled_from_stored_data_only(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    before = _digest(run)
    small = sample(load_run(run), 4, seed=0)
    large = sample(load_run(run), 9, seed=0)
    assert len(small.examples) == 4 and len(large.examples) == 9
    stored = {line.split('"id": "')[1].split('"')[0] for line in (run / "examples.jsonl").read_text().splitlines()}
    assert {s.id for s in small.examples + large.examples} <= stored  # ids come from examples.jsonl
    assert not any(s.node_id == "summaries_again" for s in large.examples)  # pruned
    assert _digest(run) == before  # nothing written, nothing regenerated


def test_run_tail_past_the_snapshot_is_not_counted(tmp_path: Path) -> None:
    run = make_run(tmp_path, killed_tail=True)
    everything = sample(load_run(run), None, max_depth=None)
    assert "Uncommitted." not in {s.example.instruction for s in everything.examples}
    assert len(everything.examples) == 2 + 4 + 3 + 3


def test_tree_directory_source(tmp_path: Path) -> None:
    write_ei_dir(quota_tree(), tmp_path / "tree")
    result = sample(load_tree_source(tmp_path / "tree"), 100, seed=1)
    assert per_node(result.examples) == {"a": 2, "b": 93, "c": 1, "d": 4}
    with pytest.raises(SeedError):
        load_tree_source(tmp_path / "missing")
