"""Coverage: verb–noun pairs with known answers, tree stats on the demo tree, PNGs written."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.dataset_run import make_run

from explore_instruct.tools.dataset import coverage
from explore_instruct.tools.dataset.coverage import (
    CoverageError,
    analyse,
    mean_pairwise_rouge,
    tree_from_rows,
    verb_noun_pairs,
    verb_noun_stats,
)
from explore_instruct.tools.dataset.export import ExportError, write_dataset
from explore_instruct.tools.dataset.plots import write_plots
from explore_instruct.tools.dataset.sampling import load_run, load_tree_source, sample

EI_DEMO = Path(__file__).parents[2] / "fixtures" / "ei_demo"

KNOWN = {
    "Write a poem about the sea.": ("write", "poem"),
    "Summarize this article.": ("summarize", "article"),
    "Rewrite the following sentence in a formal tone.": ("rewrite", "sentence"),
    "Find the value of x in the equation.": ("find", "value"),
    "Give me three examples of renewable energy.": ("give", "example"),  # lemmatised, past the dative "me"
    "Can you suggest a title for my essay?": ("suggest", "title"),
    "Please paraphrase the text below.": ("paraphrase", "text"),
    "Create a product description for a smartwatch.": ("create", "description"),
    "List five benefits of exercise.": ("list", "benefit"),  # root tagged NOUN, but it governs an object
    "Explain how photosynthesis works.": ("explain", None),  # a clause, not a noun object
    "What is the capital of France?": (None, None),  # no root verb
}


def test_verb_noun_pairs_known_answers() -> None:
    assert dict(zip(KNOWN, verb_noun_pairs(list(KNOWN)), strict=True)) == KNOWN


def test_verb_noun_stats_counts_unique_pairs_and_concentration() -> None:
    pairs = [("find", "value")] * 3 + [("write", "poem"), ("explain", None), (None, None)]
    stats = verb_noun_stats(pairs)
    assert stats["unique_pairs"] == 2
    assert stats["with_pair"] == 4 and stats["with_verb"] == 5 and stats["instructions"] == 6
    assert stats["top_pair"] == "find value" and stats["top_pair_share"] == 0.75
    assert verb_noun_stats([])["top_pair"] is None


def test_mean_pairwise_rouge() -> None:
    assert mean_pairwise_rouge(["a b c", "a b c", "a b c"]) == pytest.approx(1.0)
    assert mean_pairwise_rouge(["a b", "c d"]) == pytest.approx(0.0)
    assert mean_pairwise_rouge(["only one"]) is None
    many = [f"word{i} shared" for i in range(60)]  # 1770 pairs, sampled down to the limit
    assert mean_pairwise_rouge(many, limit=50) == pytest.approx(0.5)


def test_stats_of_the_demo_tree() -> None:
    analysis = analyse(EI_DEMO)
    stats = analysis.stats
    assert stats["kind"] == "tree"
    assert stats["nodes_per_depth"] == {0: 1, 1: 3, 2: 1}
    assert stats["examples"] == 16 and stats["examples_per_depth"] == {0: 2, 1: 11, 2: 3}
    assert stats["examples_per_node"]["min"] == 2 and stats["examples_per_node"]["max"] == 4
    assert stats["rouge_l_within_nodes"]["nodes"] == 5
    assert 0 < stats["rouge_l_within_nodes"]["mean"] < 1
    vn = stats["verb_noun"]
    assert vn["instructions"] == 16 and vn["unique_pairs"] == 10
    assert analysis.pairs is not None and len(analysis.pairs) == 16


def test_stats_of_a_run_include_tokens_and_drops(tmp_path: Path) -> None:
    stats = analyse(make_run(tmp_path), verbs=False).stats
    assert stats["kind"] == "run" and "verb_noun" not in stats
    assert stats["pruned"] == 1 and stats["examples"] == 12
    assert stats["run"]["input_tokens"] == 4500 and stats["run"]["dropped"] == 3


def test_exported_file_rebuilds_the_tree(tmp_path: Path) -> None:
    loaded = load_tree_source(EI_DEMO)
    write_dataset("jsonl", sample(loaded, None, max_depth=None).examples, tmp_path / "d.jsonl")
    from_file = analyse(tmp_path / "d.jsonl", verbs=False).stats
    from_tree = analyse(EI_DEMO, verbs=False).stats
    for key in ("nodes_per_depth", "examples_per_depth", "examples", "tasks"):
        assert from_file[key] == from_tree[key]
    assert from_file["rouge_l_within_nodes"]["mean"] == from_tree["rouge_l_within_nodes"]["mean"]
    assert from_file["kind"] == "file"


def test_plain_alpaca_file(tmp_path: Path) -> None:
    path = tmp_path / "plain.json"
    path.write_text(
        '[{"instruction": "Write a poem about the sea.", "output": "x"}, {"instruction": "Summarize this article."}]'
    )
    stats = analyse(path).stats
    assert stats["examples"] == 2 and "tasks" not in stats
    assert stats["verb_noun"]["unique_pairs"] == 2
    assert tree_from_rows([{"instruction": "x"}]) is None


def test_plots_are_written(tmp_path: Path) -> None:
    analysis = analyse(EI_DEMO)
    written = write_plots(
        tmp_path / "plots",
        tree=analysis.tree,
        pairs=analysis.pairs,
        examples_per_depth=analysis.stats["examples_per_depth"],
    )
    assert [p.name for p in written] == ["tree.png", "verb_noun.png", "examples_per_depth.png"]
    for p in written:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 5000
    with pytest.raises(ExportError, match="--force"):
        write_plots(tmp_path / "plots", tree=analysis.tree, pairs=None, examples_per_depth=None)
    assert write_plots(tmp_path / "plots", tree=analysis.tree, pairs=[], examples_per_depth=None, force=True)


def test_run_plots(tmp_path: Path) -> None:
    tree = load_run(make_run(tmp_path)).tree
    written = write_plots(
        tmp_path / "p", tree=tree, pairs=[("write", "poem")], examples_per_depth=tree.examples_per_depth()
    )
    assert len(written) == 3


def test_missing_spacy_model_is_a_one_line_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import spacy

    def missing(name: str, **kwargs: object) -> None:
        raise OSError(f"[E050] Can't find model '{name}'")

    monkeypatch.setattr(spacy, "load", missing)
    coverage.load_nlp.cache_clear()
    try:
        with pytest.raises(CoverageError) as info:
            verb_noun_pairs(["Write a poem."])
        assert "pip install" in str(info.value) and "\n" not in str(info.value)
    finally:
        coverage.load_nlp.cache_clear()
