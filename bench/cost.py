"""Cost per kept example: our enrichment against a simulation of the reference's design, on one mock model.

    .venv/bin/python bench/cost.py [--examples 60] [--per-call 5] [--short-share 0.3] [--pool 2.0]

The mock (`IdeaModel`, behind the scripted OpenAI-compatible server of tests/support) stands for a model at T=1:
- each task has a finite pool of distinct ideas (`--pool` times its quota); an example is one idea, and drawing
  an idea a second time gives a near-copy of its instruction (one word changed: ROUGE-L above 0.7);
- a reply draws distinct ideas, at random, never one whose instruction the prompt shows (demonstrations, or
  anything else the prompt lists), as a model told what exists avoids repeating it;
- a reply holds as many examples as asked when the request's JSON schema pins the count (minItems = maxItems,
  which constrained decoding enforces); otherwise it is short by 1..n/3 with probability `--short-share`;
- examples are of real length (instruction ~90, output ~600 characters); tokens are ~4 characters.

Ours: a real run (depth 2, breadth 4,3, ROUGE-L 0.7 per node) through the graph, the openai client and the server.
The reference's design on the same tree (fanqiwan/Explore-Instruct as docs/explore-instruct-spec.md, sections
1-4, describes it; its prompt text is not copied here): per task, one long prompt (our own requirement text of
about the reference's length, 2 demonstrations from the parent, the parent's children and siblings listed),
10 examples asked per call, calls until it has the quota, then the post-hoc greedy ROUGE-L 0.7 filter per task.
Printed: calls, prompt + completion tokens, per kept example, for enrichment (and ours with decomposition too),
plus two more runs of ours in the same process: "before" (the schema as it was: at most n examples, not exactly
n) and a simulated graph change (each enrich prompt also lists the task's last `--list-kept` kept instructions;
not in the code: plan_enrich would have to pass them).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import os
import random
import re
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.openai_server import ScriptedOpenAIServer
from support.reliability import pick
from support.scripted import parse_decompose, parse_generate

from explore_instruct.agent.runs.runner import Runner
from explore_instruct.graphs.context import Context
from explore_instruct.tools.prompts.full import _COMMON_RULES
from explore_instruct.tools.similarity.rouge import reference_greedy_rouge
from explore_instruct.tools.tree.ei_dir import load_ei_dir

DOMAIN = "Email writing for work"
VOCAB = [f"{a}{b}{c}" for a in "bcdfglmnprstvz" for b in "aeiou" for c in "klmnrst"]  # 490 plain words
_SHOWN = re.compile(r"Instruction: (.+)")
_REF_TASK = re.compile(r"^New subtask: (.+)$", re.M)
_REF_N = re.compile(r"List (\d+) examples")


class IdeaModel:
    """The mock model's behaviour (see the module docstring); thread-safe, seeded."""

    def __init__(self, quota: int, pool: float, short_share: float, seed: int = 0) -> None:
        self.size = max(4, round(quota * pool))
        self.short_share = short_share
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.count = itertools.count()
        self.idea_of: dict[str, tuple[str, int]] = {}  # every instruction written -> its task and idea
        self.asked: dict[str, int] = {"ours": 0, "reference": 0}
        self.returned: dict[str, int] = {"ours": 0, "reference": 0}

    def instruction(self, task: str, idea: int, variant: int = 0) -> str:
        h = int(hashlib.sha256(f"{task}:{idea}".encode()).hexdigest(), 16)
        words = [VOCAB[(h >> (9 * i)) % len(VOCAB)] for i in range(10)]
        if variant:
            words[variant % 10] = VOCAB[(h + variant) % len(VOCAB)]
        return f"For {task}, {' '.join(words)}?"

    def example(self, task: str, idea: int, variant: int) -> dict[str, str]:
        body = " ".join(VOCAB[(idea * 7 + i) % len(VOCAB)] for i in range(100))
        return {"instruction": self.instruction(task, idea, variant), "input": "", "output": body}

    def draw(self, task: str, n: int, prompt: str, pinned: bool, kind: str = "") -> list[dict[str, str]]:
        with self.lock:
            shown = {self.idea_of.get(s.strip()) for s in _SHOWN.findall(prompt)}
            if kind:
                self.asked[kind] += n
            ideas = [i for i in range(self.size) if (task, i) not in shown]
            if not pinned and self.rng.random() < self.short_share:
                n = max(1, n - self.rng.randint(1, max(1, n // 3)))
            picked = self.rng.sample(ideas, min(n, len(ideas)))
            if kind:
                self.returned[kind] += len(picked)
            rows = [self.example(task, i, next(self.count) + 1) for i in picked]
            self.idea_of.update({r["instruction"]: (task, i) for r, i in zip(rows, picked, strict=True)})
            return rows

    def names(self, target: str, existing: int, k: int) -> list[str]:
        """Distinct subtask names (three picked words each), far apart under ROUGE-L so none is pruned."""
        return [" ".join(pick(f"{target}:{existing + i}", 3)).capitalize() + " letters" for i in range(k)]

    def responder(self, request: dict[str, Any]) -> dict[str, Any]:
        prompt = "\n".join(str(m.get("content", "")) for m in request.get("messages", []))
        schema = ((request.get("response_format") or {}).get("json_schema") or {}).get("schema", {})
        ask = parse_decompose(prompt)
        if ask is not None:
            subs = [{"name": name, "reason": f"A common part of {ask.target}.",
                     "examples": self.draw(name, ask.examples_per_subtask, prompt, True)}
                    for name in self.names(ask.target, ask.existing, ask.k)]  # fmt: skip
            return {"content": json.dumps({"subtasks": subs})}
        gen = parse_generate(prompt)
        if gen is not None:
            items = schema.get("properties", {}).get("examples", {})
            pinned = items.get("minItems") == items.get("maxItems") == gen.n
            return {"content": json.dumps({"examples": self.draw(gen.task, gen.n, prompt, pinned, "ours")})}
        task, n = _REF_TASK.search(prompt), _REF_N.search(prompt)
        if task and n:  # the reference's free-text format
            rows = self.draw(task[1].strip(), int(n[1]), prompt, False, "reference")
            text = "\n".join(f"{i}. Instruction: {e['instruction']}\nInput: <noinput>\nOutput: {e['output']}\n###"
                             for i, e in enumerate(rows, 1))  # fmt: skip
            return {"content": text}
        return {"status": 400, "body": {"error": {"message": "IdeaModel: unknown prompt", "type": "mock"}}}


# ---- ours -------------------------------------------------------------------------------------------------


def totals(rows: list[dict[str, Any]]) -> tuple[int, int]:
    return len(rows), sum(int(r.get("input_tokens", 0)) + int(r.get("output_tokens", 0)) for r in rows)


def show_kept(run_dir: Path, last: int) -> Any:
    """A stand-in for a graph change (not in the code): every full-profile enrich prompt also lists the last `last`
    instructions the task has kept, read here from examples.jsonl, as plan_enrich could pass them from the state."""
    from explore_instruct.tools.generation import generate as gen

    plain = gen.generate_prompt

    def prompt(**kw: Any) -> str:
        path = run_dir / "examples.jsonl"
        rows = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
        mine = [r["instruction"] for r in rows if r["instruction"].startswith(f"For {kw['task']},")][-last:]
        listed = "\n".join(f"- Instruction: {i}" for i in mine)
        return plain(**kw) + (f"\n\nAlready written for this task (do not repeat any):\n{listed}" if mine else "")

    gen.generate_prompt = prompt  # type: ignore[assignment]
    return plain


def loose_count() -> Any:
    """Before the reduction: the full profile's schema said "at most n" (maxItems only)."""
    from explore_instruct.tools.generation import generate as gen

    strict = gen.batch_schema

    def schema(n: int, exact: bool = False) -> Any:
        return strict(n, False)

    gen.batch_schema = schema  # type: ignore[assignment]
    return strict


async def ours(base_url: str, run_dir: Path, a: argparse.Namespace, kept_listed: int = 0, before: bool = False
               ) -> dict[str, Any]:  # fmt: skip
    from explore_instruct.tools.generation import generate as gen

    plain = show_kept(run_dir, kept_listed) if kept_listed else None
    pinned = loose_count() if before else None
    ctx = Context(model="openai:gpt-4o-mini", base_url=base_url, run_dir=str(run_dir), max_depth=2, breadth=[4, 3],
                  subtasks_per_call=3, examples=[a.examples], examples_per_call=a.per_call, similarity="rouge",
                  dedup_scope="node", max_concurrency=16)  # fmt: skip
    try:
        assert (await Runner().start(ctx, domain=DOMAIN)).status == "done"
    finally:
        if plain is not None:
            gen.generate_prompt = plain
        if pinned is not None:
            gen.batch_schema = pinned
    log = [json.loads(x) for x in (run_dir / "query_log.jsonl").read_text().splitlines()]
    kept = [json.loads(x) for x in (run_dir / "examples.jsonl").read_text().splitlines()]
    enrich_calls, enrich_tokens = totals([r for r in log if r["purpose"] == "generate"])
    all_calls, all_tokens = totals(log)
    enriched = sum(1 for k in kept if ":r" in k["id"])
    return {"enrich": (enrich_calls, enrich_tokens, enriched), "all": (all_calls, all_tokens, len(kept))}


# ---- the reference's design, simulated on our tree --------------------------------------------------------

REFERENCE_RULES = f"""You are asked to come up with a set of new, diverse examples for a new subtask of the target
task below. The target task has several subtasks already, listed below, and the subtasks of the tasks next to it
are listed too, so that the examples of the new subtask stay apart from theirs. Each example has an instruction,
an optional input and an output. Here are the requirements:
{_COMMON_RULES}
- Try not to repeat the verb for each instruction, to maximise diversity, and do not repeat an example.
- The language used for the instruction should also be diverse: combine questions with imperative instructions.
- The type of instructions should be diverse, and each must be a realistic request a user would send.
- The examples must belong to the new subtask, not to the target task as a whole or to its other subtasks.
- Some examples need an input: a realistic, specific passage or data, never a placeholder; others need none.
- The outputs must be an appropriate, complete response to the instruction and the input.
- Number the examples, and write each as Instruction:, Input: (or <noinput>) and Output:, then ###."""


def reference_prompt(tree: Any, node: Any, demos: list[Any], n: int) -> str:
    parent = tree.node(node.parent)
    grand = tree.node(parent.parent) if parent.parent else None
    siblings = [c.name for c in tree.children(grand.id)] if grand else []
    shots = "\n".join(f"Instruction: {d.instruction}\nInput: {d.input or '<noinput>'}\nOutput: {d.output}\n###"
                      for d in demos)  # fmt: skip
    return (f"{REFERENCE_RULES}\n\nTarget task: {parent.name}\nExamples:\n{shots}\n\nExisting subtasks:\n"
            + "\n".join(f"- {c.name}" for c in tree.children(parent.id))
            + "\n\nPeer tasks:\n" + "\n".join(f"- {s}" for s in siblings)
            + f"\n\nList {n} examples of this new subtask below:"
            + f"\nNew subtask: {node.name}\nReason: {node.reason}")  # fmt: skip


def reference(base_url: str, tree_dir: Path, quota: int, seed: int = 42) -> tuple[int, int, int]:
    """Calls, tokens and kept examples of the reference's enrich loop and post-hoc filter on this tree."""
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="bench-not-a-key", max_retries=0)
    tree = load_ei_dir(tree_dir)
    rng = random.Random(seed)
    calls = tokens = kept = 0
    for node in tree.preorder():
        if node.parent is None:
            continue  # the root's examples are left out on both sides (it has no parent to draw from)
        pool = tree.node(node.parent).examples
        got: list[str] = []
        while len(got) < quota:
            demos = rng.sample(pool, min(2, len(pool)))
            reply = client.chat.completions.create(
                model="gpt-3.5-turbo", temperature=1.0,
                messages=[{"role": "user", "content": reference_prompt(tree, node, demos, 10)}])  # fmt: skip
            calls += 1
            tokens += reply.usage.total_tokens if reply.usage else 0
            got += re.findall(r"Instruction: (.+)", reply.choices[0].message.content or "")
        kept += sum(reference_greedy_rouge(got, 0.7))
    return calls, tokens, kept


def line(name: str, calls: int, tokens: int, kept: int) -> str:
    return (f"{name:<34} {calls:>6} calls {tokens:>10,} tokens {kept:>6} kept | {calls / kept:.3f} calls and "
            f"{tokens / kept:,.0f} tokens per kept example")  # fmt: skip


async def main(a: argparse.Namespace) -> None:
    os.environ.setdefault("OPENAI_API_KEY", "bench-not-a-key")
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    model = IdeaModel(a.examples, a.pool, a.short_share)
    with tempfile.TemporaryDirectory() as root, ScriptedOpenAIServer(responder=model.responder) as server:
        mine = await ours(server.base_url, Path(root) / "ours", a)
        counts = {k: (model.asked[k], model.returned[k]) for k in model.asked}
        before = await ours(server.base_url, Path(root) / "before", a, before=True)
        ref = await asyncio.to_thread(reference, server.base_url, Path(root) / "ours" / "tree", a.examples)
        listed = await ours(server.base_url, Path(root) / "listed", a, a.list_kept) if a.list_kept else None
    print(
        f"mock: ideas per task {model.size} ({a.pool}x the quota of {a.examples}); short replies "
        f"{a.short_share:.0%} unless the schema pins the count; {a.per_call} examples per call for ours"
    )
    print(line("ours before (count not pinned)", *before["enrich"]))
    print(line("ours, enrichment", *mine["enrich"]))
    print(line("ours, whole run (with decompose)", *mine["all"]))
    print(line("reference design, enrichment", *ref))
    if listed is not None:
        print(line(f"ours + last {a.list_kept} kept listed (sim.)", *listed["enrich"]))
    for kind, kept in (("ours", mine["enrich"][2]), ("reference", ref[2])):
        asked, returned = counts[kind] if kind == "ours" else (model.asked[kind], model.returned[kind])
        print(
            f"{kind:<10} enrichment: {asked} examples asked, {returned} returned ({asked - returned} short), "
            f"{returned - kept} dropped (near-duplicates, or over the quota), {kept} kept"
        )
    c, t, k = mine["enrich"]
    print(
        f"ours / reference per kept example: calls {c / k / (ref[0] / ref[2]):.2f}x, "
        f"tokens {t / k / (ref[1] / ref[2]):.2f}x (the floor: 1/{a.per_call} = {1 / a.per_call:.2f} calls)"
    )


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--examples", type=int, default=60, help="examples per task")
    p.add_argument("--per-call", type=int, default=5, help="examples per enrich call (ours)")
    p.add_argument("--short-share", type=float, default=0.3, help="replies short of the count asked")
    p.add_argument("--pool", type=float, default=2.0, help="distinct ideas per task, times the quota")
    p.add_argument("--list-kept", type=int, default=30, help="a third run listing this many kept instructions (0: off)")
    asyncio.run(main(p.parse_args()))
