"""A chat graph a person talks to (Studio chat, Agent Chat UI, any LangGraph client) to build a dataset.

Two paths, one state:
- **commands** (`/explore`, `/status`, `/resume`, `/runs`, `/export`, `/stats`, `/approve`, `/reject`, `/help`)
  are parsed deterministically, so the chat works on any model, the 135M embedded one included;
- **free text** goes to a tool-calling agent (`create_agent`) when the model can call tools; otherwise the
  reply explains the commands and suggests one for what was asked.

A review pause of the exploration becomes a chat message listing the proposals; the next `/approve` or
`/reject 1,3` resumes the run. Replies are compact summaries (counts, ids, paths), never the data.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass, field, fields
from typing import Annotated, Any, Literal, NotRequired

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langchain_core.tools import BaseTool
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field, ValidationError
from typing_extensions import TypedDict

from explore_instruct.agent.limits import LimitError, Limits
from explore_instruct.agent.runs import ExploreRequest, Runs, one_line, own_http_client
from explore_instruct.agent.tool import DESCRIPTION, as_tool
from explore_instruct.tools.llm import DEFAULT_MODEL, ModelSpec, make_chat_model, split_model

ENV_PREFIX = "EXPLORE_INSTRUCT_CHAT_"

HELP = """I build instruction-tuning data for a domain. Commands:
- `/explore <domain> [depth=2 breadth=8,6 examples=50 model=provider:name review=on|off max_calls=N \
max_tokens=N max_cost=USD out=dir]` (or `seed=<file>` instead of a domain)
- `/approve` or `/reject 1,3` to answer a review of proposed subtasks
- `/status [run]`, `/runs`, `/resume [run] [max_calls=N max_tokens=N max_cost=USD]`
- `/export <run> <alpaca|jsonl|sharegpt|messages|hf> [n=N seed=S]`, `/stats [run]`
- `/help`"""

SYSTEM = f"""You help a person build instruction-tuning datasets with the explore_instruct tools.
Start runs with `explore`; keep them small unless asked (depth 1-2, breadth 2-4, examples 5-20).
Answer briefly with run ids, counts, paths and cost; never paste examples or whole files.
When a run waits for review, list its proposals by number and ask which to reject, then call `review`.
The person may also type commands:
{HELP}"""


# ---- context and state -----------------------------------------------------------------------------


def _env_model() -> str:
    return os.environ.get("EXPLORE_INSTRUCT_MODEL", DEFAULT_MODEL)


@dataclass(kw_only=True)
class ChatContext:
    """The chat's settings; `EXPLORE_INSTRUCT_CHAT_<FIELD>` env vars fill the ones not given."""

    model: str = field(
        default_factory=_env_model, metadata={"description": "provider:model the chat talks with (and runs use)"}
    )
    base_url: str | None = field(default=None, metadata={"description": "OpenAI-compatible endpoint base URL"})
    run_model: str | None = field(default=None, metadata={"description": "model for runs (default: model)"})
    review: bool = field(default=True, metadata={"description": "pause runs so you can review proposed subtasks"})
    similarity: str | None = field(default=None, metadata={"description": "run similarity: embedding|rouge|exact"})
    output_root: str | None = field(default=None, metadata={"description": "where runs go (default: the operator's)"})
    chat_model: Any = field(default=None, repr=False, metadata={"description": "injected chat model", "env": False})
    run_chat_model: Any = field(
        default=None, repr=False, metadata={"description": "injected model for runs", "env": False}
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            env = os.environ.get(ENV_PREFIX + f.name.upper())
            if f.metadata.get("env") is False or env is None:
                continue
            if f.name == "review" and self.review is True:
                self.review = env.strip().lower() in {"1", "true", "yes", "on"}
            elif f.name == "model" and self.model == _env_model():
                self.model = env
            elif f.name not in {"review", "model"} and getattr(self, f.name) is None:
                setattr(self, f.name, env)

    def runs(self) -> Runs:
        defaults: dict[str, Any] = {"model": self.run_model or self.model}
        if self.base_url:
            defaults["base_url"] = self.base_url
        if self.similarity:
            defaults["similarity"] = self.similarity
        limits = Limits(output_root=self.output_root) if self.output_root else Limits()
        return Runs(limits=limits, defaults=defaults, chat_model=self.run_chat_model)

    def can_call_tools(self) -> bool:
        """The embedded model (and any model class without tool binding) uses the command path only."""
        if self.chat_model is not None:
            return type(self.chat_model).bind_tools is not BaseChatModel.bind_tools
        try:
            return split_model(self.model)[0] != "local"
        except ValueError:
            return False


class ChatState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    # The run whose review pause the next /approve or /reject answers.
    pending_review: NotRequired[str | None]
    # The run /status, /resume and /stats default to.
    last_run: NotRequired[str | None]


class ChatInput(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


# ---- parsing ---------------------------------------------------------------------------------------


class CommandError(ValueError):
    """A command that cannot be read; the reply says how to write it."""


_OPTION = re.compile(r"""(?:^|\s)([a-z_]+)=("[^"]*"|'[^']*'|\S+)""")
EXPLORE_OPTIONS = {
    "depth": "depth",
    "breadth": "breadth",
    "examples": "examples",
    "model": "model",
    "max_calls": "max_calls",
    "max_tokens": "max_tokens",
    "max_cost": "max_cost_usd",
    "max_cost_usd": "max_cost_usd",
    "out": "output_dir",
    "seed": "seed",
}
BUDGET_OPTIONS = {"max_calls": "max_calls", "max_tokens": "max_tokens", "max_cost": "max_cost_usd"}


@dataclass
class Command:
    name: str
    args: list[str]
    options: dict[str, str]


def parse_command(text: str) -> Command | None:
    """`/name free words key=value ...`; values may be quoted. None when the text is not a command."""
    text = text.strip()
    if not text.startswith("/"):
        return None
    head, _, rest = text[1:].partition(" ")
    options = {k: v[1:-1] if v[:1] in "\"'" and v[-1:] == v[:1] else v for k, v in _OPTION.findall(rest)}
    words = _OPTION.sub(" ", rest).split()
    return Command(head.lower(), words, options)


def _flag(value: str) -> bool:
    v = value.strip().lower()
    if v in {"on", "yes", "true", "1"}:
        return True
    if v in {"off", "no", "false", "0"}:
        return False
    raise CommandError(f"review={value}: use on or off")


def _numbers(words: list[str]) -> list[int]:
    out = []
    for part in re.split(r"[,\s]+", " ".join(words)):
        if not part:
            continue
        if not part.isdigit():
            raise CommandError(f"/reject {' '.join(words)}: give proposal numbers, e.g. /reject 1,3")
        out.append(int(part))
    return out


def explore_request(cmd: Command) -> tuple[ExploreRequest, bool | None]:
    unknown = sorted(set(cmd.options) - set(EXPLORE_OPTIONS) - {"review"})
    if unknown:
        raise CommandError(f"/explore: unknown option {unknown[0]}= (known: {', '.join(sorted(EXPLORE_OPTIONS))})")
    params: dict[str, Any] = {EXPLORE_OPTIONS[k]: v for k, v in cmd.options.items() if k != "review"}
    domain = " ".join(cmd.args).strip().strip("\"'")
    if domain:
        params["domain"] = domain
    review = _flag(cmd.options["review"]) if "review" in cmd.options else None
    return ExploreRequest(**params), review


def suggest(text: str) -> str | None:
    """A command for a plain request like "build me instruction data for legal contract rewriting, depth 2"."""
    opts = []
    for key in ("depth", "breadth", "examples"):
        m = re.search(rf"\b{key}\s*(?:=|:|of)?\s*(\d+(?:\s*,\s*\d+)*)", text, re.I)
        if m:
            opts.append(f"{key}={m.group(1).replace(' ', '')}")
            text = text[: m.start()] + text[m.end() :]
    m = re.search(r"\b(?:for|about|on)\s+(.+)$", text, re.I)
    if not m:
        return None
    # Drop what removing the options left behind: trailing punctuation and joining words ("..., with").
    domain = re.sub(r"(?:[\s,.;:!?]+|\b(?:with|and|at|of|using|to)\b)+$", "", m.group(1)).strip()
    return f"/explore {domain} {' '.join(opts)}".strip() if domain else None


# ---- replies ---------------------------------------------------------------------------------------


def _money(cost: Any) -> str:
    return "unknown (model price not listed)" if cost is None else f"${cost:.4f}"


def _per_depth(d: dict[str, Any]) -> str:
    return ", ".join(f"depth {k}: {v}" for k, v in d.items())


def describe(result: dict[str, Any]) -> str:
    """A run result (from explore, resume or status) as a short chat reply."""
    rid, status = result.get("run_id"), result.get("status")
    usage = f"{result.get('calls', 0)} calls, {result.get('tokens', 0):,} tokens, cost {_money(result.get('cost_usd'))}"
    if status == "review":
        lines = [f"Run `{rid}` proposes {len(result.get('proposals', []))} subtasks:"]
        for p in result.get("proposals", []):
            reason = str(p.get("reason") or "")
            reason = reason if len(reason) <= 120 else reason[:117] + "..."
            lines.append(f"{p['n']}. **{p['name']}** — {reason}")
        lines.append("Reply `/approve` to keep them all, or `/reject 1,3` to drop some.")
        return "\n".join(lines)
    if status in ("budget", "provider"):
        how = (
            f"`/resume {rid} max_calls=N` continues with a larger budget."
            if status == "budget"
            else f"`/resume {rid}` continues once the provider answers again."
        )
        return (
            f"Run `{rid}` stopped: {result.get('stopped_by')}. So far {result.get('tasks', 0)} tasks and "
            f"{result.get('examples', 0)} examples ({usage}). {how}"
        )
    if status == "done":
        per = result.get("tasks_per_depth")
        shape = f" ({_per_depth(per)})" if per else ""
        pruned = f", {result['tasks_pruned']} pruned" if result.get("tasks_pruned") else ""
        path = (result.get("paths") or {}).get("examples") or result.get("run_dir")
        return (
            f"Run `{rid}` is done: {result.get('tasks', 0)} tasks{shape}{pruned}, {result.get('examples', 0)} "
            f"examples; {usage}.\nExamples: `{path}`. `/export {rid} alpaca` writes a training file."
        )
    return (
        f"Run `{rid}` is {status}: {result.get('tasks', 0)} tasks, {result.get('examples', 0)} examples so far "
        f"({usage}). `/resume {rid}` continues it."
    )


def describe_runs(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No runs yet. Start one with `/explore <domain>`."
    lines = [f"{len(rows)} runs, newest first:"]
    for r in rows[:20]:
        if r.get("error"):
            lines.append(f"- `{r['run_id']}`: unreadable ({r['error']})")
        else:
            lines.append(
                f"- `{r['run_id']}` {r['status']}: {r.get('tasks', 0)} tasks, {r.get('examples', 0)} examples"
                + (f" — {r['domain']}" if r.get("domain") else "")
            )
    return "\n".join(lines)


def describe_export(r: dict[str, Any]) -> str:
    files = ", ".join(f"`{f}`" for f in r.get("files", []))
    return f"Exported {r['examples']} examples of `{r['run_id']}` as {r['format']}: {files}. {r['summary']}."


def describe_stats(r: dict[str, Any]) -> str:
    within = (r.get("rouge_l_within_nodes") or {}).get("mean")
    parts = [
        f"`{r['run_id']}`: {r.get('tasks', 0)} tasks, {r.get('examples', 0)} examples",
        f"tasks per depth {r.get('nodes_per_depth')}",
        f"examples per depth {r.get('examples_per_depth')}",
        f"ROUGE-L within tasks {within}, overall {r.get('rouge_l_overall')} (lower is more diverse)",
    ]
    run = r.get("run") or {}
    if run:
        parts.append(f"{run.get('calls', 0)} calls, cost {_money(run.get('cost_usd'))}, {run.get('dropped', 0)} drops")
    return "; ".join(parts) + "."


# ---- the command path ------------------------------------------------------------------------------


def _text(message: AnyMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    # Agent Chat UI sends content blocks: keep the text ones.
    parts = [p if isinstance(p, str) else str(p.get("text", "")) for p in content if isinstance(p, str | dict)]
    return " ".join(parts)


def _last_human(state: ChatState) -> str:
    for m in reversed(state.get("messages", [])):
        if isinstance(m, HumanMessage):
            return _text(m).strip()
    return ""


def _progress() -> Any:
    try:
        return get_stream_writer()
    except RuntimeError:  # called outside a graph run
        return None


def _after_run(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "last_run": result.get("run_id"),
        "pending_review": result.get("run_id") if result.get("status") == "review" else None,
    }


async def run_command(cmd: Command, state: ChatState, ctx: ChatContext) -> tuple[str, dict[str, Any]]:
    """One command: the reply text and the state update."""
    runs = ctx.runs()
    last = state.get("last_run")
    if cmd.name in {"help", "start", "?"}:
        return HELP, {}
    if cmd.name == "explore":
        req, review = explore_request(cmd)
        result = await runs.explore(req, review=ctx.review if review is None else review, progress=_progress())
        return describe(result), _after_run(result)
    if cmd.name in {"approve", "reject"}:
        pending = state.get("pending_review")
        if not pending:
            return "Nothing is waiting for a review. `/runs` lists runs; `/status <run>` shows one.", {}
        reject = _numbers(cmd.args) if cmd.name == "reject" else []
        if cmd.name == "reject" and not reject:
            raise CommandError("/reject: give proposal numbers, e.g. /reject 1,3")
        result = await runs.resume(pending, reject=reject, progress=_progress())
        return describe(result), _after_run(result)
    if cmd.name == "resume":
        run = cmd.args[0] if cmd.args else last
        if not run:
            raise CommandError("/resume: which run? `/runs` lists them")
        budgets = _budgets(cmd)
        info = await runs.status(run)
        if info["status"] == "review":  # a person is here: show the proposals rather than accept them unseen
            return describe(info), {"last_run": info["run_id"], "pending_review": info["run_id"]}
        result = await runs.resume(run, progress=_progress(), **budgets)
        return describe(result), _after_run(result)
    if cmd.name == "status":
        run = cmd.args[0] if cmd.args else last
        if not run:
            return describe_runs(await runs.list_runs(limit=10)), {}
        info = await runs.status(run)
        update = {"last_run": info["run_id"]}
        if info["status"] == "review":
            update["pending_review"] = info["run_id"]
        return describe(info), update
    if cmd.name in {"runs", "list"}:
        return describe_runs(await runs.list_runs()), {}
    if cmd.name == "export":
        run = cmd.args[0] if cmd.args else last
        if not run:
            raise CommandError("/export <run> <format>: which run? `/runs` lists them")
        fmt = cmd.args[1] if len(cmd.args) > 1 else cmd.options.get("format", "jsonl")
        n = int(cmd.options["n"]) if cmd.options.get("n", "").isdigit() else None
        seed = int(cmd.options["seed"]) if cmd.options.get("seed", "").isdigit() else 0
        return describe_export(await runs.export(run, fmt, n=n, seed=seed)), {"last_run": run}
    if cmd.name == "stats":
        run = cmd.args[0] if cmd.args else last
        if not run:
            raise CommandError("/stats <run>: which run? `/runs` lists them")
        return describe_stats(await runs.stats(run)), {"last_run": run}
    raise CommandError(f"/{cmd.name}: unknown command")


def _budgets(cmd: Command) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in cmd.options.items():
        if key not in BUDGET_OPTIONS:
            raise CommandError(f"/resume: unknown option {key}= (known: {', '.join(BUDGET_OPTIONS)})")
        try:
            out[BUDGET_OPTIONS[key]] = float(value) if key == "max_cost" else int(value)
        except ValueError:
            raise CommandError(f"/resume: {key}={value} is not a number") from None
    return out


# ---- the tool-calling path -------------------------------------------------------------------------


class RunRef(BaseModel):
    run: str = Field(description="A run id (its directory name under the output root).")


class ReviewArgs(BaseModel):
    run: str = Field(description="The run waiting for a review.")
    reject: list[int] = Field(default_factory=list, description="Numbers of the proposals to drop; [] keeps all.")


class ResumeArgs(BaseModel):
    run: str = Field(description="A run id.")
    max_calls: int | None = Field(default=None, gt=0, description="New budget: LLM calls.")
    max_tokens: int | None = Field(default=None, gt=0, description="New budget: tokens.")
    max_cost_usd: float | None = Field(default=None, gt=0, description="New budget: USD.")


class ExportArgs(BaseModel):
    run: str = Field(description="A run id.")
    format: Literal["alpaca", "jsonl", "sharegpt", "messages", "hf"] = Field(default="jsonl")
    n: int | None = Field(default=None, gt=0, description="Examples to sample (default: all).")


class NoArgs(BaseModel):
    pass


def chat_tools(runs: Runs, ctx: ChatContext, seen: dict[str, Any]) -> list[BaseTool]:
    """The agent's tools; `seen` records the last run and any review pause so commands can follow up."""

    def note(result: dict[str, Any]) -> dict[str, Any]:
        seen.update(_after_run(result))
        return result

    async def explore(**kw: Any) -> dict[str, Any]:
        return note(await runs.explore(ExploreRequest(**kw), review=ctx.review, progress=_progress()))

    async def status(run: str) -> dict[str, Any]:
        return await runs.status(run)

    async def list_runs() -> list[dict[str, Any]]:
        return await runs.list_runs(limit=20)

    async def review(run: str, reject: list[int]) -> dict[str, Any]:
        return note(await runs.resume(run, reject=reject, progress=_progress()))

    async def resume(run: str, **budgets: Any) -> dict[str, Any]:
        return note(await runs.resume(run, progress=_progress(), **budgets))

    async def export(run: str, format: str = "jsonl", n: int | None = None) -> dict[str, Any]:
        return await runs.export(run, format, n=n)

    async def stats(run: str) -> dict[str, Any]:
        return await runs.stats(run)

    return [
        as_tool("explore", DESCRIPTION, ExploreRequest, explore),
        as_tool("status", "Where a run stands: status, counts, cost, proposals waiting.", RunRef, status),
        as_tool("list_runs", "The newest runs with status and counts.", NoArgs, list_runs),
        as_tool(
            "review", "Answer a run's review pause: reject proposals by number, keep the rest.", ReviewArgs, review
        ),
        as_tool("resume", "Continue a stopped run, optionally with a larger budget.", ResumeArgs, resume),
        as_tool("export", "Write a run's examples as a training file; returns the file paths.", ExportArgs, export),
        as_tool("stats", "Shape and diversity of a run's dataset.", RunRef, stats),
    ]


async def agent_turn(state: ChatState, ctx: ChatContext) -> dict[str, Any]:
    from langchain.agents import create_agent

    http = None
    model = ctx.chat_model
    if model is None:
        spec = ModelSpec(model=ctx.model, temperature=0.0)
        if ctx.base_url:
            spec.base_url = ctx.base_url
        model, http = own_http_client(await asyncio.to_thread(make_chat_model, spec))
    seen: dict[str, Any] = {}
    try:
        agent = create_agent(model, tools=chat_tools(ctx.runs(), ctx, seen), system_prompt=SYSTEM)
        result = await agent.ainvoke({"messages": list(state["messages"])})
    finally:
        if http is not None:
            await http.aclose()
    known = {m.id for m in state["messages"]}
    update: dict[str, Any] = {"messages": [m for m in result["messages"] if m.id not in known]}
    if seen:
        update.update(seen)
    return update


# ---- the graph -------------------------------------------------------------------------------------


def route(state: ChatState, runtime: Runtime[ChatContext]) -> Literal["command", "agent", "guide"]:
    text = _last_human(state)
    if text.startswith("/"):
        return "command"
    return "agent" if runtime.context.can_call_tools() else "guide"


async def command(state: ChatState, runtime: Runtime[ChatContext]) -> dict[str, Any]:
    """The deterministic path: every failure is a one-line reply, the chat goes on."""
    cmd = parse_command(_last_human(state))
    assert cmd is not None
    try:
        reply, update = await run_command(cmd, state, runtime.context)
    except Exception as e:
        hint = " `/help` lists the commands." if isinstance(e, CommandError | LimitError | ValidationError) else ""
        reply, update = f"Error: {one_line(e).rstrip('.')}.{hint}", {}
    return {"messages": [AIMessage(reply)], **update}


async def agent(state: ChatState, runtime: Runtime[ChatContext]) -> dict[str, Any]:
    try:
        return await agent_turn(state, runtime.context)
    except Exception as e:
        return {"messages": [AIMessage(f"Error: {one_line(e)}. The commands still work: `/help`.")]}


def guide(state: ChatState) -> dict[str, Any]:
    """Models without tool calling (the embedded one): explain the commands and suggest one."""
    text = _last_human(state)
    idea = suggest(text) if text else None
    lead = f"This model cannot call tools, so I work by commands. Did you mean:\n`{idea}`\n\n" if idea else ""
    return {"messages": [AIMessage(lead + HELP)]}


builder = StateGraph(ChatState, context_schema=ChatContext, input_schema=ChatInput)
builder.add_node("command", command)
builder.add_node("agent", agent)
builder.add_node("guide", guide)
builder.add_conditional_edges(START, route)
builder.add_edge("command", END)
builder.add_edge("agent", END)
builder.add_edge("guide", END)

graph = builder.compile(name="chat")
