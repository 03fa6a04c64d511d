"""`compare` on two small dataset files (no spaCy, no embeddings): the intervals it prints stay inside each
metric's bounds, and both the table and the JSON say how they were made and which ends were clipped."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from explore_instruct.agent.cli.main import app


def dataset(path: Path, instructions: list[str]) -> Path:
    rows = [{"instruction": i, "input": "", "output": "ok"} for i in instructions]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_compare_intervals_stay_within_bounds_and_say_how(tmp_path: Path) -> None:
    unique = dataset(
        tmp_path / "a.jsonl", [f"{a} {b} {c}" for a, b, c in zip("abcdefgh", "ijklmnop", "qrstuvwx", strict=True)]
    )
    repeated = dataset(tmp_path / "b.jsonl", [f"write a {w} today" for w in ("poem", "poem", "note", "list") * 2])
    args = ["compare", str(unique), str(repeated), "--no-verbs", "--no-embeddings"]
    run = CliRunner().invoke(app, [*args, "--json"])
    assert run.exit_code == 0, run.output
    result = json.loads(run.stdout)
    low, high = result["a"]["intervals"]["distinct_2"]
    assert result["a"]["report"]["overall"]["distinct_2"] == 1.0 and low < high == 1.0  # not 1.036
    assert result["a"]["clipped"] == {"distinct_2": "high"} and result["b"]["clipped"] == {}
    assert "clipped" in result["interval_method"]
    text = CliRunner().invoke(app, args).stdout
    assert "1.96" in text and "A: distinct-2 (high end)" in " ".join(text.split())
