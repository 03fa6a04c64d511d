"""The web page's export (both tabs) is the catalogue's `export` operation: the same formats, `openai` included,
and the same include-reasoning choice; a bad format is one line naming no server path."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from types import SimpleNamespace

from explore_instruct.agent.operations.catalogue import CATALOGUE
from explore_instruct.agent.runs.limits import Limits
from explore_instruct.agent.runs.service import Runs
from explore_instruct.agent.web import panel
from explore_instruct.agent.web.panel import Panel
from explore_instruct.agent.web.workbench import Workbench
from explore_instruct.tools.dataset.runstore import ExampleRecord, RunStore
from explore_instruct.tools.tree.model import DomainTree, Example

REASONING = "The reader needs the date first, so it goes in the opening line."


def reasoning_run(root: Path) -> Path:
    """A finished run of reasoning-shaped examples (the reasoning an extra field, as the graph keeps it)."""
    store = RunStore(root / "thinking").ensure()
    tree = DomainTree.from_domain("Office writing")
    tree.root.examples = [
        Example(instruction=f"Write memo {i}.", input="", output=f"Memo {i} text.", reasoning=REASONING)
        for i in range(3)
    ]
    store.write_meta({"thread_id": "run-thinking", "input": {"domain": "Office writing"}, "context": {}})
    records = [
        ExampleRecord(id=f"root:x:{i}", node_id=tree.root_id, example=ex, depth=0, seq=i)
        for i, ex in enumerate(tree.root.examples)
    ]
    store.write_tree(tree, store.commit_examples(records, 0))
    return root / "thinking"


def panel_for(root: Path, files: Path) -> Panel:
    background = SimpleNamespace(runs=Runs(limits=Limits(output_root=str(root))))
    return Panel(background, pictures=files / "pictures", exports=files / "exports")  # type: ignore[arg-type]


def test_the_formats_are_the_operations() -> None:
    field = CATALOGUE["export"].args.model_fields["format"]
    assert set(panel.FORMATS) == set(field.annotation.__args__)  # type: ignore[union-attr]
    assert "openai" in panel.FORMATS
    assert panel.REASONING_HELP and "<think>" in panel.REASONING_HELP


def test_openai_with_and_without_the_reasoning(tmp_path: Path) -> None:
    reasoning_run(tmp_path / "root")
    bench = Workbench(panel_for(tmp_path / "root", tmp_path / "files"))
    session = str(uuid.uuid4())
    plain, said = asyncio.run(bench.export("thinking", "openai", session, False))
    assert said == "Exported thinking as openai, with the review applied."
    rows = [json.loads(line) for line in Path(plain[0]).read_text(encoding="utf-8").splitlines()]
    answers = [r["messages"][-1] for r in rows]
    assert len(rows) == 3 and all(a["role"] == "assistant" and "<think>" not in a["content"] for a in answers)

    thought, said = asyncio.run(bench.export("thinking", "openai", session, True))
    assert said.endswith("as openai with the reasoning, with the review applied.")
    rows = [json.loads(line) for line in Path(thought[0]).read_text(encoding="utf-8").splitlines()]
    assert all(REASONING in r["messages"][-1]["content"] and "<think>" in r["messages"][-1]["content"] for r in rows)
    assert not str(thought[0]).startswith(str(tmp_path / "root"))  # a copy outside the output root


def test_a_bad_format_is_one_line_without_server_paths(tmp_path: Path) -> None:
    reasoning_run(tmp_path / "root")
    bench = Workbench(panel_for(tmp_path / "root", tmp_path / "files"))
    files, said = asyncio.run(bench.export("thinking", "xml", str(uuid.uuid4())))
    assert files is None and said.startswith("Error: ") and "\n" not in said and "format" in said
    files, said = asyncio.run(bench.export("../outside", "jsonl", str(uuid.uuid4())))
    assert files is None and said.startswith("Error: ") and str(tmp_path) not in said
