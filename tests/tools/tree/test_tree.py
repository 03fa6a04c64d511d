"""The domain tree: ids, structure, navigation, pruning and counts."""

from __future__ import annotations

import re

import pytest

from explore_instruct.tools.tree.model import (
    MAX_ID_LENGTH,
    RESERVED_IDS,
    DomainTree,
    Example,
    NodeStatus,
    Origin,
    TreeError,
    slugify,
)


def ex(instruction: str) -> Example:
    return Example(instruction=instruction, input="", output="ok")


@pytest.fixture
def tree() -> DomainTree:
    """root ─┬─ a ─┬─ a1 ── a1x
    │     └─ a2
    ├─ b
    └─ c ── c1
    """
    t = DomainTree.from_domain("Root domain", reason="top", examples=[ex("r1"), ex("r2")])
    t.add_child(t.root_id, "A", examples=[ex("a")])
    t.add_child("a", "A1", examples=[ex("a1"), ex("a1 again")])
    t.add_child("a1", "A1x")
    t.add_child("a", "A2", examples=[ex("a2")])
    t.add_child(t.root_id, "B", examples=[ex("b"), ex("b"), ex("b3")])
    t.add_child(t.root_id, "C")
    t.add_child("c", "C1", examples=[ex("c1")])
    return t


def ids(nodes: object) -> list[str]:
    return [n.id for n in nodes]  # type: ignore[attr-defined]


# ---- slugify ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Assistance for text editting", "assistance_for_text_editting"),
        ("  Grammar   Correction!!  ", "grammar_correction"),
        ("Text-Simplification (for kids)", "text_simplification_for_kids"),
        ("camelCase Name", "camelcase_name"),
        ("Résumé écriture", "resume_ecriture"),
        ("Straße", "strae"),
        ("math 101", "math_101"),
        ("__already_snake__", "already_snake"),
    ],
)
def test_slugify_is_lowercase_snake_case_ascii(name: str, slug: str) -> None:
    assert slugify(name) == slug


@pytest.mark.parametrize("name", ["", "   ", "!!!", "数学", "日本語のタスク", "🙂🙂", "___"])
def test_slugify_never_returns_empty(name: str) -> None:
    assert slugify(name) == "task"


def test_slugify_is_bounded_and_does_not_end_in_underscore() -> None:
    long = "word " * 100
    slug = slugify(long)
    assert len(slug) <= MAX_ID_LENGTH
    assert not slug.endswith("_")
    assert slug.startswith("word_word")
    # a cut that would land right after a separator does not leave a trailing underscore
    slug = slugify("a" * (MAX_ID_LENGTH - 1) + " b" * 10)
    assert slug == "a" * (MAX_ID_LENGTH - 1)


@pytest.mark.parametrize("name", ["x" * 1000, "Écrire " * 50, "a-b " * 40, "Tree meta info " * 10])
def test_slugify_output_shape(name: str) -> None:
    slug = slugify(name)
    assert re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", slug)
    assert len(slug) <= MAX_ID_LENGTH


@pytest.mark.parametrize("reserved", sorted(RESERVED_IDS))
def test_slugify_avoids_reserved_names(reserved: str) -> None:
    spaced = reserved.replace("_", " ").title()
    assert slugify(reserved) == f"{reserved}_task"
    assert slugify(spaced) == f"{reserved}_task"
    assert slugify(spaced) not in RESERVED_IDS


def test_reserved_names_include_the_meta_file() -> None:
    assert "tree_meta_info" in RESERVED_IDS
    t = DomainTree.from_domain("tree_meta_info")
    assert t.root_id != "tree_meta_info"


# ---- ids and construction ---------------------------------------------------------------------


def test_from_domain_builds_a_single_root() -> None:
    t = DomainTree.from_domain("Assistance for text editting", reason="why", examples=[ex("e")])
    assert t.root_id == "assistance_for_text_editting"
    assert list(t.nodes) == [t.root_id]
    root = t.root
    assert root.name == "Assistance for text editting"
    assert root.reason == "why"
    assert [e.instruction for e in root.examples] == ["e"]
    assert root.depth == 0
    assert root.parent is None
    assert root.children == []
    assert root.status == NodeStatus.ACCEPTED


def test_unique_id_counts_past_nine() -> None:
    t = DomainTree.from_domain("Domain")
    made = [t.add_child(t.root_id, "Paraphrasing").id for _ in range(15)]
    assert len(set(made)) == 15
    assert made[0] == "paraphrasing"
    assert made[1:] == [f"paraphrasing_{i}" for i in range(14)]
    assert "paraphrasing_10" in made and "paraphrasing_13" in made
    assert t.root.children == made
    assert len(t.nodes) == 16


