"""Seed inputs: a sentence, a YAML/JSON seed tree, an Explore-Instruct directory, and the EI writer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from explore_instruct.agent.cli.main import app
from explore_instruct.tools.tree import seed_io, seeds
from explore_instruct.tools.tree.ei_dir import load_ei_dir, write_ei_dir
from explore_instruct.tools.tree.model import DomainTree, NodeStatus
from explore_instruct.tools.tree.seed_io import META_FILENAME, SeedError
from explore_instruct.tools.tree.seeds import load_seed, load_seed_file

FIXTURES = Path(__file__).parents[2] / "fixtures"
EI_DEMO = FIXTURES / "ei_demo"
SEED_YAML = FIXTURES / "seed_tree.yaml"


def read_json_files(directory: Path) -> dict[str, Any]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.json"))}


def structure(tree: DomainTree) -> list[tuple[str, str, int, str | None, list[str], int]]:
    return [(n.id, n.name, n.depth, n.parent, n.children, len(n.examples)) for n in tree.preorder(include_pruned=True)]


# ---- sentences ----------------------------------------------------------------------------------


def test_sentence_becomes_a_root_only_tree() -> None:
    tree = load_seed("Assistance for text editing")
    assert tree.root_id == "assistance_for_text_editing"
    assert tree.root.name == "Assistance for text editing"
    assert list(tree.nodes) == [tree.root_id]
    assert tree.nodes_per_depth() == {0: 1}


def test_sentence_whitespace_is_normalised() -> None:
    tree = load_seed("  Legal   contract\tdrafting \n and review ")
    assert tree.root.name == "Legal contract drafting and review"


def test_sentence_with_a_slash_is_still_a_sentence() -> None:
    tree = load_seed("Writing and/or editing text")
    assert tree.root.name == "Writing and/or editing text"


def test_single_word_sentence() -> None:
    assert load_seed("Mathematics").root_id == "mathematics"


# ---- seed tree files ----------------------------------------------------------------------------


def test_yaml_seed_tree() -> None:
    tree = load_seed(str(SEED_YAML))
    assert structure(tree) == [
        (
            "assistance_for_text_editing",
            "Assistance for text editing",
            0,
            None,
            ["paraphrasing", "grammar_correction", "text_simplification"],
            1,
        ),
        ("paraphrasing", "Paraphrasing", 1, "assistance_for_text_editing", ["formal_paraphrasing"], 2),
        ("formal_paraphrasing", "Formal paraphrasing", 2, "paraphrasing", [], 0),
        ("grammar_correction", "Grammar correction", 1, "assistance_for_text_editing", [], 1),
        ("text_simplification", "Text simplification", 1, "assistance_for_text_editing", [], 0),
    ]
    assert tree.root.reason == "Help people improve the texts they write."
    para = tree.nodes["paraphrasing"]
    assert para.examples[0].input == "The meeting has been postponed until next week."
    # input/output default to "" when left out
    assert para.examples[1].input == ""
    assert para.examples[1].output == "Many thanks; I appreciate it; thanks a lot."
    assert tree.nodes_per_depth() == {0: 1, 1: 3, 2: 1}
    assert tree.examples_per_depth() == {0: 1, 1: 3, 2: 0}


def test_json_seed_equals_yaml_seed(tmp_path: Path) -> None:
    data = yaml.safe_load(SEED_YAML.read_text(encoding="utf-8"))
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert load_seed(str(path)) == load_seed(str(SEED_YAML))
    assert load_seed(path) == load_seed_file(SEED_YAML)


def test_yml_extension_and_pathlike(tmp_path: Path) -> None:
    path = tmp_path / "seed.yml"
    shutil.copy(SEED_YAML, path)
    assert load_seed(path).nodes_per_depth() == {0: 1, 1: 3, 2: 1}


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfname: Domaine fran\xc3\xa7ais\n")
    assert load_seed(path).root.name == "Domaine français"


# ---- Explore-Instruct directories ---------------------------------------------------------------


def test_ei_dir() -> None:
    tree = load_seed(str(EI_DEMO))
    assert structure(tree) == [
        (
            "assistance_for_text_editting",
            "Assistance for text editting",
            0,
            None,
            ["paraphrasing", "grammar_correction", "text_simplification"],
            2,
        ),
        ("paraphrasing", "Paraphrasing", 1, "assistance_for_text_editting", ["formal_paraphrasing"], 4),
        ("formal_paraphrasing", "Formal paraphrasing", 2, "paraphrasing", [], 3),
        ("grammar_correction", "Grammar correction", 1, "assistance_for_text_editting", [], 4),
        ("text_simplification", "Text simplification", 1, "assistance_for_text_editting", [], 3),
    ]
    assert tree.nodes_per_depth() == {0: 1, 1: 3, 2: 1}
    assert tree.examples_per_depth() == {0: 2, 1: 11, 2: 3}
    para = tree.nodes["paraphrasing"]
    # duplicates and the reference's <noinput> marker are kept as they are
    assert para.examples[0] == para.examples[1]
    assert para.examples[3].input == "<noinput>"
    assert para.reason.startswith("Rewording text")
    assert para.extra["file_extra"] == {"source": "human"}


def test_ei_round_trip_is_lossless(tmp_path: Path) -> None:
    original = read_json_files(EI_DEMO)
    assert original["paraphrasing.json"]["source"] == "human"  # the fixture carries an unknown key

    tree = load_ei_dir(EI_DEMO)
    out = tmp_path / "out"
    written = write_ei_dir(tree, out)

    assert sorted(p.name for p in written) == sorted(original)
    assert all(p.parent == out for p in written)
    assert written[-1].name == META_FILENAME
    copied = read_json_files(out)
    assert copied.keys() == original.keys()
    for name in original:
        assert copied[name] == original[name], name
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]

    again = load_ei_dir(out)
    assert again == tree
    assert again.summary() == tree.summary()


def test_ei_write_twice_overwrites(tmp_path: Path) -> None:
    tree = load_ei_dir(EI_DEMO)
    write_ei_dir(tree, tmp_path)
    tree.nodes["grammar_correction"].examples.pop()
    write_ei_dir(tree, tmp_path)
    assert len(json.loads((tmp_path / "grammar_correction.json").read_text())["examples"]) == 3


def test_seed_yaml_exports_to_ei_and_back(tmp_path: Path) -> None:
    tree = load_seed(SEED_YAML)
    write_ei_dir(tree, tmp_path / "ei")
    meta = json.loads((tmp_path / "ei" / META_FILENAME).read_text())
    assert meta["task_name"] == "assistance_for_text_editing"
    assert [c["task_name"] for c in meta["children"]] == ["paraphrasing", "grammar_correction", "text_simplification"]
    assert "children" not in meta["children"][1]
    node = json.loads((tmp_path / "ei" / "paraphrasing.json").read_text())
    assert set(node) == {"task_name", "raw_task_name", "reason", "examples", "config_filename"}
    assert node["config_filename"] == "paraphrasing.json"
    assert structure(load_ei_dir(tmp_path / "ei")) == structure(tree)


def test_ei_round_trip_keeps_pruned_status(tmp_path: Path) -> None:
    tree = load_ei_dir(EI_DEMO)
    tree.nodes["paraphrasing"].status = NodeStatus.PRUNED
    tree.nodes["paraphrasing"].status_reason = "too broad"
    write_ei_dir(tree, tmp_path)
    again = load_ei_dir(tmp_path)
    assert again.nodes["paraphrasing"].status == NodeStatus.PRUNED
    assert again.nodes["paraphrasing"].status_reason == "too broad"
    assert again.summary() == tree.summary()
    assert again.summary()["pruned"] == 1
    # and writing it again changes nothing
    second = tmp_path / "second"
    write_ei_dir(again, second)
    assert read_json_files(second) == read_json_files(tmp_path)


def test_ei_write_without_pruned(tmp_path: Path) -> None:
    tree = load_ei_dir(EI_DEMO)
    tree.nodes["paraphrasing"].status = NodeStatus.PRUNED
    write_ei_dir(tree, tmp_path, include_pruned=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "assistance_for_text_editting.json",
        "grammar_correction.json",
        "text_simplification.json",
        META_FILENAME,
    ]
    assert load_ei_dir(tmp_path).nodes_per_depth() == {0: 1, 1: 2}


def test_ei_node_file_may_be_missing(tmp_path: Path) -> None:
    shutil.copytree(EI_DEMO, tmp_path / "ei")
    meta = json.loads((tmp_path / "ei" / META_FILENAME).read_text())
    del meta["children"][2]["config_filename"]
    (tmp_path / "ei" / META_FILENAME).write_text(json.dumps(meta))
    (tmp_path / "ei" / "text_simplification.json").unlink()
    tree = load_ei_dir(tmp_path / "ei")
    assert tree.nodes["text_simplification"].examples == []
    assert tree.nodes["text_simplification"].name == "Text simplification"


# ---- bad inputs -------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def seed_error(source: str | Path) -> str:
    with pytest.raises(SeedError) as info:
        load_seed(str(source))
    message = str(info.value)
    assert "\n" not in message
    assert message.strip() == message and message
    return message


BAD_SEED_FILES: list[tuple[str, str | bytes, list[str]]] = [
    ("missing_name.yaml", "reason: no name here\n", ["name", "required"]),
    ("name_int.yaml", "name: 5\n", ["name", "string"]),
    ("children_str.yaml", "name: Domain\nchildren: x\n", ["children", "list"]),
    ("typo.yaml", "name: Domain\nexampels: []\n", ["exampels", "not permitted"]),
    (
        "nested_typo.yaml",
        "name: Domain\nchildren:\n  - name: Kid\n    resaon: typo\n",
        ["children.0.resaon"],
    ),
    ("bad_example.yaml", "name: Domain\nexamples:\n  - input: no instruction\n", ["examples.0.instruction"]),
    ("multiline_name.yaml", 'name: "two\\nlines"\n', ["name", "single line"]),
    ("empty.yaml", "", ["empty"]),
    ("blank.yaml", "  \n\t\n   \n", ["empty"]),
    ("latin1.yaml", b"name: caf\xe9\n", ["UTF-8"]),
    ("invalid.yaml", "name: [unclosed\nchildren: {\n", ["cannot parse"]),
    ("invalid.json", '{"name": "x",}', ["cannot parse"]),
    ("cycle.yaml", "&a {name: x, children: [*a]}\n", ["references itself"]),
    (
        "dup.yaml",
        "name: Domain\nchildren:\n  - name: Paraphrasing\n  - name: paraphrasing\n",
        ["children.1.name", "duplicate", "paraphrasing"],
    ),
    ("list.yaml", "- name: a\n- name: b\n", ["top level", "mapping", "list"]),
    ("list.json", '[{"name": "a"}]', ["top level", "list"]),
    ("scalar.yaml", "just words\n", ["top level", "str"]),
    ("deep.json", "[" * 5_000 + "]" * 5_000, ["cannot parse", "too deep"]),
    ("deep.yaml", "a: " + "[" * 800 + "]" * 800, ["cannot parse", "too deep"]),
]


@pytest.mark.parametrize(("name", "content", "needles"), BAD_SEED_FILES, ids=[b[0] for b in BAD_SEED_FILES])
def test_bad_seed_file(tmp_path: Path, name: str, content: str | bytes, needles: list[str]) -> None:
    path = write(tmp_path, name, content)
    message = seed_error(path)
    assert message.startswith(str(path))
    for needle in needles:
        assert needle in message
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing written


def test_seed_file_over_the_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "big.yaml", "name: Domain\nreason: " + "x" * 200 + "\n")
    assert load_seed(path).root.name == "Domain"
    monkeypatch.setattr(seed_io, "MAX_SEED_BYTES", 100)  # every seed reader reads files through seed_io
    message = seed_error(path)
    assert str(path) in message
    assert "100-byte limit" in message


def test_wrong_extension(tmp_path: Path) -> None:
    path = write(tmp_path, "seed.txt", "name: Domain\n")
    message = seed_error(f"{path}")
    assert ".yaml" in message and str(path) in message


def test_nonexistent_path() -> None:
    message = seed_error("./nope.yaml")
    assert message == "./nope.yaml: no such file or directory"
    assert "no such file" in seed_error("does/not/exist")


@pytest.mark.parametrize("source", ["", "   ", "\n\t"])
def test_empty_sentence(source: str) -> None:
    assert "empty" in seed_error(source)


def test_over_long_sentence() -> None:
    ok = "word " * (seeds.MAX_DOMAIN_CHARS // 5)
    assert len(load_seed(ok).root.name) <= seeds.MAX_DOMAIN_CHARS
    message = seed_error("a" * (seeds.MAX_DOMAIN_CHARS + 1))
    assert str(seeds.MAX_DOMAIN_CHARS) in message
    assert message.startswith("domain:")


def test_seed_errors_are_value_errors() -> None:
    assert issubclass(SeedError, ValueError)


# ---- bad Explore-Instruct directories ----------------------------------------------------------


@pytest.fixture
def ei_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(EI_DEMO, tmp_path / "ei"))


def edit_meta(directory: Path, edit: Any) -> None:
    path = directory / META_FILENAME
    meta = json.loads(path.read_text())
    edit(meta)
    path.write_text(json.dumps(meta))


def test_ei_dir_without_meta(ei_copy: Path) -> None:
    (ei_copy / META_FILENAME).unlink()
    message = seed_error(ei_copy)
    assert str(ei_copy) in message
    assert META_FILENAME in message


def test_ei_duplicate_task_name(ei_copy: Path) -> None:
    def dup(meta: dict[str, Any]) -> None:
        meta["children"][2]["task_name"] = "grammar_correction"
        meta["children"][2]["config_filename"] = "grammar_correction.json"

    edit_meta(ei_copy, dup)
    message = seed_error(ei_copy)
    assert str(ei_copy / META_FILENAME) in message
    assert "root.children.2.task_name" in message
    assert "duplicate" in message and "grammar_correction" in message


@pytest.mark.parametrize("filename", ["../x.json", "/etc/passwd", "sub/x.json", "..", "."])
def test_ei_config_filename_path_traversal(ei_copy: Path, filename: str) -> None:
    def bad(meta: dict[str, Any]) -> None:
        meta["children"][0]["children"][0]["config_filename"] = filename

    edit_meta(ei_copy, bad)
    message = seed_error(ei_copy)
    assert str(ei_copy / META_FILENAME) in message
    assert "root.children.0.children.0.config_filename" in message
    assert "plain file name" in message


def test_ei_config_filename_that_does_not_exist(ei_copy: Path) -> None:
    edit_meta(ei_copy, lambda m: m["children"][1].update(config_filename="gone.json"))
    message = seed_error(ei_copy)
    assert "root.children.1.config_filename" in message and "gone.json" in message


def test_ei_examples_not_a_list(ei_copy: Path) -> None:
    path = ei_copy / "grammar_correction.json"
    node = json.loads(path.read_text())
    node["examples"] = {"instruction": "x"}
    path.write_text(json.dumps(node))
    message = seed_error(ei_copy)
    assert message.startswith(str(path))
    assert "examples" in message and "list" in message


def test_ei_example_without_instruction(ei_copy: Path) -> None:
    path = ei_copy / "text_simplification.json"
    node = json.loads(path.read_text())
    del node["examples"][1]["instruction"]
    path.write_text(json.dumps(node))
    message = seed_error(ei_copy)
    assert message.startswith(str(path))
    assert "examples.1.instruction" in message


def test_ei_task_name_mismatch(ei_copy: Path) -> None:
    path = ei_copy / "paraphrasing.json"
    node = json.loads(path.read_text())
    node["task_name"] = "something_else"
    path.write_text(json.dumps(node))
    message = seed_error(ei_copy)
    assert message.startswith(str(path)) and "something_else" in message


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        (META_FILENAME, "{not json", "cannot parse"),
        (META_FILENAME, "[]", "top level"),
        (META_FILENAME, '{"task_name": ""}', "task_name"),
        (META_FILENAME, "", "empty"),
        ("paraphrasing.json", "{broken", "cannot parse"),
        ("paraphrasing.json", '"a string"', "top level"),
        ("paraphrasing.json", b'{"task_name": "paraphrasing", "reason": "\xff"}', "UTF-8"),
        ("paraphrasing.json", "[" * 5_000 + "]" * 5_000, "too deep"),
    ],
)
def test_ei_broken_files(ei_copy: Path, name: str, content: str | bytes, needle: str) -> None:
    path = write(ei_copy, name, content)
    message = seed_error(ei_copy)
    assert message.startswith(str(path))
    assert needle in message


# ---- bad input writes nothing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [("typo.yaml", "name: Domain\nexampels: []\n"), ("cycle.yaml", "&a {name: x, children: [*a]}\n")],
)
def test_cli_export_with_a_bad_seed_writes_nothing(tmp_path: Path, name: str, content: str) -> None:
    seed = write(tmp_path, name, content)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["tree", str(seed), "--export-ei", str(out)])
    assert result.exit_code == 2
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_cli_export_with_a_bad_ei_dir_writes_nothing(ei_copy: Path, tmp_path: Path) -> None:
    edit_meta(ei_copy, lambda m: m["children"][0].update(config_filename="../x.json"))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["tree", str(ei_copy), "--export-ei", str(out)])
    assert result.exit_code == 2
    assert not out.exists()
    assert not (tmp_path / "x.json").exists()
