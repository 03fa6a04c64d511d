"""The Review tab's layout and events (the handlers are `Workbench`'s, in workbench.py).

After every decision the tree, the task and the diversity figures are read again: the view is re-read only when
the run's files changed (a decision appends to curation.jsonl), and the figures come last, in their own step, so
the task panel never waits for them.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from explore_instruct.agent.web import tables
from explore_instruct.agent.web.panel import FORMATS, REASONING_HELP
from explore_instruct.agent.web.tree_view import stamp
from explore_instruct.agent.web.workbench import Workbench, _score, who_of

LIVE_S = 5.0
# Gradio's Plot passes no Plotly event to Python, so a click on a treemap box writes the task id into a hidden
# textbox (`id|time`: a change each click), which opens the task. Attached to each new plot as it is drawn.
CLICK_JS = """() => {
  const opened = (event) => {
    const point = event && event.points && event.points[0];
    const id = point && (point.customdata || point.id);
    const box = document.querySelector('#wb-clicked textarea, #wb-clicked input');
    if (!id || !box) return;
    box.value = String(id) + '|' + Date.now();  // a new value each click: a change event every time
    box.dispatchEvent(new Event('input', {bubbles: true}));
  };
  setInterval(() => {  // Plotly drops its listeners when Gradio redraws the plot: attach again, never twice
    const plot = document.querySelector('#wb-tree .js-plotly-plot');
    if (!plot || !plot.on) return;
    plot.removeListener('plotly_click', opened);
    plot.on('plotly_click', opened);
  }, 400);
}"""
HEAD = f"<script>({CLICK_JS})();</script>"  # a script in the page's head: Gradio 6's `js=` did not run it
CSS = (
    ".wb-hidden { display: none !important; }\n.wb-chunk { margin-bottom: 14px; }\n"
    ".wb-chunk blockquote { white-space: pre-wrap; margin: 4px 0 0 8px; }" + tables.CSS
)


def layout(bench: Workbench) -> dict[str, Any]:
    """Build the tab's components inside the caller's `gr.Tab`; returns the ones the page's load fills."""
    want, session, seen = gr.State(None), gr.State(""), gr.State(None)
    with gr.Row():
        run = gr.Dropdown(label="Run or tree directory", choices=[], allow_custom_value=True, scale=4, elem_id="wb-run")
        refresh = gr.Button("Refresh", scale=1, elem_id="wb-refresh")
        live = gr.Checkbox(label=f"Live (every {LIVE_S:.0f} s)", value=False, scale=1, elem_id="wb-live")
    summary = gr.Markdown(elem_id="wb-summary")
    with gr.Row():
        with gr.Column(scale=3):
            plot = gr.Plot(label="Task tree (click a box to zoom into its branch)", elem_id="wb-tree")
            task = gr.Dropdown(label="Open a task (type to search)", choices=[], filterable=True, elem_id="wb-task")
            clicked = gr.Textbox(elem_id="wb-clicked", elem_classes=["wb-hidden"], show_label=False, container=False)
        with gr.Column(scale=4):
            info = gr.Markdown(elem_id="wb-task-info")
            with gr.Tabs():
                with gr.Tab("Examples"):
                    with gr.Row():
                        text = gr.Textbox(label="Filter: text", scale=3, elem_id="wb-filter")
                        below = gr.Number(label="judged under (0: any)", value=0, minimum=0, maximum=5, scale=1,
                                          precision=0, elem_id="wb-below")  # fmt: skip
                        page = gr.Number(label="Page", value=1, minimum=1, precision=0, scale=1, elem_id="wb-page")
                    page_line = gr.Markdown(elem_id="wb-page-line")
                    # HTML, not gr.Dataframe: see tables.py (a click on a row opens the example in the editor)
                    table = gr.HTML(elem_id="wb-examples", js_on_load=tables.ROW_CLICK_JS)
                with gr.Tab("Drops"):
                    drops = gr.HTML(elem_id="wb-drops", js_on_load=None)
                with gr.Tab("Sources"):
                    sources = gr.HTML(elem_id="wb-sources", js_on_load=None)
                with gr.Tab("Diversity") as diversity:
                    gr.Markdown("The curated set (reviewers' decisions applied), per depth and overall.")
                    stats = gr.HTML(elem_id="wb-stats", js_on_load=None)
                    stats_plot = gr.Plot(show_label=False, elem_id="wb-stats-plot")
                    verbs = gr.Button("Count verb-noun pairs (spaCy, slower)", elem_id="wb-verbs")
                    verb_line = gr.Markdown(elem_id="wb-verb-line")
                    verb_plot = gr.Plot(show_label=False, elem_id="wb-verb-plot")
            with gr.Column(visible=False) as controls:
                eid = gr.Textbox(label="Example id (click a row, or type one and press Enter)", elem_id="wb-ex-id")
                ins = gr.Textbox(label="Instruction", lines=2, elem_id="wb-ins")
                inp = gr.Textbox(label="Input", lines=2, elem_id="wb-inp")
                out = gr.Textbox(label="Output", lines=4, elem_id="wb-out")
                note = gr.Textbox(label="Note (why)", elem_id="wb-note")
                with gr.Row():
                    accept = gr.Button("Accept", elem_id="wb-accept")
                    reject = gr.Button("Reject", variant="stop", elem_id="wb-reject")
                    save = gr.Button("Save edit", variant="primary", elem_id="wb-save")
                    bulk = gr.Button("Reject all the filter shows", variant="stop", elem_id="wb-bulk")
                with gr.Row():
                    rescue = gr.Button("Rescue task", elem_id="wb-rescue")
                    pin = gr.Button("Pin task", elem_id="wb-pin")
                    unpin = gr.Button("Unpin task", elem_id="wb-unpin")
                with gr.Row():
                    fmt = gr.Dropdown(list(FORMATS), value="jsonl", label="Format", elem_id="wb-format")
                    reasoning = gr.Checkbox(label="Include reasoning", info=REASONING_HELP, elem_id="wb-reasoning")
                    export = gr.Button("Export reviewed dataset", elem_id="wb-export")
                files = gr.File(label="Download", interactive=False, elem_id="wb-download")
            msg = gr.Markdown(elem_id="wb-msg")

    run_out = [plot, summary, task, controls]
    task_in, task_out = [run, task, text, below, page], [info, table, page_line, drops, sources]

    def open_task(r: str | None, t: str | None, x: str, b: float | None) -> tuple[Any, ...]:
        return (*bench.show_task(r, t, x, b, 1), 1, "", "", "", "")

    def again(r: str | None, t: str | None) -> tuple[Any, ...]:
        return bench.show_run(r, t)

    # The figures take seconds on a big run (ROUGE-L in Python holds the GIL): drawn when their tab is open, not
    # on every run or task open; `stats_on` says the reader opened it, so decisions redraw them after the panel.
    stats_on = gr.State(False)
    figures = [stats, stats_plot]

    def listed(r: str | None, w: str | None) -> tuple[Any, ...]:
        return bench.show_run(r, w)[1:]  # the treemap comes next, after the task's request has left

    run.change(listed, [run, want], run_out[1:]).then(bench.show_tree, [run], [plot]).then(
        lambda: ("", None, "", None), None, [*figures, verb_line, verb_plot]
    )
    diversity.select(lambda: True, None, [stats_on]).then(bench.show_stats, [run], figures)

    def stats_if(r: str | None, on: bool) -> Any:
        return bench.show_stats(r) if on else (gr.skip(), gr.skip())

    task.change(open_task, [run, task, text, below], [*task_out, page, eid, ins, inp, out])
    for trigger in (text.submit, below.submit, page.submit):
        trigger(bench.show_task, task_in, task_out)
    clicked.change(lambda t: gr.Dropdown(value=t.rsplit("|", 1)[0]) if t else gr.skip(), [clicked], [task])
    table.click(bench.pick, [run, task], [eid, ins, inp, out])
    eid.submit(bench.load_example, [run, task, eid], [eid, ins, inp, out])

    def after(event: Any) -> None:
        event.then(again, [run, task], run_out).then(bench.show_task, task_in, task_out).then(
            stats_if, [run, stats_on], figures
        )

    def one(action: str) -> Any:
        def act(r: str | None, e: str, n: str, request: gr.Request) -> tuple[str, str]:
            return bench.decide(r, action, [e.strip()] if e and e.strip() else [], who_of(request), note=n), ""

        return act

    for button, action in ((accept, "accept"), (reject, "reject")):
        after(button.click(one(action), [run, eid, note], [msg, note]))

    def edit(r: str | None, e: str, i: str, x: str, o: str, n: str, request: gr.Request) -> tuple[str, str]:
        fields = {"instruction": i, "input": x, "output": o}
        return bench.decide(r, "edit", [e.strip()] if e else [], who_of(request), fields=fields, note=n), ""

    after(save.click(edit, [run, eid, ins, inp, out, note], [msg, note]))

    def reject_shown(r: str | None, t: str | None, x: str, b: float | None, n: str, request: gr.Request) -> Any:
        if not (x or "").strip() and _score(b) is None:
            return "Set a filter first (text or score): the button rejects what it shows in this task and below.", n
        match = x.strip() or None
        return bench.decide(r, "reject", [], who_of(request), match=match, below_score=_score(b), task=t, note=n), ""

    after(bulk.click(reject_shown, [run, task, text, below, note], [msg, note]))

    def on_task(action: str) -> Any:
        def act(r: str | None, t: str | None, n: str, request: gr.Request) -> tuple[str, str]:
            return bench.decide(r, action, [t] if t else [], who_of(request), note=n), ""

        return act

    for button, action in ((rescue, "rescue"), (pin, "pin"), (unpin, "unpin")):
        after(button.click(on_task(action), [run, task, note], [msg, note]))

    after(refresh.click(lambda: "", None, [msg]))

    verbs.click(bench.verbs, [run], [verb_line, verb_plot])
    export.click(bench.export, [run, fmt, session, reasoning], [files, msg])

    timer = gr.Timer(LIVE_S, active=False)
    live.change(lambda on: gr.Timer(active=bool(on)), [live], [timer])

    def tick(r: str | None, t: str | None, last: Any) -> tuple[Any, ...]:
        """A running run: redraw only when its files changed (a redraw would undo the reader's zoom)."""
        try:
            now = stamp(bench.path_of(r)) if r else None
        except Exception:
            now = None
        if now == last:
            return (gr.skip(),) * (len(run_out) + len(task_out)) + (last,)
        return (*bench.show_run(r, t), *bench.show_task(r, t, "", None, 1), now)

    timer.tick(tick, [run, task, seen], [*run_out, *task_out, seen], show_progress="hidden")
    return {"run": run, "want": want, "session": session}
