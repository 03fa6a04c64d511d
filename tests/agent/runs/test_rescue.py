"""A pruned task a reviewer rescues (tools/dataset/curation.py) gets its examples when the finished run is resumed,
and only once: the next resume calls nothing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from support.scripted import DecomposeAsk, Script, subtask_names

from explore_instruct.agent.runs.runner import Runner
from explore_instruct.graphs.context import Context
from explore_instruct.tools.dataset.curate import curate
from explore_instruct.tools.dataset.sampling import load_run

DOMAIN = "Email writing for work"
NEAR = "Email part 1 drafts"  # ROUGE-L 0.857 against "Email part 1": pruned


@dataclass(frozen=True)
class NearDup(Script):
    """Proposes a near-copy of a sibling (pruned by ROUGE-L); writes instructions far apart (none dropped)."""

    def _names(self, ask: DecomposeAsk) -> list[str]:
        names = subtask_names(ask.target, ask.existing, ask.k)
        if ask.target == DOMAIN and ask.existing == 0 and ask.k >= 3:
            names[1:] = [NEAR, *names[1:-1]]
        return names

    def _example(self, task: str, h: str, j: int) -> dict[str, str]:
        words = " ".join(hashlib.sha256(f"{task}:{h}:{j}:{i}".encode()).hexdigest()[:7] for i in range(8))
        return {"instruction": f"Explain {words}.", "input": "", "output": f"An answer about {task} ({j})."}


async def test_a_rescued_task_is_enriched_on_resume(tmp_path: Path) -> None:
    model = NearDup().chat_model()
    run_dir = tmp_path / "run"
    ctx = Context(
        chat_model=model,
        run_dir=str(run_dir),
        similarity="rouge",
        min_relevance=None,
        max_depth=1,
        breadth=[3],
        subtasks_per_call=3,
        examples=[4],
        examples_per_call=4,
    )
    first = await Runner().start(ctx, domain=DOMAIN)
    assert first.status == "done"
    raw = load_run(run_dir, curated_view=False).tree
    (pruned,) = [n for n in raw.nodes.values() if n.name == NEAR]
    assert pruned.status == "pruned" and not pruned.examples
    before = len(model.prompts)

    curate(run_dir, "rescue", [pruned.id], note="a different task after all", who="ann")
    again = await Runner().resume(run_dir, chat_model=model)
    assert again.status == "done"
    tree = load_run(run_dir).tree
    rescued = tree.nodes[pruned.id]
    assert rescued.status == "accepted" and len(rescued.examples) == 4
    calls = len(model.prompts)
    assert calls > before and all(NEAR in p for p in model.prompts[before:])  # only the rescued task was asked

    third = await Runner().resume(run_dir, chat_model=model)
    assert third.status == "done" and len(model.prompts) == calls  # a rescue is done once