def test_unique_id_collides_on_slug_not_on_name() -> None:
    t = DomainTree.from_domain("Domain")
    first = t.add_child(t.root_id, "Grammar correction")
    second = t.add_child(t.root_id, "grammar-correction!")
    third = t.add_child(t.root_id, "GRAMMAR  CORRECTION")
    assert [first.id, second.id, third.id] == ["grammar_correction", "grammar_correction_0", "grammar_correction_1"]
    assert second.name == "grammar-correction!"


def test_unique_id_skips_taken_suffixes() -> None:
    t = DomainTree.from_domain("Domain")
    t.add_child(t.root_id, "x 0")  # takes id x_0
    t.add_child(t.root_id, "x")
    assert t.unique_id("x") == "x_1"


def test_add_child_sets_depth_parent_and_fields(tree: DomainTree) -> None:
    node = tree.add_child(
        "a1x",
        "Deep task",
        reason="because",
        examples=[ex("d")],
        origin=Origin.LOOKAHEAD,
        status=NodeStatus.PROPOSED,
        status_reason="new",
        extra={"k": "v"},
    )
    assert node.id == "deep_task"
    assert node.depth == 4
    assert node.parent == "a1x"
    assert tree.nodes["a1x"].children == ["deep_task"]
    assert node.origin == Origin.LOOKAHEAD
    assert node.status == NodeStatus.PROPOSED
    assert node.status_reason == "new"
    assert node.extra == {"k": "v"}
    assert node.reason == "because"
    assert tree.nodes["deep_task"] is node


def test_add_child_copies_its_inputs() -> None:
    t = DomainTree.from_domain("D")
    examples = [ex("one")]
    extra = {"k": 1}
    node = t.add_child(t.root_id, "Kid", examples=examples, extra=extra)
    examples.append(ex("two"))
    extra["k"] = 2
    assert len(node.examples) == 1
    assert node.extra == {"k": 1}


def test_add_child_with_explicit_id_and_duplicate(tree: DomainTree) -> None:
    node = tree.add_child("b", "Anything", node_id="custom_id")
    assert node.id == "custom_id"
    assert tree.nodes["b"].children == ["custom_id"]
    before = dict(tree.nodes)
    with pytest.raises(TreeError, match="duplicate task id 'custom_id'"):
        tree.add_child("c", "Other", node_id="custom_id")
    assert tree.nodes == before
    assert tree.nodes["c"].children == ["c1"]


def test_add_child_to_missing_parent_raises(tree: DomainTree) -> None:
    n = len(tree.nodes)
    with pytest.raises(TreeError, match="no task with id 'nope'"):
        tree.add_child("nope", "X")
    assert len(tree.nodes) == n
    assert issubclass(TreeError, ValueError)


# ---- navigation -------------------------------------------------------------------------------


def test_children(tree: DomainTree) -> None:
    assert ids(tree.children(tree.root_id)) == ["a", "b", "c"]
    assert ids(tree.children("a")) == ["a1", "a2"]
    assert tree.children("b") == []
    with pytest.raises(TreeError):
        tree.children("missing")


def test_peers(tree: DomainTree) -> None:
    assert ids(tree.peers("b")) == ["a", "c"]
    assert ids(tree.peers("a1")) == ["a2"]
    assert tree.peers("c1") == []
    assert tree.peers(tree.root_id) == []


def test_ancestors_and_path(tree: DomainTree) -> None:
    assert ids(tree.ancestors("a1x")) == ["a1", "a", "root_domain"]
    assert tree.ancestors(tree.root_id) == []
    assert ids(tree.path("a1x")) == ["root_domain", "a", "a1", "a1x"]
    assert ids(tree.path(tree.root_id)) == ["root_domain"]
    assert tree.depth("a1x") == 3
    assert tree.depth("c1") == 2


def test_preorder_and_subtree(tree: DomainTree) -> None:
    assert ids(tree.preorder()) == ["root_domain", "a", "a1", "a1x", "a2", "b", "c", "c1"]
    assert ids(tree.subtree("a")) == ["a", "a1", "a1x", "a2"]
    assert ids(tree.subtree("b")) == ["b"]
    assert ids(tree.subtree(tree.root_id)) == ids(tree.preorder())


def test_level_order(tree: DomainTree) -> None:
    order = ids(tree.level_order())
    assert order == ["root_domain", "a", "b", "c", "a1", "a2", "c1", "a1x"]
    depths = [tree.depth(i) for i in order]
    assert depths == sorted(depths)


def test_every_node_is_reachable_once(tree: DomainTree) -> None:
    pre = ids(tree.preorder())
    assert sorted(pre) == sorted(tree.nodes)
    assert sorted(ids(tree.level_order())) == sorted(pre)
    for node in tree.nodes.values():
        if node.parent is not None:
            assert node.id in tree.nodes[node.parent].children
            assert node.depth == tree.nodes[node.parent].depth + 1


