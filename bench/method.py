"""How the method fares on the embedded model: does the tree grow, and what do the name rules drop?

    .venv/bin/python bench/method.py [--out DIR] [--depth 2] [--breadth 3,2] [--examples 4] [--only rewriting,...]

Runs the CLI's `run` (the default model, local:smollm2, so the compact prompt profile) on each preset and on
two domains that are not presets, and prints per run: accepted tasks (the target is 10), proposals, the share of
proposals each name rule dropped (and the off-topic and similar-task checks, and `outranked`: a bare sentence's
pooled first level keeps 3 of its samples' names), examples kept, calls, wall time.
Content varies between machines (llama.cpp's sampling is not pinned by a seed across builds), so read the
figures as one draw each.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

RUNS = [
    ("rewriting", ["--preset", "rewriting"]),
    ("brainstorming", ["--preset", "brainstorming"]),
    ("math", ["--preset", "math"]),
    ("customer support replies", ["--domain", "writing replies to customer support tickets"]),
    ("recipes", ["--domain", "adapting cooking recipes for different diets"]),
]
NAME_RULES = ("placeholder_name", "name_without_letters", "repeats_target", "repeats_root", "name_too_short",
              "name_too_long", "name_cut_off", "duplicate_name", "off_topic", "outranked")  # fmt: skip


def run_one(label: str, source: list[str], out: Path, depth: int, breadth: str, examples: int) -> dict[str, object]:
    cli = str(Path(sys.executable).parent / "explore-instruct")
    args = [cli, "run", *source, "--out", str(out), "--depth", str(depth)]
    args += ["--breadth", breadth, "--examples", str(examples), "--examples-per-call", str(examples), "--json"]
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    wall = time.perf_counter() - started
    if done.returncode != 0 or not done.stdout.strip():
        raise SystemExit(f"{label}: run failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    outcome = json.loads(done.stdout)
    log = out / "dropped.jsonl"
    drops = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
    rules = Counter(d["rule"] for d in drops if d.get("what") == "subtask" or d.get("stage") == "similarity_check")
    tasks = outcome["summary"]["nodes_per_depth"]
    accepted = sum(tasks.values())
    seeded = 7 if source[0] == "--preset" else 1
    proposals = accepted - seeded + sum(rules.values())  # accepted, dropped by a rule, or pruned as similar
    return {
        "run": label,
        "tasks": accepted,
        "tasks_per_depth": tasks,
        "new_tasks": accepted - seeded,
        "proposals": proposals,
        "drop_share": {r: round(rules[r] / proposals, 3) for r in (*NAME_RULES, "similar_task") if rules[r]},
        "examples": outcome["summary"]["examples"],
        "calls": outcome["stats"]["calls"],
        "wall_s": round(wall, 1),
        "names": names(out),
    }


def names(run_dir: Path) -> list[str]:
    meta = json.loads((run_dir / "tree" / "tree_meta_info.json").read_text())
    found: list[str] = []

    def walk(node: dict[str, object], depth: int) -> None:
        if depth:
            status = f" ({node['status']})" if node.get("status") else ""
            found.append("  " * (depth - 1) + str(node.get("raw_task_name")) + status)
        for child in node.get("children", []) or []:  # type: ignore[attr-defined]
            walk(child, depth + 1)

    walk(meta, 0)
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--breadth", default="3,2")
    ap.add_argument("--examples", type=int, default=4)
    ap.add_argument("--only", default="")
    ap.add_argument("--names", action="store_true", help="print every run's task names too")
    a = ap.parse_args()
    root = a.out or Path(tempfile.mkdtemp(prefix="bench-method-"))
    chosen = [r for r in RUNS if not a.only or r[0] in a.only.split(",")]
    rows = []
    for label, source in chosen:
        row = run_one(label, source, root / label.replace(" ", "-"), a.depth, a.breadth, a.examples)
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "names"}), flush=True)
        if a.names:
            print("\n".join(row["names"]))  # type: ignore[arg-type]
    print("\n| run | tasks (new) | per depth | proposals | dropped (share of proposals) | examples | calls | wall |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        shares = ", ".join(f"{k} {v:.0%}" for k, v in r["drop_share"].items()) or "none"  # type: ignore[attr-defined]
        print(
            f"| {r['run']} | {r['tasks']} ({r['new_tasks']}) | {r['tasks_per_depth']} | {r['proposals']} | {shares} "
            f"| {r['examples']} | {r['calls']} | {r['wall_s']} s |"
        )
    print(f"\nrun directories under {root}")


if __name__ == "__main__":
    main()
