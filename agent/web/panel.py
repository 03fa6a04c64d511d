"""What the web UI's run panel shows, apart from Gradio: a run's progress as text, its proposals, its tree as a
sunburst PNG (the one `stats --plots` draws), and the export a person downloads.

Everything reads the run directories and the background registry through `Background`, so every browser tab
(and every other face on the same root) sees the same runs. An export is the catalogue's `export` operation (its
formats, its `include_reasoning`), as on every face. What the page shows names no server path (`hide`).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explore_instruct.agent.errors import one_line
from explore_instruct.agent.operations.catalogue import CATALOGUE
from explore_instruct.agent.operations.runner import runner_of
from explore_instruct.agent.runs.background import Background
from explore_instruct.agent.web import names
from explore_instruct.tools.dataset.export import FORMATS as FORMATS  # the `export` operation's own list
from explore_instruct.tools.dataset.runstore import TREE_DIR

REASONING_HELP = CATALOGUE["export"].args.model_fields["include_reasoning"].description
SESSION_FILES_S = 86_400  # a session's export copies older than this go at its next export


def _money(cost: Any) -> str:
    return "unknown" if cost is None else f"${cost:.4f}"


def progress_text(info: dict[str, Any]) -> str:
    """A run's status as a few Markdown lines: what it is doing, how far it got, what comes next."""
    rid, status = info.get("run_id"), info.get("status")
    lines = [f"**{rid}**: {status}" + (f" ({info['phase']})" if info.get("phase") not in (None, status) else "")]
    lines.append(
        f"{info.get('tasks', 0)} tasks · {info.get('examples', 0)} examples · {info.get('calls', 0)} calls · "
        f"{info.get('tokens', 0):,} tokens · cost {_money(info.get('cost_usd'))}"
    )
    plan = info.get("planned") or {}
    if status == "running":
        live = info.get("live") or {}
        eta = info.get("eta_s")
        lines.append(
            f"live: {live.get('calls', 0)} of ~{plan.get('calls', '?')} calls, "
            f"{live.get('subtasks_proposed', 0)} subtasks proposed; elapsed {info.get('elapsed_s', 0)} s"
            + (f", ETA {eta} s" if eta is not None else "")
        )
    if status == "review":
        lines.append("Review the proposed subtasks below: approve them, reject some, or rename one.")
    if info.get("error"):
        lines.append(f"error: {info['error']}")
    if info.get("stopped_by"):
        lines.append(f"stopped by: {info['stopped_by']}")
    if info.get("next_step") and status != "running":
        lines.append(f"next: {info['next_step']}")
    return "\n\n".join(lines)


def proposal_labels(info: dict[str, Any]) -> list[str]:
    """`1. Name (under Parent)` for each proposal waiting for a review."""
    return [f"{p['n']}. {p['name']} (under {p.get('under')})" for p in info.get("proposals") or []]


def numbers_of(labels: list[str]) -> list[int]:
    return sorted(int(label.split(".", 1)[0]) for label in labels if label.split(".", 1)[0].isdigit())


@dataclass
class Panel:
    """The run panel's reads, shared by every browser tab; sunbursts are drawn only when the tree changed."""

    background: Background
    pictures: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="explore-instruct-web-")))
    exports: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="explore-instruct-web-exports-")))
    _drawn: dict[str, tuple[float, Path]] = field(default_factory=dict)
    _drawing: threading.Lock = field(default_factory=threading.Lock)  # two polls at once drew the same picture twice

    def run_ids(self, limit: int = 50) -> list[str]:
        return [p.name for p in self.background.runs.run_dirs(limit)]

    def hide(self, text: str) -> str:
        """`text` as the page may show it: paths under the seed or output root by their relative names, any other
        absolute path by its bare name (names.py)."""
        limits = self.background.runs.limits
        return names.hide(text, [limits.seeds, limits.root])

    async def status(self, run: str) -> dict[str, Any]:
        return await self.background.status(run)

    def sunburst(self, run: str) -> Path | None:
        """The run's tree as a PNG, redrawn when its snapshot changes; None before the first snapshot."""
        with self._drawing:
            return self._sunburst(run)

    def _sunburst(self, run: str) -> Path | None:
        from explore_instruct.tools.dataset.plots import plot_tree
        from explore_instruct.tools.tree.ei_dir import load_ei_dir
        from explore_instruct.tools.tree.seed_io import META_FILENAME

        run_dir = self.background.runs.limits.existing_run(run)
        meta = run_dir / TREE_DIR / META_FILENAME
        if not meta.is_file():
            return None
        stamp = meta.stat().st_mtime
        drawn = self._drawn.get(run)
        if drawn is not None and drawn[0] == stamp:
            return drawn[1]
        self.pictures.mkdir(parents=True, exist_ok=True)
        path = self.pictures / f"{run_dir.name}-{int(stamp * 1000)}.png"
        try:
            plot_tree(load_ei_dir(run_dir / TREE_DIR), path)
        except Exception:  # a snapshot being rewritten, or matplotlib missing: keep the last picture
            return drawn[1] if drawn is not None else None
        self._drawn[run] = (stamp, path)
        return path

    async def export(self, run: str, fmt: str, session: str, *, include_reasoning: bool = False) -> list[str]:
        """The run's examples (all of them) as files for one browser session to download.

        The export is the catalogue's `export` operation (its argument model checks the format), written in the
        run directory as on every face; the browser gets copies in the session's own folder (a directory, the
        `hf` format, as a zip), so the page never hands Gradio a path inside the output root, and one session's
        downloads are not another's."""
        asked = {"run": run, "format": fmt, "include_reasoning": include_reasoning}
        result = await CATALOGUE["export"](runner_of(self.background), asked)
        return await asyncio.to_thread(self._copy_out, result["run_id"], session, [Path(f) for f in result["files"]])

    def _copy_out(self, run_id: str, session: str, written: list[Path]) -> list[str]:
        folder = self.exports / uuid.UUID(session).hex  # a session id is ours (a uuid); never a path from outside
        self._forget_old_sessions()
        shutil.rmtree(folder, ignore_errors=True)  # only the latest export of a session stays
        folder.mkdir(parents=True)
        out = []
        for path in written:
            name = f"{run_id}-{path.name}"
            if path.is_dir():
                out.append(shutil.make_archive(str(folder / name), "zip", root_dir=path))
            else:
                out.append(str(shutil.copyfile(path, folder / name)))
        return out

    def _forget_old_sessions(self) -> None:
        if not self.exports.is_dir():
            return
        cutoff = time.time() - SESSION_FILES_S
        for folder in self.exports.iterdir():
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)

    async def refresh(self, run: str | None) -> tuple[str, Path | None, list[str], str]:
        """Progress text, sunburst, proposals and an error line (empty when none) for the chosen run."""
        if not run:
            return "No run chosen yet. Start one with `/explore <domain>` in the chat.", None, [], ""
        try:
            info = await self.status(run)
            picture = await asyncio.to_thread(self.sunburst, run)
        except Exception as e:
            return f"**{run}**: cannot read it", None, [], self.hide(f"Error: {one_line(e)}")
        return (
            self.hide(progress_text(info)),
            picture,
            proposal_labels(info) if info.get("status") == "review" else [],
            "",
        )