# ---- pruning ----------------------------------------------------------------------------------


@pytest.fixture
def pruned(tree: DomainTree) -> DomainTree:
    tree.nodes["a"].status = NodeStatus.PRUNED
    tree.nodes["a"].status_reason = "too broad"
    tree.nodes["c1"].status = NodeStatus.PRUNED
    return tree


def test_pruned_nodes_are_hidden_by_default(pruned: DomainTree) -> None:
    assert ids(pruned.children(pruned.root_id)) == ["b", "c"]
    assert pruned.children("c") == []
    assert ids(pruned.peers("b")) == ["c"]
    # the pruned node's whole subtree goes with it
    assert ids(pruned.preorder()) == ["root_domain", "b", "c"]
    assert ids(pruned.level_order()) == ["root_domain", "b", "c"]
    assert pruned.subtree("a") == []


def test_pruned_nodes_are_shown_with_include_pruned(pruned: DomainTree) -> None:
    assert ids(pruned.children(pruned.root_id, include_pruned=True)) == ["a", "b", "c"]
    assert ids(pruned.children("c", include_pruned=True)) == ["c1"]
    assert ids(pruned.peers("b", include_pruned=True)) == ["a", "c"]
    assert ids(pruned.preorder(include_pruned=True)) == ["root_domain", "a", "a1", "a1x", "a2", "b", "c", "c1"]
    assert ids(pruned.level_order(include_pruned=True)) == ["root_domain", "a", "b", "c", "a1", "a2", "c1", "a1x"]
    assert ids(pruned.subtree("a", include_pruned=True)) == ["a", "a1", "a1x", "a2"]


def test_pruned_nodes_stay_navigable(pruned: DomainTree) -> None:
    # ancestors/path walk parent links regardless of status
    assert ids(pruned.path("a1")) == ["root_domain", "a", "a1"]
    assert pruned.node("a").status_reason == "too broad"


def test_proposed_nodes_are_not_pruned(tree: DomainTree) -> None:
    tree.nodes["b"].status = NodeStatus.PROPOSED
    assert "b" in ids(tree.children(tree.root_id))
    assert "b" in ids(tree.preorder())


# ---- counts -----------------------------------------------------------------------------------


def test_nodes_per_depth(tree: DomainTree) -> None:
    assert tree.nodes_per_depth() == {0: 1, 1: 3, 2: 3, 3: 1}
    assert list(tree.nodes_per_depth()) == [0, 1, 2, 3]


def test_examples_per_depth(tree: DomainTree) -> None:
    assert tree.examples_per_depth() == {0: 2, 1: 4, 2: 4, 3: 0}


def test_counts_with_pruning(pruned: DomainTree) -> None:
    assert pruned.nodes_per_depth() == {0: 1, 1: 2}
    assert pruned.nodes_per_depth(include_pruned=True) == {0: 1, 1: 3, 2: 3, 3: 1}
    assert pruned.examples_per_depth() == {0: 2, 1: 3}


def test_summary(tree: DomainTree) -> None:
    s = tree.summary()
    assert s == {
        "root": "Root domain",
        "nodes": 8,
        "pruned": 0,
        "max_depth": 3,
        "nodes_per_depth": {0: 1, 1: 3, 2: 3, 3: 1},
        "examples": 10,
        "examples_per_depth": {0: 2, 1: 4, 2: 4, 3: 0},
        "examples_per_node": {"root_domain": 2, "a": 1, "a1": 2, "a1x": 0, "a2": 1, "b": 3, "c": 0, "c1": 1},
    }


def test_summary_with_pruning_is_consistent(pruned: DomainTree) -> None:
    s = pruned.summary()
    assert s["pruned"] == 2
    # a pruned node's accepted descendants are not live nodes either
    assert s["nodes"] == 3
    assert s["nodes"] == sum(s["nodes_per_depth"].values())
    assert s["examples"] == sum(s["examples_per_depth"].values()) == 5
    assert s["examples_per_node"] == {"root_domain": 2, "b": 3, "c": 0}


def test_summary_of_a_bare_domain() -> None:
    s = DomainTree.from_domain("Only a root").summary()
    assert s["nodes"] == 1
    assert s["max_depth"] == 0
    assert s["nodes_per_depth"] == {0: 1}
    assert s["examples"] == 0


def test_tree_round_trips_through_json(pruned: DomainTree) -> None:
    again = DomainTree.model_validate_json(pruned.model_dump_json())
    assert again == pruned
    assert again.summary() == pruned.summary()


def test_example_keeps_unknown_keys() -> None:
    e = Example.model_validate({"instruction": "i", "input": "x", "output": "y", "source": "human"})
    assert e.model_dump() == {"instruction": "i", "input": "x", "output": "y", "source": "human"}
    assert Example(instruction="only").model_dump() == {"instruction": "only", "input": "", "output": ""}
