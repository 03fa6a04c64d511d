"""One enrich batch, generated in the run's shape.

`generate_shaped` is what enrichment calls for every batch: single examples go to the method's generator
(tools/generation/generate.py), reasoning ones to tools/shapes/reasoning.py, conversations to the multi-turn and
tool-calling generators. Those modules are imported when a batch of their shape is made, so a run in one shape
loads nothing of the others (and a shape whose module is missing fails in one line, not at import).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from explore_instruct.tools.shapes.base import ShapeSpec

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from explore_instruct.tools.generation.generate import GenerateRequest, GenerateResult
    from explore_instruct.tools.llm.structured import Method

__all__ = ["ShapeNotBuilt", "generate_shaped", "stamp_shape"]


class ShapeNotBuilt(RuntimeError):
    """A shape whose generator is not in this installation; one line."""


def _generator(module: str, name: str, shape: str) -> Any:
    try:
        return getattr(importlib.import_module(f"explore_instruct.tools.shapes.{module}"), name)
    except (ImportError, AttributeError):
        raise ShapeNotBuilt(f"shape {shape}: not built") from None


async def generate_shaped(
    model: BaseChatModel,
    req: GenerateRequest,
    spec: ShapeSpec,
    toolset: Any = None,
    *,
    method: Method = "auto",
    model_label: str = "",
) -> GenerateResult:
    """Up to `req.n` examples of the shape `spec`, each stamped with it (`shape`, absent for single)."""
    if spec.kind == "single" and not spec.reasoning:
        from explore_instruct.tools.generation.generate import generate

        return await generate(model, req, method=method, model_label=model_label)
    if spec.kind == "single":
        make = _generator("reasoning", "generate_reasoning", spec.label)
        result = await make(model, req, method=method, model_label=model_label)
    elif spec.kind == "multi_turn":
        make = _generator("multi_turn", "generate_multi_turn", spec.label)
        result = await make(model, req, spec, method=method, model_label=model_label)
    else:
        if toolset is None:
            raise ShapeNotBuilt(f"shape {spec.label}: no tool set loaded (give tools or tools_from_mcp)")
        make = _generator("tool_calls", "generate_tool_calls", spec.label)
        result = await make(model, req, spec, toolset, method=method, model_label=model_label)
    stamp_shape(result, spec)
    return result


def stamp_shape(result: GenerateResult, spec: ShapeSpec) -> GenerateResult:
    """Every kept example states its shape, so a file of mixed runs (or an export) can tell them apart."""
    for example in result.examples:
        if getattr(example, "shape", None) is None:
            setattr(example, "shape", spec.label)  # noqa: B010 - an extra field, the model allows extras
    return result
