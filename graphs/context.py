"""Run parameters: a typed context with defaults from the method and `EXPLORE_INSTRUCT_*` env fallbacks.

Context is given at every invoke and is never checkpointed, so secrets and live objects (an injected
chat model) can travel here without reaching the run's files.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

from explore_instruct.graphs.context_checks import ENV_PREFIX, ContextError, apply_env, check
from explore_instruct.tools.llm.models import DEFAULT_MODEL, ModelSpec
from explore_instruct.tools.parsing import parse_ints
from explore_instruct.tools.prompts.full import PROFILE_SAMPLING, Flavour, Profile, resolve_profile
from explore_instruct.tools.quality.degeneracy import Thresholds
from explore_instruct.tools.similarity.embeddings import DEFAULT_EMBEDDER
from explore_instruct.tools.similarity.indexes import DEFAULT_THRESHOLDS, Mode, Scope

__all__ = ["ENV_PREFIX", "LEGACY", "Context", "ContextError", "Strategy"]
Strategy = Literal["dfs", "bfs"]


# What a run.json from before a parameter existed meant by leaving it out.
LEGACY: dict[str, Any] = {"prompt_profile": "full", "min_relevance": None, "quality_filters": False}


@dataclass(kw_only=True)
class Context:
    """Parameters of one exploration run."""

    model: str = field(default=DEFAULT_MODEL, metadata={"description": "provider:model, e.g. local:smollm2"})
    base_url: str | None = field(default=None, metadata={"description": "OpenAI-compatible endpoint base URL"})
    api_key_env: str = field(default="OPENAI_API_KEY", metadata={"description": "env var holding the API key"})
    temperature: float | None = field(
        default=None, metadata={"description": "sampling temperature (default: the prompt profile's; method: 1.0)"}
    )
    repeat_penalty: float | None = field(
        default=None,
        metadata={"description": "repetition penalty for llama.cpp / vLLM / Ollama (default: the profile's)"},
    )
    prompt_profile: str = field(
        default="auto",
        metadata={"description": "compact (small/local models: short prompts, one job per call), full, or auto"},
    )
    max_retries: int = field(default=6, metadata={"description": "client retries per call (backoff, Retry-After)"})
    timeout_s: float = field(default=120.0, metadata={"description": "seconds before one call times out"})
    strategy: Strategy = field(default="dfs", metadata={"description": "dfs (the paper) or bfs (reference code)"})
    max_depth: int = field(default=2, metadata={"description": "max depth K of the task tree"})
    breadth: list[int] = field(
        default_factory=lambda: [8, 6],
        metadata={"description": "new subtasks per node at each depth 0..K-1 (the paper's B)"},
    )
    subtasks_per_call: int = field(
        default=3, metadata={"description": "subtasks asked for per lookahead/backtracking call (the paper's M)"}
    )
    examples: list[int] = field(
        default_factory=lambda: [50], metadata={"description": "examples per node at each depth 0..K (last repeats)"}
    )
    examples_per_subtask: int = field(default=2, metadata={"description": "examples with each proposed subtask"})
    examples_per_call: int = field(default=10, metadata={"description": "examples asked for per enrich call"})
    max_children: int = field(default=12, metadata={"description": "hard cap on children per task"})
    demonstrations: int = field(default=2, metadata={"description": "demonstration examples per prompt"})
    flavour: Flavour = field(default=Flavour.GENERIC, metadata={"description": "prompt flavour"})
    similarity: Mode = field(
        default="embedding",
        metadata={"description": "embedding (Chroma, cosine), rouge (ROUGE-L, the method) or exact"},
    )
    prune_threshold: float | None = field(
        default=None, metadata={"description": "task-name similarity above which a proposal is pruned (mode default)"}
    )
    filter_threshold: float | None = field(
        default=None,
        metadata={"description": "instruction similarity above which an example is dropped (mode default)"},
    )
    dedup_scope: Scope = field(
        default="tree", metadata={"description": "dedup instructions across the tree or per node"}
    )
    prune_with_reason: bool = field(
        default=False, metadata={"description": "compare task name + reason, not name only"}
    )
    min_relevance: float | None = field(
        default=0.2,
        metadata={
            "description": "drop a proposed subtask whose name's cosine similarity to the task it splits is below "
            "this (off_topic; embedding similarity only; unset: off)"
        },
    )
    quality_filters: bool = field(
        default=True, metadata={"description": "drop degenerate examples (repetition, copies, cut-off, meta input)"}
    )
    max_repeated_lines: float = field(
        default=0.3, metadata={"description": "degeneracy: share of an output's sentences that repeat"}
    )
    max_top_ngram: float = field(
        default=0.2, metadata={"description": "degeneracy: characters covered by the commonest repeated 2-gram"}
    )
    max_repeated_substring: float = field(
        default=0.3, metadata={"description": "degeneracy: the longest twice-occurring stretch, as a share"}
    )
    max_copy_overlap: float = field(
        default=0.85, metadata={"description": "degeneracy: ROUGE-L of the output against instruction or input"}
    )
    embedder: str = field(default=DEFAULT_EMBEDDER, metadata={"description": "embedding model for similarity"})
    chroma_host: str | None = field(default=None, metadata={"description": "Chroma server host (else on disk)"})
    chroma_port: int | None = field(default=None, metadata={"description": "Chroma server port"})
    seed: int = field(default=42, metadata={"description": "random seed"})
    max_concurrency: int = field(default=8, metadata={"description": "parallel LLM calls in fan-outs"})
    max_fruitless: int = field(default=3, metadata={"description": "calls in a row that add nothing before giving up"})
    max_provider_failures: int = field(
        default=8, metadata={"description": "provider errors in a row (after the client's retries) before pausing"}
    )
    max_calls: int | None = field(default=None, metadata={"description": "budget: LLM calls"})
    max_tokens: int | None = field(default=None, metadata={"description": "budget: prompt + completion tokens"})
    max_cost_usd: float | None = field(default=None, metadata={"description": "budget: USD (known prices only)"})
    judge: bool = field(default=False, metadata={"description": "score every kept example 1-5 with an LLM judge"})
    judge_model: str | None = field(
        default=None, metadata={"description": "provider:model of the judge (default: the generator's model)"}
    )
    judge_base_url: str | None = field(
        default=None, metadata={"description": "OpenAI-compatible endpoint of the judge (default: base_url)"}
    )
    judge_threshold: int = field(
        default=3, metadata={"description": "examples the judge scores below this are dropped (1-5)"}
    )
    judge_batch: int = field(default=5, metadata={"description": "examples per judge call"})
    answer_check: bool = field(
        default=True, metadata={"description": "math: re-solve each problem and drop answers that disagree"}
    )
    judge_chat_model: Any = field(
        default=None, repr=False, metadata={"description": "injected judge model (tests, apps)", "env": False}
    )
    review: bool = field(default=False, metadata={"description": "pause for a person to review proposed subtasks"})
    runs_root: str = field(default="runs", metadata={"description": "where run directories go by default"})
    run_dir: str | None = field(default=None, metadata={"description": "this run's directory"})
    # Typed Any so the context's JSON schema (Studio, /mcp) can be generated; holds a BaseChatModel.
    chat_model: Any = field(
        default=None, repr=False, metadata={"description": "injected model (tests, embedding apps)", "env": False}
    )

    def __post_init__(self) -> None:
        apply_env(self)
        for name in ("breadth", "examples"):
            try:
                setattr(self, name, parse_ints(getattr(self, name)))
            except (TypeError, ValueError) as e:
                raise ContextError(f"{name}: {e}") from None
        self.flavour = Flavour(self.flavour)
        self.validate()

    def validate(self) -> None:
        check(self)

    @property
    def prune_at(self) -> float:
        return self.prune_threshold or DEFAULT_THRESHOLDS[self.similarity][0]

    @property
    def filter_at(self) -> float:
        return self.filter_threshold or DEFAULT_THRESHOLDS[self.similarity][1]

    def breadth_at(self, depth: int) -> int:
        if depth >= self.max_depth or not self.breadth:
            return 0
        return self.breadth[min(depth, len(self.breadth) - 1)]

    def examples_at(self, depth: int) -> int:
        return self.examples[min(depth, len(self.examples) - 1)]

    def quality(self) -> Thresholds | None:
        """The degeneracy thresholds examples are held to, or None when the filters are off."""
        if not self.quality_filters:
            return None
        return Thresholds(
            self.max_repeated_lines, self.max_top_ngram, self.max_repeated_substring, self.max_copy_overlap
        )

    @property
    def profile(self) -> Profile:
        return resolve_profile(self.prompt_profile, self.model)

    def sampling(self) -> dict[str, float]:
        """Temperature and repeat penalty: the caller's, else the prompt profile's."""
        chosen = {"temperature": self.temperature, "repeat_penalty": self.repeat_penalty}
        return {k: PROFILE_SAMPLING[self.profile][k] if v is None else v for k, v in chosen.items()}

    def model_spec(self) -> ModelSpec:
        sampling = self.sampling()
        return ModelSpec(
            model=self.model,
            base_url=self.base_url,
            api_key_env=self.api_key_env,
            temperature=sampling["temperature"],
            repeat_penalty=sampling["repeat_penalty"],
            seed=self.seed,
            max_retries=self.max_retries,
            timeout_s=self.timeout_s,
        )

    def judge_spec(self) -> ModelSpec:
        """The judge's model: deterministic (temperature 0), the generator's unless told otherwise."""
        spec = self.model_spec()
        spec.model = self.judge_model or self.model
        spec.base_url = self.judge_base_url if self.judge_model else (self.judge_base_url or self.base_url)
        spec.temperature, spec.repeat_penalty = 0.0, 1.0
        return spec

    @property
    def judge_label(self) -> str:
        return self.judge_model or self.model

    def public(self) -> dict[str, Any]:
        """What may be written to the run directory: no live objects, no secrets (keys never live here).

        The profile and its sampling are written resolved, so a resumed run keeps the prompts it began with.
        """
        live = {"chat_model", "judge_chat_model"}
        out = {f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.name not in live}
        return out | {"prompt_profile": self.profile, **self.sampling()}

    @classmethod
    def from_stored(cls, params: dict[str, Any], **overrides: Any) -> Context:
        """A run's context from its run.json, with caller overrides; unknown keys (from newer or older versions)
        are left out. Runs written before prompt profiles and the relevance rule existed keep the full prompts
        and no relevance rule."""
        merged = {**LEGACY, **params, **{k: v for k, v in overrides.items() if v is not None}}
        return cls(**{k: v for k, v in merged.items() if k in cls.__dataclass_fields__})


def _plain(v: Any) -> Any:
    return v.value if isinstance(v, Flavour) else v
