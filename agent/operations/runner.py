"""The run lifecycle as the catalogue sees it: a `Runner` with one method per operation on runs.

The faces hold a `Background` (agent/runs/background.py: start, follow and stop runs) whose `Runs` lists, exports
and analyses them; the run-lifecycle work gives both one object with these methods. `runner_of` returns that
object as it is once it has them all, and joins the two until then, so no face reaches through `.runs`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from explore_instruct.agent.request import ExploreRequest
from explore_instruct.agent.runs.background import Background
from explore_instruct.agent.runs.limits import Limits

ProgressFn = Callable[[dict[str, Any]], None]


class Runner(Protocol):
    """What the catalogue needs of the run lifecycle (agent/runs/): its public operations, and the operator's
    limits (the output root a face confines what it serves to)."""

    @property
    def limits(self) -> Limits: ...

    async def explore(
        self, req: ExploreRequest, *, review: bool = False, progress: ProgressFn | None = None
    ) -> dict[str, Any]: ...
    async def status(self, run: str, wait_s: float = 0.0) -> dict[str, Any]: ...
    async def cancel(self, run: str) -> dict[str, Any]: ...
    async def resume(
        self,
        run: str,
        *,
        reject: list[int] | None = None,
        rename: dict[int, str] | None = None,
        wait: bool | None = None,
        progress: ProgressFn | None = None,
        **budgets: Any,
    ) -> dict[str, Any]: ...
    async def list_runs(self, limit: int = 50) -> list[dict[str, Any]]: ...
    async def export(
        self, run: str, fmt: str = "jsonl", n: int | None = None, seed: int = 0, *, include_reasoning: bool = False
    ) -> dict[str, Any]: ...
    async def stats(self, run: str, verbs: bool = True) -> dict[str, Any]: ...


@dataclass
class Joined:
    """`Background` (start, follow, stop runs) and its `Runs` (list, export, stats) as one `Runner`.

    The run-lifecycle work gives both one object; until it lands, this is where the catalogue meets them."""

    background: Background

    @property
    def limits(self) -> Limits:
        return self.background.runs.limits

    @property
    def chat_model(self) -> Any:
        return self.background.runs.chat_model

    async def explore(
        self, req: ExploreRequest, *, review: bool = False, progress: ProgressFn | None = None
    ) -> dict[str, Any]:
        return await self.background.explore(req, review=review, progress=progress)

    async def status(self, run: str, wait_s: float = 0.0) -> dict[str, Any]:
        return await self.background.status(run, wait_s=wait_s)

    async def cancel(self, run: str) -> dict[str, Any]:
        return await self.background.cancel(run)

    async def resume(self, run: str, **kw: Any) -> dict[str, Any]:
        return await self.background.resume(run, **kw)

    async def list_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        return await self.background.runs.list_runs(limit)

    async def export(
        self, run: str, fmt: str = "jsonl", n: int | None = None, seed: int = 0, *, include_reasoning: bool = False
    ) -> dict[str, Any]:
        return await self.background.runs.export(run, fmt, n=n, seed=seed, include_reasoning=include_reasoning)

    async def stats(self, run: str, verbs: bool = True) -> dict[str, Any]:
        return await self.background.runs.stats(run, verbs=verbs)


def runner_of(background: Background) -> Runner:
    """The `Runner` of a face's `Background`: itself once it has every operation, else `Joined`."""
    if all(hasattr(background, name) for name in ("list_runs", "export", "stats")):
        return background  # type: ignore[return-value]
    return Joined(background)
