"""A browser chat for the people who review the tree (`explore-instruct web`): Gradio Blocks on the chat graph.

A teacher or a lawyer will not use a terminal or Studio, so this page gives them the chat (`agent/chat/graph.py`, the
same graph Studio serves: `/explore` or plain words, replies as messages) next to a run panel: live progress,
the task tree as a sunburst that grows as the run goes, the proposals of a review with buttons (approve all,
reject the ticked ones, rename one) and a download of the dataset. The buttons send the chat commands they
stand for (`/approve run=...`), so the conversation shows every decision. Runs go on in the background and
the panel polls them (only while the Chat tab is shown), so a second tab (or another face on the same root) sees the
same runs. The Documents box (corpora.py) picks a corpus under the seed root or ingests uploads into the session's
own, and starts a grounded run with `/explore docs=NAME`. The Review tab is the review workbench (workbench.py,
review_tab.py): a run's tree, its tasks' examples, drops and cited chunks, the diversity figures, and curation.

The operator's caps and output root hold as everywhere (`Limits` from the environment, `--root`). The page
binds 127.0.0.1 unless told otherwise, sends no analytics, makes no share link and loads nothing from a CDN:
the theme uses the system's fonts, so it works with the network closed. It answers only to the Host names on its
allow-list and, with `EXPLORE_INSTRUCT_WEB_TOKEN` set, only after a login with the token (`guard.py`). It serves
no file of the output root: Gradio serves what a handler returns from its own upload folder, and the only files
handed to it are the sunbursts and copies of each session's exports (`serve`). The one script of its own (the
workbench's treemap click) is inline in the page's head.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # read when gradio is imported: never phone home
warnings.filterwarnings("ignore", category=DeprecationWarning, module="gradio")  # Starlette renames, per request

import gradio as gr  # noqa: E402
from langchain_core.messages import AIMessage  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from explore_instruct.agent.chat.context import ChatContext  # noqa: E402
from explore_instruct.agent.chat.graph import builder  # noqa: E402
from explore_instruct.agent.errors import one_line  # noqa: E402
from explore_instruct.agent.web import corpora, review_tab  # noqa: E402
from explore_instruct.agent.web.guard import HostCheck, allowed_hosts, check_token, token  # noqa: E402
from explore_instruct.agent.web.panel import FORMATS, REASONING_HELP, Panel, numbers_of  # noqa: E402
from explore_instruct.agent.web.workbench import Workbench  # noqa: E402

TITLE = "explore-instruct"
INTRO = (
    "Build instruction-tuning data for a domain. Type `/explore <domain>` (e.g. `/explore rewriting legal "
    "contracts in plain English depth=1 breadth=3`), review the proposed subtasks on the right, and download "
    "the dataset when the run is done. `/help` lists every command."
)
SYSTEM_FONTS = ["ui-sans-serif", "system-ui", "sans-serif"]


def theme() -> Any:
    """The default look with the system's fonts (the stock theme imports Google Fonts)."""
    return gr.themes.Default(font=SYSTEM_FONTS, font_mono=["ui-monospace", "monospace"])


