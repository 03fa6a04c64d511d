"""The explore request: what a caller may set for one exploration, defined once for every face.

The CLI's `run` options, the LangChain tool's schema, the MCP `explore` tool's input schema and the chat's
`/explore key=value` options are all generated from `ExploreRequest`, so a field added here (one line) reaches
every face. A field that is a run parameter says which `Context` field it fills (`To(...)`); the others
(domain, seed, output_dir) are what the face itself acts on.

The model is strict about names (`extra="forbid"`: `depht=5` is an error, not a default run) and lenient about
the forms people and LLMs write numbers in (`"4,3"`, `[4, 3]`, `4`).

A run parameter's type, bounds and description come from its one definition (`RunParams`, tools/params.py) by
`asks(...)`; the default its description states is the one a caller gets: the caller sizes
(agent/runs/sizing.py) where there is one, else the definition's. Nothing here repeats a number.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from explore_instruct.agent.runs.sizing import CALLER_DEFAULTS
from explore_instruct.tools.param_types import Breadth, ExamplesAsked, PromptProfile
from explore_instruct.tools.params import info
from explore_instruct.tools.parsing import parse_bool
from explore_instruct.tools.shapes.params import Shape

# Short names a person may type for a field: the CLI's `--out` / `--max-cost` and the chat's `out=` / `max_cost=`.
ALIASES = {"out": "output_dir", "max_cost": "max_cost_usd"}
BUDGETS = ("max_calls", "max_tokens", "max_cost_usd")


@dataclass(frozen=True)
class To:
    """Marks a request field as a run parameter: the `Context` field it sets (default: the same name)."""

    name: str | None = None


_BOUNDS = ("ge", "gt", "le", "lt")


def stated(name: str, sizes: dict[str, Any] | None = None) -> str:
    """Run parameter `name`'s description with the default a face gives (`sizes`, else the definition's)."""
    base = info(name)
    text = (base.description or name).rstrip(".")
    default = (sizes or {}).get(name, base.default)
    if ":" not in text.split(" ")[0][:-1]:  # not `provider:model ...`
        text = text[0].upper() + text[1:]
    if default is None:  # the description says what leaving it out means
        return text + "."
    shown = getattr(default, "value", default)
    return f"{text}; default {str(shown).lower() if isinstance(shown, bool) else shown}."


def asks(name: str, *, note: str = "", default: str | None = None) -> Any:
    """A request field for run parameter `name`: its bounds and description from the one definition, stating
    the default a caller gets (`default` in words where the operator decides it), unset unless given."""
    bounds = {k: getattr(m, k) for m in info(name).metadata for k in _BOUNDS if getattr(m, k, None) is not None}
    text = stated(name, CALLER_DEFAULTS)
    if note or default:
        text = text.removesuffix(".").split("; default ")[0] + note + (f"; default {default}." if default else ".")
    return Field(default=None, description=text, **bounds)


class ExploreRequest(BaseModel):
    """Explore a domain as a tree of tasks and generate instruction-tuning examples for each task.

    Returns a compact result (run id, counts, file paths, cost), never the examples themselves.
    """

    model_config = ConfigDict(extra="forbid")

    domain: str | None = Field(
        default=None,
        max_length=500,
        description="The domain in one sentence, e.g. 'rewriting legal contracts in plain English'.",
    )
    seed: str | None = Field(
        default=None, description="Instead of a domain: a YAML/JSON seed tree file or an Explore-Instruct directory."
    )
    preset: str | None = Field(
        default=None,
        description="Instead of a domain: a built-in seed tree, rewriting, brainstorming or math (sets the flavour).",
    )
    docs: Annotated[str | None, To()] = asks("docs", note="; a remote caller's must lie under the seed root")
    depth: Annotated[int | None, To("max_depth")] = asks("max_depth")
    breadth: Annotated[Breadth | None, To()] = asks("breadth")
    examples: Annotated[ExamplesAsked | None, To()] = asks("examples")
    model: Annotated[str | None, To()] = asks("model", default="the operator's")
    # At least 0 (an operator's budget of 0 stops a run before its first call); `Limits` holds callers to > 0.
    max_calls: Annotated[int | None, To()] = asks("max_calls", note="; at most the operator cap")
    max_tokens: Annotated[int | None, To()] = asks("max_tokens", note="; at most the operator cap")
    max_cost_usd: Annotated[float | None, To()] = asks("max_cost_usd", note="; at most the operator cap")
    prompt_profile: Annotated[PromptProfile | None, To()] = asks(
        "prompt_profile", default="auto, which is compact for local:* models"
    )
    judge: Annotated[bool | None, To()] = asks("judge")
    judge_model: Annotated[str | None, To()] = asks("judge_model")
    shape: Annotated[Shape | None, To()] = asks("shape")
    turns: Annotated[int | None, To()] = asks("turns")
    tools: Annotated[str | None, To()] = asks("tools", note="; a remote caller's must lie under the seed root")
    no_tool_share: Annotated[float | None, To()] = asks("no_tool_share")
    output_dir: str | None = Field(
        default=None, description="Run directory, relative to the operator's output root (default: a new name)."
    )
    wait: bool | None = Field(default=None, description="Answer when the run ends (default: at once, it goes on).")
    plan: bool | None = Field(
        default=None, description="Only plan: tasks per depth, calls, tokens and a cost range; nothing runs or is paid."
    )

    @field_validator("*", mode="before")
    @classmethod
    def _flags(cls, v: Any, info: ValidationInfo) -> Any:
        """A bool field written as text (`wait=on` in the chat) is read by the one flag parser."""
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(v, str) and field is not None and bool in (field.annotation, *typing.get_args(field.annotation)):
            return parse_bool(v)
        return v

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, v: str | None) -> str | None:
        from explore_instruct.tools.tree.presets import PRESETS

        if v is not None and v.strip().lower() not in PRESETS:
            raise ValueError(f"{v!r} is not one of {', '.join(PRESETS)}")
        return None if v is None else v.strip().lower()

    @model_validator(mode="after")
    def _one_source(self) -> ExploreRequest:
        given = sum(map(bool, (self.domain and self.domain.strip(), self.seed, self.preset)))
        if given > 1 or (given == 0 and not self.docs):  # with docs alone the root is named from the corpus
            raise ValueError("give exactly one of domain, seed or preset")
        return self

    def preset_seed(self) -> str | None:
        """The preset's seed file (our own data, so no seed-root rule applies to it), or None."""
        from explore_instruct.tools.tree.presets import preset

        return str(preset(self.preset).path) if self.preset else None

    def context_params(self) -> dict[str, Any]:
        """The run parameters this request sets (the fields marked `To`), by their `Context` names."""
        params = {}
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            for mark in field.metadata:
                if isinstance(mark, To) and value is not None:
                    params[mark.name or name] = value
        if self.preset:
            from explore_instruct.tools.tree.presets import preset

            params["flavour"] = preset(self.preset).flavour.value
        return params


def run_param(name: str) -> str | None:
    """The run parameter request field `name` sets (`depth` -> `max_depth`), or None for the face's own fields."""
    for mark in ExploreRequest.model_fields[name].metadata:
        if isinstance(mark, To):
            return mark.name or name
    return None


def field_for(name: str) -> str:
    """A field's name from what a person typed (`out` -> `output_dir`); unknown names are returned as given."""
    return ALIASES.get(name, name)
