"""The review workbench: the web page's "Review" tab, where a domain expert reads and curates a run's data.

The treemap shows where to look; the task list beside it (searchable) opens a task, since Gradio's Plot passes no
Plotly click back to Python (a click on the treemap zooms into that branch). A task shows its examples (paged,
filtered), its drops by rule and its judge verdicts; a reviewer accepts, rejects or edits an example, rejects
what a filter shows, rescues a pruned task or pins one. Every decision goes through `curate.curate`, the one
operation the CLI and the agent tools call, so it lands in the run's curation.jsonl with who and when, and what
`sample`, `export`, `stats` and the card read. A tree directory that is not a run is shown without the controls.

Runs are named as everywhere on this page, under the output root (`Limits.existing_run`). `?run=ID&task=ID`
opens a run at a task, so a reviewer can send a colleague a link to a branch.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import gradio as gr

from explore_instruct.agent.errors import one_line
from explore_instruct.agent.web import diversity_view as dv
from explore_instruct.agent.web import names, sources_view, tables
from explore_instruct.agent.web import task_view as tv
from explore_instruct.agent.web.panel import Panel
from explore_instruct.agent.web.tree_view import RunView, figure, legend, open_view, stamp, task_choices, task_rows
from explore_instruct.tools.dataset.curate import curate


class Workbench:
    """The Review tab's handlers; views are cached per run until its files change."""

    def __init__(self, panel: Panel) -> None:
        self.panel = panel
        self._views: dict[Path, tuple[tuple[float, ...], RunView]] = {}
        self._stats: dict[Path, tuple[tuple[float, ...], tuple[str, Any]]] = {}
        self._lock = threading.Lock()

    def error(self, e: Exception) -> str:
        """An error as the page shows it: one line, naming no server path (names.hide, as Panel.hide)."""
        limits = self.panel.background.runs.limits
        return names.hide(f"Error: {one_line(e)}", [limits.seeds, limits.root])

    def path_of(self, run: str) -> Path:
        return self.panel.background.runs.limits.existing_run(run)

    def view(self, run: str) -> RunView:
        path = self.path_of(run)
        now = stamp(path)
        with self._lock:
            cached = self._views.get(path)
            if cached is not None and cached[0] == now:
                return cached[1]
        view = open_view(path)
        with self._lock:
            self._views[path] = (now, view)
        return view

    # ---- handlers

    def show_run(self, run: str | None, want: str | None = None) -> tuple[Any, ...]:
        """The tree, its task list (opening `want`, else the root) and whether curation is on; an error says why."""
        if not run:
            return None, "Choose a run.", gr.Dropdown(choices=[], value=None), gr.Column(visible=False)
        try:
            view = self.view(run)
        except Exception as e:
            return None, self.error(e), gr.Dropdown(choices=[], value=None), gr.Column(visible=False)
        rows = task_rows(view)
        task = want if want in view.raw.tree.nodes else view.raw.tree.root_id
        summary = view.decisions.summary()
        note = (
            f"**{run}**: {len(rows)} tasks, {sum(r['kept'] for r in rows)} examples kept after review"
            + (f" · {summary['rejected']} rejected, {summary['edited']} edited" if view.is_run else " · read-only")
            + (f" · {summary['conflicts']} conflicts" if summary["conflicts"] else "")
        )
        return (
            figure(rows),
            f"{note}\n\n{legend()}",
            gr.Dropdown(choices=task_choices(rows), value=task),
            gr.Column(visible=view.is_run),
        )

    def show_tree(self, run: str | None) -> Any:
        """The treemap alone: a run's opening draws it after the task list, so the browser asks for the task before
        it loads and draws Plotly (1-2 s of its main thread on a busy machine)."""
        try:
            return figure(task_rows(self.view(run))) if run else None
        except Exception:
            return None

    def show_task(self, run: str | None, task: str | None, text: str, below: float | None, page: float) -> Any:
        """The task's header, one page of its examples (HTML: the browser gets only that page), the page line, its
        drops and, in a grounded run, the chunks its examples cite."""
        if not run or not task:
            return "Choose a task.", "", "", "", ""
        try:
            view = self.view(run)
            rows = [r for r in tv.example_rows(view, task) if tv.matches(r, text, _score(below))]
            cells, shown, pages = tv.page_of(rows, int(page or 1))
            return (
                tv.header(view, task),
                tables.table(tv.EXAMPLE_COLUMNS, cells, ids=True, empty="No examples (or none the filter shows)."),
                f"page {shown} of {pages} · {len(rows)} examples",
                tables.table(tv.DROP_COLUMNS, tv.drop_rows(view, task), empty="Nothing dropped."),
                sources_view.panel(view, task),
            )
        except Exception as e:
            return self.error(e), "", "", "", ""

    def show_stats(self, run: str | None) -> tuple[str, Any]:
        """The diversity table and figures of the curated set, computed once per change of the run's files."""
        if not run:
            return "", None
        try:
            path = self.path_of(run)
            now = stamp(path)
            cached = self._stats.get(path)
            if cached is not None and cached[0] == now:
                return cached[1]
            view = self.view(run)
            rows = dv.quick_stats(view)
            shown = (tables.table(dv.STATS_COLUMNS, rows), dv.figure(rows, dv.score_counts(view)))
        except Exception as e:
            return tables.text(self.error(e)), None
        self._stats[path] = (now, shown)
        return shown

    def verbs(self, run: str | None) -> tuple[str, Any]:
        if not run:
            return "Choose a run.", None
        try:
            return dv.verb_noun(self.view(run))
        except Exception as e:
            return self.error(e), None

    def pick(self, run: str | None, task: str | None, evt: gr.EventData) -> tuple[str, str, str, str]:
        """A click on an example's row (tables.ROW_CLICK_JS) fills the editor with its whole current text."""
        eid = str(getattr(evt, "_data", {}).get("row_id") or "")
        return self.load_example(run, task, eid)

    def load_example(self, run: str | None, task: str | None, eid: str) -> tuple[str, str, str, str]:
        if not run or not task or not eid:
            return eid, "", "", ""
        try:
            row = next((r for r in tv.example_rows(self.view(run), task) if r["id"] == eid), None)
        except Exception:
            row = None
        if row is None:
            return eid, "", "", ""
        return eid, row["instruction"], row["input"], row["output"]

    def decide(self, run: str | None, action: str, targets: list[str], who: str, **kw: Any) -> str:
        """One decision through `curate.curate`; the result (or the error) as one line."""
        if not run:
            return "Choose a run first."
        try:
            result = curate(self.path_of(run), action, targets, who=who, **kw)
        except Exception as e:
            return self.error(e)
        done, same = result["recorded"], result["unchanged"]
        line = f"{action}: recorded {len(done)}" + (
            f" ({', '.join(done[:5])}{'…' if len(done) > 5 else ''})" if done else ""
        )
        if same:
            line += f"; {len(same)} already so"
        if "matched" in result:
            line += f"; the filter matched {result['matched']}"
        return line

    async def export(self, run: str | None, fmt: str, session: str, reasoning: bool = False) -> tuple[Any, str]:
        """The curated run through the `export` operation (Panel.export), as on the Chat tab."""
        if not run:
            return None, "Choose a run first."
        try:
            files = await self.panel.export(run, fmt, session or str(uuid.uuid4()), include_reasoning=bool(reasoning))
        except Exception as e:
            return None, self.error(e)
        how = f"{fmt} with the reasoning" if reasoning else fmt
        return files, f"Exported {run} as {how}, with the review applied."


def _score(value: float | None) -> int | None:
    """The "judged under" box: 0 or empty means any score."""
    return None if value is None or value == 0 else int(value)


def who_of(request: gr.Request | None) -> str:
    """The logged-in user's name when the token login is on, else "web"."""
    name = getattr(request, "username", None) if request is not None else None
    return str(name) if name else "web"
