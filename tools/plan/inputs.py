"""What a plan reads: the run's parameters (`Params`) and what an earlier run showed about the model (`Measured`).

They live apart from the arithmetic (tools/plan/estimate.py) because three places fill them without planning
anything: a dataset card reads `Params` from a finished run's run.json, tools/plan/measure.py builds `Measured` from a
run directory, and tools/plan/tokens.py sizes prompts from both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from explore_instruct.tools.params import RunParams, breadth_at, default_of, examples_at
from explore_instruct.tools.prompts.full import Flavour

DEFAULT_YIELD = 0.85  # share of the examples asked for that a round keeps
DEFAULT_JUDGE_DROP = 0.1  # share of judged examples the judge drops


@dataclass(frozen=True)
class Measured:
    """What a run showed, to plan the next one with (defaults: nothing measured)."""

    yield_: float = DEFAULT_YIELD
    example_chars: tuple[int, int, int] | None = None
    name_chars: int = 28
    reason_chars: int = 70
    judge_drop: float = DEFAULT_JUDGE_DROP
    fill: float = 1.0  # share of their quota the tasks reached (a task that stops gaining gives up before it)
    input_scale: float = 1.0  # actual / planned prompt tokens of the measured run
    output_scale: float = 1.0  # actual / planned completion tokens of the measured run
    source: str = "defaults"


_RUN = {name: default_of(name) for name in RunParams.__dataclass_fields__}


@dataclass(frozen=True)
class Params:
    """The run parameters a plan reads, from a `Context.public()` dict (run.json's "context"), so the plan needs
    no graph and a dataset card can plan a finished run from its run.json alone. Defaults are the definition's
    (`RunParams`, tools/params.py), as tuples so a plan can be hashed."""

    model: str = _RUN["model"]
    profile: str = "full"  # resolved: compact or full
    strategy: str = _RUN["strategy"]
    max_depth: int = _RUN["max_depth"]
    breadth: tuple[int, ...] = tuple(_RUN["breadth"])
    examples: tuple[int, ...] = tuple(_RUN["examples"])
    subtasks_per_call: int = _RUN["subtasks_per_call"]
    lookahead_retries: int = _RUN["lookahead_retries"]
    examples_per_call: int = _RUN["examples_per_call"]
    examples_per_subtask: int = _RUN["examples_per_subtask"]
    max_children: int = _RUN["max_children"]
    demonstrations: int = _RUN["demonstrations"]
    flavour: Flavour = _RUN["flavour"]
    judge: bool = _RUN["judge"]
    grounded: bool = False  # given a corpus (`docs`): its chunks ride in every decomposition and enrich prompt
    retrieve_k: int = _RUN["retrieve_k"]
    judge_batch: int = _RUN["judge_batch"]
    answer_check: bool = _RUN["answer_check"]
    shape: str = _RUN["shape"]  # tools/shapes/: what each example is; a conversation costs more than a pair
    turns: int = _RUN["turns"]

    @classmethod
    def of(cls, context: dict[str, Any]) -> Params:
        known = {k: v for k, v in context.items() if k in cls.__dataclass_fields__}
        profile = context.get("prompt_profile", "full")
        if profile not in ("compact", "full"):  # "auto" as a config file may say it
            profile = "compact" if str(context.get("model", "")).lower().startswith("local:") else "full"
        return cls(**{
            **known,
            "profile": profile,
            "grounded": bool(context.get("docs")),
            "breadth": tuple(int(b) for b in known.get("breadth", cls.breadth)),
            "examples": tuple(int(e) for e in known.get("examples", cls.examples)),
            "flavour": Flavour(known.get("flavour", Flavour.GENERIC)),
        })  # fmt: skip

    def breadth_at(self, depth: int) -> int:
        return breadth_at(self.breadth, self.max_depth, depth)

    def examples_at(self, depth: int) -> int:
        return examples_at(self.examples, depth)
