"""Shared pieces of the reliability tests: a scripted model with diverse wording, the CLI as a subprocess,
and the comparison of a finished run with an uninterrupted reference run.

`WordScript` answers like `Script` (a pure function of the prompt) but builds task names and instructions
from seeded word picks, so embedding similarity (cosine, all-MiniLM-L6-v2) keeps them apart as it keeps
apart real, different tasks; `dup_share` still repeats one fixed instruction per task for the dedup step.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explore_instruct.tools.similarity.indexes import normalise
from support.scripted import DecomposeAsk, Script, _digest

EXE = str(Path(sys.executable).parent / "explore-instruct")
DOMAIN = "Email writing for work"

WORDS = [
    "apple", "river", "mountain", "budget", "meeting", "garden", "window", "teacher", "doctor", "market",
    "winter", "summer", "castle", "forest", "engine", "planet", "rocket", "ocean", "island", "desert", "bridge",
    "tunnel", "harbor", "village", "city", "farmer", "kitchen", "bottle", "candle", "mirror", "pencil", "ladder",
    "basket", "blanket", "carpet", "pillow", "jacket", "helmet", "saddle", "anchor", "compass", "lantern",
    "hammer", "needle", "ribbon", "button", "pocket", "wallet", "ticket", "letter", "parcel", "stamp", "coffee",
    "butter", "cheese", "pepper", "onion", "carrot", "lemon", "cherry", "melon", "grape", "peach", "walnut",
    "almond", "honey", "sugar", "flour", "yeast", "salad", "soup", "noodle", "tiger", "rabbit", "turtle",
    "falcon", "dolphin", "whale", "spider", "beetle", "parrot", "monkey", "zebra", "camel", "donkey", "goose",
    "violin", "guitar", "trumpet", "piano", "drum", "poem", "novel", "story", "chapter", "theory", "method",
    "policy", "contract", "invoice", "salary", "pension", "mortgage", "loan", "insurance", "tax", "receipt",
]  # fmt: skip


def pick(seed: str, n: int) -> list[str]:
    out: list[str] = []
    i = 0
    while len(out) < n:
        word = WORDS[int(hashlib.sha256(f"{seed}:{i}".encode()).hexdigest()[:8], 16) % len(WORDS)]
        if word not in out:
            out.append(word)
        i += 1
    return out


@dataclass(frozen=True)
class WordScript(Script):
    """Names and instructions from word picks: still a pure function of the prompt."""

    def _names(self, ask: DecomposeAsk) -> list[str]:
        return [
            " ".join(pick(f"{ask.target}:{ask.existing + i}", 3)).capitalize() + " correspondence" for i in range(ask.k)
        ]

    def _subtask_example(self, name: str, j: int) -> dict[str, str]:
        return {
            "instruction": f"Describe {' '.join(pick(f'{name}:{j}', 7))} for {name}.",
            "input": "",
            "output": f"An answer for {name} ({j}).",
        }

    def _example(self, task: str, h: str, j: int) -> dict[str, str]:
        roll = int(_digest(h, str(j))[:8], 16) / 0xFFFFFFFF
        if roll < self.dup_share:
            instruction = f"Give a general overview of {task} for a beginner."
        else:
            instruction = f"Explain how {' '.join(pick(f'{h}:{j}', 6))} matter in {task}."
        return {"instruction": instruction, "input": "", "output": f"A helpful answer about {task} ({h[:6]}-{j})."}


# ---- the CLI as a subprocess -------------------------------------------------------------------------


def cli_env(**extra: str) -> dict[str, str]:
    """The caller's environment without EXPLORE_INSTRUCT_* settings, a dummy key, no proxy for 127.0.0.1."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPLORE_INSTRUCT_")}
    env.update(
        OPENAI_API_KEY="sk-dummy-for-tests",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        HF_HUB_OFFLINE="1",
    )
    env.pop("OPENAI_BASE_URL", None)
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- reading and comparing runs ------------------------------------------------------------------------


def read_examples(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "examples.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def tree_meta(run_dir: Path) -> Any:
    return json.loads((run_dir / "tree" / "tree_meta_info.json").read_text(encoding="utf-8"))


def tree_rows(meta: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(id, name, status) of every task in tree_meta_info.json, in preorder."""
    rows = [(meta["task_name"], meta["raw_task_name"], meta.get("status", "accepted"))]
    for child in meta.get("children", []):
        rows.extend(tree_rows(child))
    return rows


def kept_set(records: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    return {(r["node_id"], r["instruction"], r["input"], r["output"]) for r in records}


def assert_same_run(run_dir: Path, reference: Path) -> dict[str, int]:
    """The run ended like the reference: the same tree, the same kept examples, no duplicate, nothing lost."""
    mine_tree, ref_tree = tree_meta(run_dir), tree_meta(reference)
    assert tree_rows(mine_tree) == tree_rows(ref_tree)
    assert mine_tree == ref_tree
    mine, theirs = read_examples(run_dir), read_examples(reference)
    dup_ids = [i for i, c in Counter(r["id"] for r in mine).items() if c > 1]
    dup_instructions = [i for i, c in Counter(normalise(r["instruction"]) for r in mine).items() if c > 1]
    assert dup_ids == [] and dup_instructions == []
    lost = kept_set(theirs) - kept_set(mine)
    extra = kept_set(mine) - kept_set(theirs)
    assert not lost and not extra, {"lost": sorted(lost)[:5], "extra": sorted(extra)[:5]}
    assert len(mine) == len(theirs)
    assert [r["id"] for r in mine] == [r["id"] for r in theirs]  # same order and sequence numbers too
    return {"tasks": len(tree_rows(mine_tree)), "examples": len(mine)}


def accepted_ids(run_dir: Path) -> set[str]:
    return {i for i, _, status in tree_rows(tree_meta(run_dir)) if status == "accepted"}
