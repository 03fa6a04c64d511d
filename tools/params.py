"""Every run parameter, defined once: name, type, default, bounds, description and environment variable.

`RunParams` is the one list. The graph's `Context` (graphs/context.py) is `RunParams` plus the live objects a run
may be handed and the methods nodes call; every face's request (agent/request.py) takes its types, bounds and
descriptions from here; the plan (tools/plan/estimate.py) and the model settings (tools/llm/models.py) take their
defaults from here; the operator caps (agent/runs/limits.py) their descriptions. A parameter added here is one
line, and its bound holds on every face.

Bounds are pydantic's (`Field(ge=..., le=...)`), so they also reach every generated JSON schema (Studio, MCP, the
LangChain tool). A value outside them is refused in one line naming the parameter and the bound, never clamped.
Values from code and config files are checked strictly (`max_depth: "2"` is a mistake in a YAML file, not a 2);
values from the environment are text, read by pydantic-settings (`EXPLORE_INSTRUCT_<NAME>`, lists as `4,3`,
flags as `on`/`off`; tools/settings.py) before the same check. Only this module spells the prefix: others import
`ENV_PREFIX` or name a variable with `env_name`.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass
from pydantic.fields import FieldInfo

from explore_instruct.tools.param_types import (
    MAX_CHILDREN,
    Breadth,
    DedupScope,
    Examples,
    ExamplesAsked,
    FlavourParam,
    PromptProfile,
    Share,
    Similarity,
    Strategy,
    counts,
)
from explore_instruct.tools.prompts.full import Flavour
from explore_instruct.tools.settings import env_values, with_env
from explore_instruct.tools.shapes.params import ShapeParams, check_shape_params
from explore_instruct.tools.similarity.embeddings import DEFAULT_EMBEDDER

__all__ = [
    "DEFAULT_MODEL",
    "ENV_PREFIX",
    "MAX_CHILDREN",
    "Breadth",
    "Examples",
    "ExamplesAsked",
    "RunParams",
    "counts",
    "default_of",
    "env_name",
    "info",
    "run_default",
]

ENV_PREFIX = "EXPLORE_INSTRUCT_"
DEFAULT_MODEL = "local:smollm2"
LOCAL_MAX_TEMPERATURE = 1.0  # the embedded model's factory runs it at no more than this


def env_name(name: str, prefix: str = ENV_PREFIX) -> str:
    return prefix + name.upper()


# ---- the one list -----------------------------------------------------------------------------------------------


def _list(*values: int) -> Any:
    return dataclasses.field(default_factory=lambda: list(values))


@with_env(ENV_PREFIX)
@dataclass(kw_only=True, config=ConfigDict(strict=True, extra="forbid"))
class RunParams(ShapeParams):
    """The parameters of one exploration run; each reads `EXPLORE_INSTRUCT_<NAME>` when not given (the shape
    parameters are a group of their own, tools/shapes/params.py)."""

    model: Annotated[str, Field(description="provider:model, e.g. local:smollm2 or openai:gpt-4o-mini")] = DEFAULT_MODEL
    base_url: Annotated[str | None, Field(description="OpenAI-compatible endpoint base URL")] = None
    api_key_env: Annotated[str, Field(description="env var holding the API key")] = "OPENAI_API_KEY"
    temperature: Annotated[
        float | None, Field(ge=0, le=2, description="sampling temperature (default: the prompt profile's; method: 1.0)")
    ] = None
    repeat_penalty: Annotated[
        float | None,
        Field(ge=0.5, le=2, description="repetition penalty for llama.cpp / vLLM / Ollama (default: the profile's)"),
    ] = None
    prompt_profile: Annotated[
        PromptProfile,
        Field(description="compact (small/local models: short prompts, one job per call), full, or auto"),
    ] = "auto"
    max_retries: Annotated[int, Field(ge=0, description="client retries per call (backoff, Retry-After)")] = 6
    timeout_s: Annotated[float, Field(gt=0, description="seconds before one call times out")] = 120.0
    strategy: Annotated[
        Strategy, Field(description="dfs (the paper), bfs (reference code) or flat (with docs: a task per chunk)")
    ] = "dfs"
    max_depth: Annotated[int, Field(ge=0, le=8, description="max depth K of the task tree")] = 2
    breadth: Annotated[
        Breadth, Field(description="new subtasks per task at each depth 0..K-1, the last repeating (the paper's B)")
    ] = _list(8, 6)
    subtasks_per_call: Annotated[
        int, Field(ge=1, description="subtasks asked for per lookahead/backtracking call (the paper's M)")
    ] = 3
    examples: Annotated[
        Examples,
        Field(description="examples per task at each depth 0..K, the last repeating"),
    ] = _list(50)
    examples_per_subtask: Annotated[int, Field(ge=1, description="examples with each proposed subtask")] = 2
    examples_per_call: Annotated[int, Field(ge=1, description="examples asked for per enrich call")] = 10
    max_children: Annotated[
        int, Field(ge=1, le=MAX_CHILDREN, description="hard cap on a task's children, seed children included")
    ] = MAX_CHILDREN
    demonstrations: Annotated[int, Field(ge=0, description="demonstration examples per prompt")] = 2
    flavour: Annotated[FlavourParam, Field(description="prompt flavour")] = Flavour.GENERIC
    similarity: Annotated[
        Similarity, Field(description="embedding (Chroma, cosine), rouge (ROUGE-L, the method) or exact")
    ] = "embedding"
    prune_threshold: Annotated[
        Share, Field(description="task-name similarity above which a proposal is pruned (mode default)")
    ] = None
    filter_threshold: Annotated[
        Share, Field(description="instruction similarity above which an example is dropped (mode default)")
    ] = None
    dedup_scope: Annotated[DedupScope, Field(description="dedup instructions across the tree or per node")] = "tree"
    prune_with_reason: Annotated[bool, Field(description="compare task name + reason, not name only")] = False
    min_relevance: Annotated[
        Share,
        Field(
            description="drop a proposed subtask whose name's cosine similarity to the task it splits and to the "
            "root are both below this (off_topic; offline embedder; with embedding similarity, and in every mode on "
            "the compact profile; unset: off)"
        ),
    ] = 0.2
    min_root_relevance: Annotated[
        Share,
        Field(
            description="drop a proposed subtask whose name's cosine similarity to the root (the domain) is below "
            "this (off_topic); a bare sentence's first level is pooled from 3 samples, ranked by it (unset: the "
            "rule of runs before it: relevance with embedding similarity only)"
        ),
    ] = 0.1
    docs: Annotated[
        str | None,
        Field(
            description="a corpus directory made by `explore-instruct ingest`: tasks and examples are grounded in its "
            "chunks, every example cites its sources (domain optional: the root is named from the corpus)"
        ),
    ] = None
    retrieve_k: Annotated[
        int, Field(ge=1, le=10, description="corpus chunks (MMR) shown to each grounded decomposition or enrich call")
    ] = 3
    min_grounding: Annotated[
        float,
        Field(
            ge=0,
            le=1,
            description="a proposed task whose best chunk's cosine similarity is below this is dropped "
            "(ungrounded_task; with docs)",
        ),
    ] = 0.25
    allow_parametric: Annotated[
        bool, Field(description="keep (flagged) proposed tasks the corpus does not support, instead of dropping them")
    ] = False
    quality_filters: Annotated[
        bool, Field(description="drop degenerate examples (repetition, copies, cut-off, meta input)")
    ] = True
    max_repeated_lines: Annotated[
        float, Field(gt=0, le=1, description="degeneracy: share of an output's sentences that repeat")
    ] = 0.3
    max_top_ngram: Annotated[
        float, Field(gt=0, le=1, description="degeneracy: characters covered by the commonest repeated 2-gram")
    ] = 0.2
    max_repeated_substring: Annotated[
        float, Field(gt=0, le=1, description="degeneracy: the longest twice-occurring stretch, as a share")
    ] = 0.3
    max_copy_overlap: Annotated[
        float, Field(gt=0, le=1, description="degeneracy: ROUGE-L of the output against instruction or input")
    ] = 0.85
    embedder: Annotated[str, Field(description="embedding model for similarity")] = DEFAULT_EMBEDDER
    chroma_host: Annotated[str | None, Field(description="Chroma server host (else on disk)")] = None
    chroma_port: Annotated[int | None, Field(ge=1, le=65535, description="Chroma server port")] = None
    seed: Annotated[int, Field(description="random seed")] = 42
    max_concurrency: Annotated[int, Field(ge=1, description="parallel LLM calls in fan-outs")] = 8
    max_fruitless: Annotated[int, Field(ge=1, description="calls in a row that add nothing before giving up")] = 3
    lookahead_retries: Annotated[
        int, Field(ge=0, le=3, description="more lookahead calls for a task whose lookahead came back short")
    ] = 1
    max_provider_failures: Annotated[
        int, Field(ge=1, description="provider errors in a row (after the client's retries) before pausing")
    ] = 8
    max_calls: Annotated[int | None, Field(ge=0, description="budget: LLM calls")] = None
    max_tokens: Annotated[int | None, Field(ge=0, description="budget: prompt + completion tokens")] = None
    max_cost_usd: Annotated[float | None, Field(ge=0, description="budget: USD (known prices only)")] = None
    judge: Annotated[bool, Field(description="score every kept example 1-5 with an LLM judge")] = False
    judge_model: Annotated[
        str | None, Field(description="provider:model of the judge (default: the generator's model)")
    ] = None
    judge_base_url: Annotated[
        str | None, Field(description="OpenAI-compatible endpoint of the judge (default: base_url)")
    ] = None
    judge_threshold: Annotated[
        int, Field(ge=1, le=5, description="examples the judge scores below this are dropped (1-5)")
    ] = 3
    judge_batch: Annotated[int, Field(ge=1, le=20, description="examples per judge call")] = 5
    answer_check: Annotated[bool, Field(description="math: re-solve each problem and drop answers that disagree")] = (
        True
    )
    review: Annotated[bool, Field(description="pause for a person to review proposed subtasks")] = False
    runs_root: Annotated[str, Field(description="where run directories go by default")] = "runs"
    run_dir: Annotated[str | None, Field(description="this run's directory")] = None

    def __post_init__(self) -> None:
        """The rules that tie two parameters together."""
        wide = [b for b in self.breadth[: self.max_depth] if b > self.max_children]
        if wide:
            raise ValueError(f"breadth: {wide[0]} is above max_children ({self.max_children}), a task's most children")
        local = self.model.strip().lower().startswith("local:")
        if local and self.temperature is not None and self.temperature > LOCAL_MAX_TEMPERATURE:
            raise ValueError(
                f"temperature: {self.temperature} is above {LOCAL_MAX_TEMPERATURE}, the most the embedded model "
                "runs at (tools/llm/models.py)"
            )
        if self.strategy == "flat" and not self.docs:
            raise ValueError("strategy: flat generates from a corpus's chunks; give docs (a corpus) with it")
        check_shape_params(self)


def breadth_at(breadth: Sequence[int], max_depth: int, depth: int) -> int:
    """New children a task at `depth` may get: none at depth K; a list shorter than K repeats its last value."""
    return 0 if depth >= max_depth or not breadth else breadth[min(depth, len(breadth) - 1)]


def examples_at(examples: Sequence[int], depth: int) -> int:
    """Examples a task at `depth` gets; a list shorter than the tree repeats its last value."""
    return examples[min(depth, len(examples) - 1)]


# ---- reading the definition ---------------------------------------------------------------------------------


def info(name: str, cls: type = RunParams) -> FieldInfo:
    """A parameter's pydantic field (type, bounds as `metadata`, description, default)."""
    hint = typing.get_type_hints(cls, include_extras=True)[name]
    return FieldInfo.from_annotated_attribute(hint, default_of(name, cls))


def run_default(name: str) -> Any:
    """Run parameter `name` as the environment sets it, else its default: for settings made outside a run's
    context (a model for `tree`, `judge`, the chat) that follow the same variables."""
    return env_values(RunParams, ENV_PREFIX, names=(name,)).get(name, default_of(name))


def default_of(name: str, cls: type = RunParams) -> Any:
    """A parameter's default as code states it (no environment)."""
    f = cls.__dataclass_fields__[name]  # type: ignore[attr-defined]
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None if f.default is dataclasses.MISSING else f.default
