"""The graph's context: the run parameters of `tools/params.py` plus the live objects a run may be handed.

Context is given at every invoke and is never checkpointed, so secrets and live objects (an injected chat model)
can travel here without reaching the run's files. Each parameter (type, default, bounds, description and its
`EXPLORE_INSTRUCT_<NAME>` fallback) is defined once, in `RunParams`; this class adds what nodes ask of them.
It stays a (pydantic) dataclass: LangGraph builds Studio's and the Agent Server's context schema from it, and
`dataclasses.replace` hands a run its model.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Annotated, Any

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass

from explore_instruct.tools.llm.models import ModelSpec
from explore_instruct.tools.params import ENV_PREFIX, MAX_CHILDREN, RunParams, breadth_at, examples_at
from explore_instruct.tools.prompts.full import PROFILE_SAMPLING, Flavour, Profile, resolve_profile
from explore_instruct.tools.quality.degeneracy import Thresholds
from explore_instruct.tools.settings import with_env
from explore_instruct.tools.similarity.indexes import DEFAULT_THRESHOLDS

__all__ = ["LEGACY", "Context"]

# What a run.json from before a parameter existed meant by leaving it out.
LEGACY: dict[str, Any] = {
    "prompt_profile": "full",
    "min_relevance": None,
    "quality_filters": False,
    "min_root_relevance": None,  # before it: relevance with embedding similarity only, no pooled first level
    "lookahead_retries": 0,  # before it: a short lookahead was widened by backtracking only
}


@with_env(ENV_PREFIX)
@dataclass(kw_only=True, config=ConfigDict(strict=True, extra="forbid"))
class Context(RunParams):
    """Parameters of one exploration run, and the models a caller injects (never written anywhere)."""

    # Typed Any so the context's JSON schema (Studio, /mcp) can be generated; each holds a BaseChatModel.
    judge_chat_model: Annotated[Any, Field(description="injected judge model (tests, apps)")] = None
    chat_model: Annotated[Any, Field(description="injected model (tests, embedding apps)")] = None

    @property
    def prune_at(self) -> float:
        return self.prune_threshold or DEFAULT_THRESHOLDS[self.similarity][0]

    @property
    def filter_at(self) -> float:
        return self.filter_threshold or DEFAULT_THRESHOLDS[self.similarity][1]

    def breadth_at(self, depth: int) -> int:
        return breadth_at(self.breadth, self.max_depth, depth)

    def examples_at(self, depth: int) -> int:
        return examples_at(self.examples, depth)

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
        and no relevance rule. A breadth stored before it was bounded is read as what the run did: a task got at
        most `max_children` children, whatever the breadth said."""
        merged = {**LEGACY, **params, **{k: v for k, v in overrides.items() if v is not None}}
        known = {k: v for k, v in merged.items() if k in cls.__dataclass_fields__}
        cap = known.get("max_children", MAX_CHILDREN)
        if isinstance(known.get("breadth"), list) and isinstance(cap, int):
            known["breadth"] = [min(b, cap) if isinstance(b, int) else b for b in known["breadth"]]
        return cls(**known)


def _plain(v: Any) -> Any:
    return v.value if isinstance(v, Flavour) else v
