"""The `tree` command: validate a seed, summarise it, export it as an Explore-Instruct directory."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from explore_instruct.agent.cli.main import EXIT_BAD_INPUT, app
from explore_instruct.tools.similarity.rouge import reference_greedy_rouge
from explore_instruct.tools.tree.ei_dir import load_ei_dir
from explore_instruct.tools.tree.seed_io import META_FILENAME
from explore_instruct.tools.tree.seeds import load_seed

FIXTURES = Path(__file__).parents[2] / "fixtures"
EI_DEMO = FIXTURES / "ei_demo"
SEED_YAML = FIXTURES / "seed_tree.yaml"
CONSOLE_SCRIPT = "from explore_instruct.agent.cli.main import main; main()"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, ["tree", *args])


def json_out(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stderr == ""
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def assert_one_line_error(result: Result, *needles: str) -> str:
    assert result.exit_code == EXIT_BAD_INPUT, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an escaped exception
    assert result.stdout == ""
    message = result.stderr.strip()
    assert message.startswith("error: ")
    assert "\n" not in message
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in message
    return message


# ---- summaries --------------------------------------------------------------------------------


def test_sentence_json() -> None:
    data = json_out(invoke("Assistance for text editing", "--json"))
    assert data["root"] == "Assistance for text editing"
    assert data["nodes_per_depth"] == {"0": 1}
    assert data["nodes"] == 1
    assert data["examples"] == 0
    assert data["examples_per_node"] == {"assistance_for_text_editing": 0}
    assert "written" not in data


def test_ei_dir_json() -> None:
    data = json_out(invoke(str(EI_DEMO), "--json"))
    assert data == {
        "root": "Assistance for text editting",
        "nodes": 5,
        "pruned": 0,
        "max_depth": 2,
        "nodes_per_depth": {"0": 1, "1": 3, "2": 1},
        "examples": 16,
        "examples_per_depth": {"0": 2, "1": 11, "2": 3},
        "examples_per_node": {
            "assistance_for_text_editting": 2,
            "paraphrasing": 4,
            "formal_paraphrasing": 3,
            "grammar_correction": 4,
            "text_simplification": 3,
        },
    }


def test_seed_yaml_json() -> None:
    data = json_out(invoke(str(SEED_YAML), "--json"))
    assert data["nodes_per_depth"] == {"0": 1, "1": 3, "2": 1}
    assert data["examples"] == 4


def test_table_output() -> None:
    result = invoke(str(EI_DEMO))
    assert result.exit_code == 0, result.output
    assert "Domain: Assistance for text editting" in result.stdout
    for name in ("Paraphrasing", "Formal paraphrasing", "Grammar correction", "Text simplification"):
        assert name in result.stdout
    assert "nodes per depth: {0: 1, 1: 3, 2: 1}" in result.stdout
    assert "examples: 16" in result.stdout


def test_table_output_shows_names_with_brackets_verbatim(tmp_path: Path) -> None:
    seed = tmp_path / "brackets.yaml"
    seed.write_text('name: "Tagging [/b] and [bold]markup[/bold]"\nchildren:\n  - name: "[INST] prompts [/INST]"\n')
    result = invoke(str(seed))
    assert result.exit_code == 0, (result.output, result.exception)
    assert "Tagging [/b] and [bold]markup[/bold]" in result.stdout
    assert "[INST] prompts [/INST]" in result.stdout


# ---- export -----------------------------------------------------------------------------------


def test_export_ei_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "export"
    data = json_out(invoke(str(EI_DEMO), "--export-ei", str(out), "--json"))
    written = sorted(Path(p).name for p in data["written"])
    assert written == sorted(p.name for p in EI_DEMO.glob("*.json"))
    assert all(Path(p).parent == out for p in data["written"])
    assert load_ei_dir(out) == load_ei_dir(EI_DEMO)
    for original in EI_DEMO.glob("*.json"):
        assert json.loads((out / original.name).read_text()) == json.loads(original.read_text()), original.name


def test_export_ei_from_yaml_then_summarise_the_export(tmp_path: Path) -> None:
    out = tmp_path / "nested" / "dir"
    result = invoke(str(SEED_YAML), "--export-ei", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote 6 files to {out}" in result.stdout.replace("\n", "")
    assert (out / META_FILENAME).is_file()
    again = json_out(invoke(str(out), "--json"))
    first = json_out(invoke(str(SEED_YAML), "--json"))
    assert again == first
    reloaded = load_seed(out)
    original = load_seed(SEED_YAML)
    assert [(n.id, n.name, n.parent, n.examples) for n in reloaded.preorder()] == [
        (n.id, n.name, n.parent, n.examples) for n in original.preorder()
    ]


# ---- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "needles"),
    [
        ("typo.yaml", "name: Domain\nexampels: []\n", ["typo.yaml", "exampels"]),
        ("noname.yaml", "reason: x\n", ["noname.yaml", "name"]),
        ("cycle.yaml", "&a {name: x, children: [*a]}\n", ["cycle.yaml", "references itself"]),
        ("bad.json", "{", ["bad.json", "cannot parse"]),
        ("empty.yaml", "", ["empty.yaml", "empty"]),
        ("dup.yaml", 'name: "[/b] x"\nchildren: [{name: "[/b] X"}]\n', ["dup.yaml", "duplicate", "'[/b] X'"]),
    ],
)
def test_bad_seed_is_a_one_line_error(tmp_path: Path, name: str, content: str, needles: list[str]) -> None:
    seed = tmp_path / name
    seed.write_text(content)
    out = tmp_path / "out"
    assert_one_line_error(invoke(str(seed), "--export-ei", str(out), "--json"), *needles)
    assert not out.exists()


def test_missing_seed_path() -> None:
    message = assert_one_line_error(invoke("./nope.yaml"))
    assert message == "error: ./nope.yaml: no such file or directory"


def test_error_text_with_markup_characters_is_printed_verbatim() -> None:
    message = assert_one_line_error(invoke("./[/x]-[bold]y.yaml"))
    assert message == "error: ./[/x]-[bold]y.yaml: no such file or directory"


def test_over_long_sentence() -> None:
    assert_one_line_error(invoke("word " * 200), "domain:", "500")


def test_bad_ei_dir(tmp_path: Path) -> None:
    (tmp_path / "ei").mkdir()
    assert_one_line_error(invoke(str(tmp_path / "ei")), META_FILENAME)


def test_debug_flag_shows_the_exception(tmp_path: Path) -> None:
    seed = tmp_path / "typo.yaml"
    seed.write_text("name: Domain\nexampels: []\n")
    result = CliRunner().invoke(app, ["--debug", "tree", str(seed)])
    assert result.exit_code != 0
    assert type(result.exception).__name__ == "SeedError"
    # and the flag does not stick to the next run
    assert_one_line_error(invoke(str(seed)), "exampels")


def test_console_script_bad_seed_has_no_traceback(tmp_path: Path) -> None:
    seed = tmp_path / "typo.yaml"
    seed.write_text("name: Domain\nchildren: x\n")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-c", CONSOLE_SCRIPT, "tree", str(seed), "--export-ei", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == EXIT_BAD_INPUT
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and "typo.yaml" in lines[0] and "children" in lines[0]
    assert "Traceback" not in proc.stderr
    assert not out.exists()


# ---- filter, prune, drops (similarity on trees that exist) ----------------------------------------------


def near_duplicate_tree(tmp_path: Path) -> Path:
    """The demo tree with a near-copy of one instruction and an unrelated one added to a task."""
    tree = tmp_path / "tree"
    shutil.copytree(EI_DEMO, tree)
    node = tree / "paraphrasing.json"
    data = json.loads(node.read_text(encoding="utf-8"))
    first = data["examples"][0]
    data["examples"] += [
        dict(first, instruction=first["instruction"] + " please"),
        dict(first, instruction="Describe how to cook pasta at home for four people"),
    ]
    node.write_text(json.dumps(data), encoding="utf-8")
    return tree


def test_filter_keeps_what_the_reference_greedy_keeps_and_writes_the_same_layout(tmp_path: Path) -> None:
    tree = near_duplicate_tree(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["filter", str(tree), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    before, after = load_ei_dir(tree), load_ei_dir(out)
    kept = 0
    for node_id, node in before.nodes.items():
        keep = reference_greedy_rouge([e.instruction for e in node.examples], 0.7)
        assert [e.instruction for e, k in zip(node.examples, keep, strict=True) if k] == [
            e.instruction for e in after.nodes[node_id].examples
        ]
        kept += sum(keep)
    assert (report["examples_before"], report["examples_after"], report["mode"]) == (18, kept, "rouge")
    assert any(d["instruction"].endswith(" please") for d in report["dropped"])
    again = CliRunner().invoke(app, ["filter", str(tree), "--out", str(out)])
    assert again.exit_code == EXIT_BAD_INPUT and "not empty" in again.stderr


def test_filter_output_is_the_same_with_the_light_rouge_import(tmp_path: Path) -> None:
    """The CLI imports rouge-score with nltk's optional scipy/scikit-learn/pandas hidden (start-up); the plain
    import must give the same files."""
    tree = near_duplicate_tree(tmp_path)
    script = "import sys; {pre}from explore_instruct.agent.cli.main import main; sys.argv[1:] = {args!r}; main()"
    outputs = {}
    for way, pre in (("light", ""), ("plain", "import rouge_score.rouge_scorer; ")):
        out = tmp_path / way
        args = ["filter", str(tree), "--out", str(out), "--mode", "rouge", "--scope", "node"]
        code = script.format(pre=pre, args=args)
        if way == "light":  # and it really is lighter
            code += "\nassert 'sklearn' not in sys.modules and 'scipy.stats' not in sys.modules, 'loaded'"
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        outputs[way] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert outputs["light"] == outputs["plain"] and len(outputs["light"]) == 6


def test_prune_lists_near_duplicate_task_names(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(EI_DEMO, tree)
    meta = json.loads((tree / META_FILENAME).read_text(encoding="utf-8"))
    twin = dict(meta["children"][0], task_name="paraphrasing_2", config_filename="paraphrasing_2.json", children=[])
    twin["raw_task_name"] = meta["children"][0]["raw_task_name"].lower()  # ROUGE-L 1.0
    meta["children"].append(twin)
    (tree / META_FILENAME).write_text(json.dumps(meta), encoding="utf-8")
    node = json.loads((tree / meta["children"][0]["config_filename"]).read_text(encoding="utf-8"))
    node.update(
        task_name=twin["task_name"], raw_task_name=twin["raw_task_name"], config_filename=twin["config_filename"]
    )
    (tree / "paraphrasing_2.json").write_text(json.dumps(node), encoding="utf-8")
    result = CliRunner().invoke(app, ["prune", str(tree), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["name"], r["nearest"]) for r in rows] == [(twin["raw_task_name"], meta["children"][0]["raw_task_name"])]


def test_drops_needs_a_run_directory(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["drops", str(tmp_path)])
    assert result.exit_code == EXIT_BAD_INPUT and result.stderr.strip() == f"error: {tmp_path}: not a run directory"
