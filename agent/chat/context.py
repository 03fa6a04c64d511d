"""The chat's settings (`ChatContext`) and its conversation state (`ChatState`), shared by both of its paths.

The chat's own settings read `EXPLORE_INSTRUCT_CHAT_<NAME>`; its model falls back to the run parameter's
(`EXPLORE_INSTRUCT_MODEL`, else the default, both from tools/params.py). The variables are read by the same
pydantic-settings reader as every other parameter's.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Annotated, Any, NotRequired

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AnyMessage
from langgraph.config import get_stream_writer
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from explore_instruct.agent.runs.background import Background
from explore_instruct.agent.runs.limits import Limits
from explore_instruct.agent.runs.service import Runs
from explore_instruct.tools.llm.models import split_model
from explore_instruct.tools.params import ENV_PREFIX, info, run_default
from explore_instruct.tools.settings import env_values

CHAT_PREFIX = ENV_PREFIX + "CHAT_"
# A run started from the chat goes on in the background; the reply waits this long for a pause or the end, so a
# review's proposals (or a small run's summary) come back in the same turn.
ANSWER_WITHIN_S = 3.0


def _env_model() -> str:
    return str(run_default("model"))


@dataclass(kw_only=True)
class ChatContext:
    """The chat's settings; `EXPLORE_INSTRUCT_CHAT_<FIELD>` env vars fill the ones not given."""

    model: str = field(
        default_factory=_env_model, metadata={"description": "provider:model the chat talks with (and runs use)"}
    )
    base_url: str | None = field(default=None, metadata={"description": info("base_url").description})
    run_model: str | None = field(default=None, metadata={"description": "model for runs (default: model)"})
    review: bool = field(default=True, metadata={"description": "pause runs so you can review proposed subtasks"})
    similarity: str | None = field(
        default=None, metadata={"description": f"runs' similarity: {info('similarity').description}"}
    )
    output_root: str | None = field(default=None, metadata={"description": "where runs go (default: the operator's)"})
    answer_within_s: float | None = field(
        default=None, metadata={"description": f"seconds a reply waits for a run to pause or end ({ANSWER_WITHIN_S})"}
    )
    chat_model: Any = field(default=None, repr=False, metadata={"description": "injected chat model", "env": False})
    run_chat_model: Any = field(
        default=None, repr=False, metadata={"description": "injected model for runs", "env": False}
    )

    def __post_init__(self) -> None:
        """Each setting still at its default takes its `EXPLORE_INSTRUCT_CHAT_<NAME>` value, if set."""
        at_default = {f.name for f in fields(self) if getattr(self, f.name) == _default(f)}
        for name, value in env_values(type(self), CHAT_PREFIX, names=at_default).items():
            setattr(self, name, value)

    def runs(self) -> Runs:
        defaults: dict[str, Any] = {"model": self.run_model or self.model}
        if self.base_url:
            defaults["base_url"] = self.base_url
        if self.similarity:
            defaults["similarity"] = self.similarity
        limits = Limits(output_root=self.output_root) if self.output_root else Limits()
        return Runs(limits=limits, defaults=defaults, chat_model=self.run_chat_model)

    def background(self) -> Background:
        """The chat's runs in the background (one registry per process: a later turn finds them)."""
        wait = ANSWER_WITHIN_S if self.answer_within_s is None else float(self.answer_within_s)
        return Background(self.runs(), answer_within=wait)

    def can_call_tools(self) -> bool:
        """The embedded model (and any model class without tool binding) uses the command path only."""
        if self.chat_model is not None:
            return type(self.chat_model).bind_tools is not BaseChatModel.bind_tools
        try:
            return split_model(self.model)[0] != "local"
        except ValueError:
            return False


def _default(f: Any) -> Any:
    return f.default_factory() if callable(f.default_factory) else f.default


class ChatState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    # The run whose review pause the next /approve or /reject answers.
    pending_review: NotRequired[str | None]
    # The run /status, /resume and /stats default to.
    last_run: NotRequired[str | None]


class ChatInput(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def after_run(result: dict[str, Any]) -> dict[str, Any]:
    """The state update after a run answered: it is the last run, and waits for a review if it says so."""
    return {
        "last_run": result.get("run_id"),
        "pending_review": result.get("run_id") if result.get("status") == "review" else None,
    }


def progress_writer() -> Any:
    """The graph's custom stream (run progress for the chat client), or None outside a graph run."""
    try:
        return get_stream_writer()
    except RuntimeError:
        return None