class Web:
    """One app: one chat graph (a conversation thread per browser session) and one run panel for all tabs."""

    def __init__(self, ctx: ChatContext, files: Path | None = None) -> None:
        """`files`: where the sunbursts and the sessions' exports go (default: a new temporary folder)."""
        self.ctx = ctx
        self.graph = builder.compile(checkpointer=InMemorySaver())
        files = files or Path(tempfile.mkdtemp(prefix="explore-instruct-web-"))
        self.panel = Panel(ctx.background(), pictures=files / "pictures", exports=files / "exports")
        self.workbench = Workbench(self.panel)

    async def talk(self, thread: str, text: str) -> tuple[str, str | None]:
        """The chat graph's reply to `text` and the run it is about; failures are replies, never tracebacks. A
        reply names files relative to the output or seed root (a run's `web/examples.jsonl`), never by the
        server's own path."""
        try:
            config: Any = {"configurable": {"thread_id": thread}}
            said: Any = {"messages": [("user", text)]}
            state = await self.graph.ainvoke(said, config, context=self.ctx)
            reply = state["messages"][-1]
            content = reply.content if isinstance(reply, AIMessage) else ""
            return self.panel.hide(str(content)), state.get("last_run")
        except Exception as e:
            return self.panel.hide(f"Error: {one_line(e)}"), None

    # ---- handlers (Gradio passes component values in, takes updates out)

    async def say(self, text: str, history: list[Any], thread: str, run: str | None) -> tuple[Any, ...]:
        text = (text or "").strip()
        if not text:
            return history, "", gr.skip()
        reply, last = await self.talk(thread, text)
        history = [*history, {"role": "user", "content": text}, {"role": "assistant", "content": reply}]
        return history, "", gr.Dropdown(choices=self.panel.run_ids(), value=last or run)

    async def approve(self, history: list[Any], thread: str, run: str | None) -> tuple[Any, ...]:
        return await self.say(f"/approve run={run}" if run else "/approve", history, thread, run)

    async def reject(self, ticked: list[str], history: list[Any], thread: str, run: str | None) -> tuple[Any, ...]:
        numbers = numbers_of(ticked or [])
        if not numbers:
            note = {"role": "assistant", "content": "Tick the proposals to reject first (or approve them all)."}
            return [*history, note], "", gr.skip()
        return await self.say(f"/reject {','.join(map(str, numbers))} run={run}", history, thread, run)

    async def rename(self, which: str | None, name: str, history: list[Any], thread: str, run: str | None) -> Any:
        numbers = numbers_of([which] if which else [])
        if not numbers or not (name or "").strip():
            note = {"role": "assistant", "content": "Pick a proposal and type its new name first."}
            return [*history, note], "", gr.skip(), gr.skip()
        said = await self.say(f"/rename {numbers[0]} {name.strip()} run={run}", history, thread, run)
        return (*said, "")

    async def export(
        self, run: str | None, fmt: str, reasoning: bool, history: list[Any], thread: str
    ) -> tuple[Any, ...]:
        """The run's dataset as files for this session only (the `export` operation: the format, and the
        reasoning in <think> tags where the format has no field for it); a failure empties the download box (an
        old file or Gradio's "Error" left there would pass for this export)."""
        if not run:
            note = {"role": "assistant", "content": "Choose a run first."}
            return None, [*history, note]
        try:
            files = await self.panel.export(run, fmt, thread, include_reasoning=bool(reasoning))
        except Exception as e:
            return None, [*history, {"role": "assistant", "content": self.panel.hide(f"Error: {one_line(e)}")}]
        how = f"{fmt} with the reasoning" if reasoning else fmt
        note = {"role": "assistant", "content": f"Exported `{run}` as {how}: download it on the right."}
        return files, [*history, note]

    async def tick(self, run: str | None, shown: list[str], runs_shown: list[str]) -> tuple[Any, ...]:
        """Every second: progress, the sunburst, the proposals (only when they change, so ticks stay put)."""
        text, picture, labels, error = await self.panel.refresh(run)
        ids = self.panel.run_ids()
        proposals = gr.skip() if labels == shown else gr.CheckboxGroup(choices=labels, value=[])
        which = gr.skip() if labels == shown else gr.Dropdown(choices=labels, value=None)
        return (
            text + (f"\n\n{error}" if error else ""),
            picture if picture is not None else gr.skip(),
            proposals,
            which,
            gr.Column(visible=bool(labels)),
            labels,
            gr.skip() if ids == runs_shown else gr.Dropdown(choices=ids, value=run if run in ids else None),
            ids,
        )

    def deep_link(self, request: gr.Request) -> tuple[Any, ...]:
        """`?run=ID&task=ID` opens the Review tab on that run and task; without them the tab lists the runs."""
        params = dict(request.query_params) if request is not None else {}
        ids = self.panel.run_ids()
        wanted = params.get("run")
        choices = ids if not wanted or wanted in ids else [wanted, *ids]
        return (
            gr.Tabs(selected="review") if wanted else gr.skip(),
            gr.Dropdown(choices=choices, value=wanted or None),
            params.get("task"),
            str(uuid.uuid4()),
            gr.Timer(active=False) if wanted else gr.skip(),
        )

    def opened(self, request: gr.Request) -> tuple[Any, ...]:
        """A new thread, and the chat's run (the latest; none on a deep link to the Review tab, whose reader would
        otherwise wait behind the chat drawing that run's sunburst)."""
        ids = self.panel.run_ids()
        linked = request is not None and "run" in request.query_params
        return str(uuid.uuid4()), gr.Dropdown(choices=ids, value=ids[0] if ids and not linked else None), ids

    # ---- the page

    def blocks(self) -> gr.Blocks:
        # Gradio's copies of served files go after a day (checked hourly): the server is meant to run for days.
        with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(3600, 86400)) as app:
            thread, shown, runs_shown = gr.State(""), gr.State([]), gr.State([])
            gr.Markdown(f"## {TITLE}\n{INTRO}")
            with gr.Tabs(selected="chat") as tabs:
                with gr.Tab("Chat", id="chat") as chat_tab:
                    with gr.Row():
                        with gr.Column(scale=3):
                            chat = gr.Chatbot(
                                label="Chat",
                                height=560,
                                elem_id="chat",
                                feedback_options=None,
                                buttons=["copy", "copy_all"],
                            )
                            with gr.Row():
                                box = gr.Textbox(
                                    show_label=False, placeholder="/explore <domain>", scale=5, elem_id="say"
                                )
                                send = gr.Button("Send", variant="primary", scale=1, elem_id="send")
                        with gr.Column(scale=2):
                            run = gr.Dropdown(label="Run", choices=[], elem_id="run")
                            progress = gr.Markdown(elem_id="progress")
                            picture = gr.Image(
                                label="Task tree",
                                type="filepath",
                                interactive=False,
                                elem_id="tree",
                                buttons=["download", "fullscreen"],
                            )
                            with gr.Column(visible=False) as review:
                                proposals = gr.CheckboxGroup(
                                    label="Proposed subtasks: tick to reject", elem_id="proposals"
                                )
                                with gr.Row():
                                    approve = gr.Button("Approve all", variant="primary", elem_id="approve")
                                    reject = gr.Button("Reject ticked", variant="stop", elem_id="reject")
                                which = gr.Dropdown(label="Rename proposal", choices=[], elem_id="which")
                                new_name = gr.Textbox(label="New name", elem_id="new-name")
                                rename = gr.Button("Rename", elem_id="rename")
                            with gr.Row():
                                fmt = gr.Dropdown(list(FORMATS), value="jsonl", label="Format", elem_id="format")
                                reasoning = gr.Checkbox(
                                    label="Include reasoning", info=REASONING_HELP, elem_id="include-reasoning"
                                )
                                export = gr.Button("Export dataset", elem_id="export")
                            files = gr.File(label="Download", interactive=False, elem_id="download")
                            limits = self.panel.background.runs.limits
                            corpus = corpora.layout(limits, self.say, chat, thread, run, box)
                    talk_out = [chat, box, run]
                    box.submit(self.say, [box, chat, thread, run], talk_out)
                    send.click(self.say, [box, chat, thread, run], talk_out)
                    approve.click(self.approve, [chat, thread, run], talk_out)
                    reject.click(self.reject, [proposals, chat, thread, run], talk_out)
                    rename.click(self.rename, [which, new_name, chat, thread, run], [*talk_out, new_name])
                    export.click(self.export, [run, fmt, reasoning, chat, thread], [files, chat])
                    timer = gr.Timer(1.0)
                    tick_out = [progress, picture, proposals, which, review, shown, run, runs_shown]
                    timer.tick(self.tick, [run, shown, runs_shown], tick_out, show_progress="hidden")
                    run.change(self.tick, [run, gr.State(None), runs_shown], tick_out, show_progress="hidden")
                with gr.Tab("Review", id="review", elem_id="review-tab") as review_tab_:
                    review_parts = review_tab.layout(self.workbench)
            # The chat's one-second poll (status and sunburst of its run) only while the Chat tab is shown: on a big
            # run it read the run every second and drew a sunburst, which the Review tab's reader waited behind.
            chat_tab.select(lambda: gr.Timer(active=True), None, [timer])
            review_tab_.select(lambda: gr.Timer(active=False), None, [timer])
            app.load(self.opened, None, [thread, run, runs_shown]).then(
                lambda session: corpora.refresh(limits, session), [thread], [corpus]
            )
            deep = [tabs, review_parts["run"], review_parts["want"], review_parts["session"], timer]
            app.load(self.deep_link, None, deep)
        return app


