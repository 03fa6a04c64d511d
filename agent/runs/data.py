"""The dataset-out operations of `Runs` (export, stats): bounded to the output root, answered compactly."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from explore_instruct.agent.runs.limits import LimitError

if TYPE_CHECKING:
    from explore_instruct.agent.runs.limits import Limits

EXPORT_DIR = "export"


class DatasetOut:
    """Mixed into `Runs`: what a caller may draw from a finished or running run, never the data itself."""

    limits: Limits

    # -- dataset out (tools/dataset/sampling.py, tools/dataset/export.py, tools/dataset/coverage.py)

    def _export(self, run: str, fmt: str, n: int | None, seed: int, include_reasoning: bool = False) -> dict[str, Any]:
        from explore_instruct.tools.dataset.card import card_for
        from explore_instruct.tools.dataset.export import check_format, plan_output, write_dataset
        from explore_instruct.tools.dataset.sampling import load_tree_source, sample

        run_dir = self.limits.existing_run(run)
        kind = check_format(fmt)
        loaded = load_tree_source(run_dir)
        result = sample(loaded, n, seed=seed)
        if not result.examples:
            raise LimitError(f"export: run {run_dir.name} has no examples yet")
        out = run_dir / EXPORT_DIR / kind  # inside the run, so inside the root; a re-export replaces it
        files = [plan_output(out, kind).data.name]
        card = card_for(loaded, result, fmt=kind, files=files, include_reasoning=include_reasoning)
        written = write_dataset(kind, result.examples, out, card=card, force=True, include_reasoning=include_reasoning)
        return {
            "run_id": run_dir.name,
            "format": kind,
            "examples": len(result.examples),
            "requested": n,
            "shortfall": result.shortfall,
            "summary": result.describe(),
            "files": [str(p) for p in written],
        }

    async def export(
        self, run: str, fmt: str = "jsonl", n: int | None = None, seed: int = 0, *, include_reasoning: bool = False
    ) -> dict[str, Any]:
        """Sample `n` examples (all when None) with the method's per-task quota and write them in `fmt`
        (`include_reasoning`: reasoning in <think> tags where the format has no field for it)."""
        if n is not None and n < 1:
            raise LimitError("export: n must be at least 1")
        return await asyncio.to_thread(self._export, run, fmt, n, seed, include_reasoning)

    def _stats(self, run: str, verbs: bool) -> dict[str, Any]:
        from explore_instruct.tools.dataset.coverage import CoverageError, analyse

        run_dir = self.limits.existing_run(run)
        try:
            stats = analyse(run_dir, verbs=verbs).stats
        except CoverageError:  # spaCy (verb-noun pairs) is optional: the rest still holds
            stats = analyse(run_dir, verbs=False).stats
        return {"run_id": run_dir.name, **_without_per_node(stats)}

    async def stats(self, run: str, verbs: bool = True) -> dict[str, Any]:
        """Shape, diversity (verb-noun pairs when `verbs` and spaCy is there) and accounting; no per-task tables."""
        return await asyncio.to_thread(self._stats, run, verbs)


def _without_per_node(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_per_node(v) for k, v in value.items() if k != "per_node"}
    return value
