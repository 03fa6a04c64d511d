"""One enrich batch, generated in the run's shape.

`generate_shaped` is what enrichment calls for every batch: single examples go to the method's generator
(tools/generation/generate.py), reasoning ones to tools/shapes/reasoning.py, conversations to the multi-turn and
tool-calling generators. Those modules are imported when a batch of their shape is made, so a run in one shape
loads nothing of the others (and a shape whose module is missing fails in one line, not at import).
"""

from __future__ import annotations

import asyncio
import importlib
import weakref
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from explore_instruct.tools.shapes.base import ShapeSpec

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from explore_instruct.tools.generation.generate import GenerateRequest, GenerateResult
    from explore_instruct.tools.llm.structured import Method

__all__ = ["ShapeNotBuilt", "generate_shaped", "run_toolset", "stamp_shape"]


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


# One tool set per run directory and event loop: batches fan out in parallel, and each would otherwise list the
# server's tools (or start it) on its own; the round robin over tools (`Toolset.next_tool`) is shared too. Keyed
# weakly by the loop, so a finished run's loop takes its tool sets (and locks bound to it) with it.
_TOOLSETS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, tuple[asyncio.Lock, list[Any]]]] = (
    weakref.WeakKeyDictionary()
)


async def run_toolset(params: Any, run_dir: str | Path) -> Any:
    """The run's tool set (tools/shapes/toolsets.py): listed once, when the run first needs it, and saved in the
    run directory as tools.json; a resume reads that file, so it writes examples for the tools the run began with.
    `params` holds `tools`, `tools_from_mcp` and `execute_tools` (a `Context`)."""
    per_loop = _TOOLSETS.setdefault(asyncio.get_running_loop(), {})
    lock, held = per_loop.setdefault(str(Path(run_dir).resolve()), (asyncio.Lock(), []))
    async with lock:
        if not held:
            toolsets = importlib.import_module("explore_instruct.tools.shapes.toolsets")
            mcp, execute = params.tools_from_mcp, params.execute_tools
            saved = Path(run_dir) / toolsets.TOOLS_FILE
            if await asyncio.to_thread(saved.is_file):  # file work off the loop (the Agent Server forbids it on it)
                reread = partial(toolsets.toolset_from_saved, run_dir, tools_from_mcp=mcp, execute=execute)
                held.append(await asyncio.to_thread(reread))
            else:
                toolset = await toolsets.load_toolset(params.tools, mcp, execute=execute)
                await asyncio.to_thread(toolsets.save_toolset, toolset, run_dir)
                held.append(toolset)
    return held[0]