def serve(ctx: ChatContext, host: str = "127.0.0.1", port: int = 7860, allow_hosts: Iterable[str] = ()) -> None:
    """Serve the page until interrupted.

    Gradio's file route serves its allowed paths and its upload folder, into which it copies every file a handler
    returns. So nothing is allowed: the output root is on the block list (no checkpoint, query log or run file is
    ever served or copied), and the upload folder, the sunbursts and the exports live in one private folder of this
    process (`GRADIO_TEMP_DIR`; not the machine-wide /tmp/gradio other Gradio apps serve), removed at exit.
    """
    files = Path(tempfile.mkdtemp(prefix="explore-instruct-web-"))
    os.environ["GRADIO_TEMP_DIR"] = str(files / "gradio")  # read by Gradio when it builds the routes
    os.environ["GRADIO_EXAMPLES_CACHE"] = str(files / "examples")  # also served; relative to the cwd by default
    try:
        web = Web(ctx, files)
        root = web.panel.background.runs.limits.root
        if files.is_relative_to(root):
            raise ValueError(f"web: the output root {root} holds the temporary folder {files}; pick another --root")
        app = web.blocks()
        app.queue(default_concurrency_limit=16)
        import plotly.graph_objects  # noqa: F401  (here, not in the first reader's request: 1-2 s on a busy machine)

        key = token()
        hosts = allowed_hosts(host, port, allow_hosts)
        access = "a login with the token" if key else "no login"
        print(
            f"explore-instruct web on http://{host}:{port}/ (runs under {root}; {access}; Host names: "
            f"{', '.join(sorted(hosts))})",
            file=sys.stderr,
            flush=True,
        )
        app.launch(
            server_name=host,
            server_port=port,
            share=False,
            quiet=True,
            ssr_mode=False,
            mcp_server=False,
            theme=theme(),
            head=review_tab.HEAD,
            css=review_tab.CSS,
            auth=check_token(key) if key else None,
            auth_message="This chat needs its access token: any user name, the token as the password.",
            allowed_paths=[],
            blocked_paths=[str(root)],
            footer_links=[],
            app_kwargs={"middleware": [Middleware(HostCheck, allowed=hosts)]},
        )
    finally:
        shutil.rmtree(files, ignore_errors=True)
