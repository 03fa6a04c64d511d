"""The `multi_turn` shape: conversations in which the user follows up on the task, in its spirit.

Exploration is unchanged; what a task's examples become is a conversation of `spec.turns` user turns, each
follow-up of a named kind (refine, constrain, ask why, change audience: tools/prompts/multi_turn.py), so the data
teaches a model to use what it said before. Two ways to write one, as the profiles of single examples:
- compact (the embedded model and other small ones): ONE structured call per conversation returns every turn
  under a small schema whose string caps fit the model's token limit; a 135M model cannot hold a role over
  several calls, but it can fill a list of {user, assistant} pairs shaped like a worked conversation;
- full (capable models): a user-simulator call writes the openings of the batch, then each conversation goes
  turn by turn, an assistant call answering and a user-simulator call writing the next follow-up.
Every conversation then passes the checks of tools/shapes/turn_checks.py, and a drop is recorded by its rule.
"""

from __future__ import annotations

import asyncio
import functools
import zlib
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field, create_model

from explore_instruct.tools.generation.decompose import Skip
from explore_instruct.tools.generation.generate import GenerateRequest, GenerateResult
from explore_instruct.tools.llm.local import ChatLocalLlama
from explore_instruct.tools.llm.structured import CallRecord, Method, call_structured
from explore_instruct.tools.prompts import multi_turn as prompts
from explore_instruct.tools.shapes.base import ShapeSpec
from explore_instruct.tools.shapes.turn_checks import Turn, check_conversation
from explore_instruct.tools.tree.model import Example

__all__ = ["conversation_schema", "generate_multi_turn", "turn_caps"]

# Characters of turn text one compact call may write: about 850 tokens, inside the embedded model's 1024 with the
# JSON around it. Split over the turns asked, so 8 turns get shorter strings rather than a reply cut mid-list.
CHAR_BUDGET = 3000


def turn_caps(turns: int, reasoning: bool) -> dict[str, int]:
    """maxLength of each string of a compact turn (the grammar ends a string there, whatever it was saying)."""
    per = CHAR_BUDGET // turns
    user = max(60, min(160, per // 4))
    if reasoning:  # up to 400 each: at 300 the embedded model's reasoning and answers hit the cap (cut) most turns
        each = max(80, min(400, (per - user) // 2))
        return {"user": user, "reasoning": each, "assistant": each}
    return {"user": user, "assistant": max(100, min(300, per - user))}


@functools.lru_cache(maxsize=64)
def conversation_schema(turns: int, reasoning: bool) -> type[BaseModel]:
    """The compact reply: exactly `turns` turns for a grammar-constrained model; validation takes fewer (a short
    conversation is then a recorded drop, not a failed call). Reasoning comes before the answer it leads to."""
    caps = turn_caps(turns, reasoning)
    fields: dict[str, Any] = {
        name: (str, Field(description=desc, json_schema_extra={"maxLength": caps[name]}))
        for name, desc in (
            ("user", "What the user says in this turn"),
            ("reasoning", "The assistant's thinking before it answers"),
            ("assistant", "The assistant's answer"),
        )
        if name in caps
    }
    turn = create_model("ConversationTurn", **fields)
    counts: dict[str, Any] = {"minItems": turns, "maxItems": turns}
    return create_model("Conversation", turns=(list[turn], Field(min_length=1, json_schema_extra=counts)))


@functools.lru_cache(maxsize=64)
def openings_schema(n: int) -> type[BaseModel]:
    counts: dict[str, Any] = {"minItems": n, "maxItems": n}
    return create_model("Openings", openings=(list[str], Field(min_length=1, json_schema_extra=counts)))


class FollowUp(BaseModel):
    message: str = Field(min_length=1, description="The user's next message")


class Reply(BaseModel):
    reply: str = Field(min_length=1, description="The assistant's reply")


class ReasonedReply(BaseModel):
    reasoning: str = Field(description="The thinking that leads to the reply")
    reply: str = Field(min_length=1, description="The assistant's reply")


# ---- generation ---------------------------------------------------------------------------------------------


async def generate_multi_turn(
    model: BaseChatModel, req: GenerateRequest, spec: ShapeSpec, *, method: Method = "auto", model_label: str = ""
) -> GenerateResult:
    """Up to `req.n` conversations of `spec.turns` user turns for `req.task`, passed through the checks."""
    done = [d.instruction for d in req.demonstrations]
    # Where the round-robin of follow-up kinds starts: fixed by the task and what it has, so a resumed run asks
    # the same, yet the batches of one task start at different kinds.
    start = zlib.crc32("\x1f".join([req.task, *done]).encode("utf-8"))
    kinds = [prompts.follow_up_kinds(spec.turns, start + i) for i in range(req.n)]
    calls: list[CallRecord] = []
    skipped: list[Skip] = []
    if req.profile == "compact":
        drafts = await asyncio.gather(*(_compact(model, req, spec, k, done, method, model_label) for k in kinds))
    else:
        opened = await call_structured(
            model,
            openings_schema(req.n),
            prompts.opening_prompt(
                task=req.task, task_reason=req.task_reason, parent=req.parent, siblings=list(req.siblings),
                done=done, n=req.n, flavour=req.flavour,
            ),
            system=prompts.USER_SYSTEM, method=method, purpose="generate", model_label=model_label,
        )  # fmt: skip
        calls.append(opened.record)
        if opened.value is None:
            return GenerateResult([], [], calls)
        openings = [" ".join(o.split()) for o in opened.value.openings[: req.n]]  # type: ignore[attr-defined]
        drafts = await asyncio.gather(
            *(_full(model, req, spec, o, k, method, model_label) for o, k in zip(openings, kinds, strict=False))
        )
    kept: list[Example] = []
    shown = prompts.shot_texts() if req.profile == "compact" else set()
    for turns, records in drafts:
        calls.extend(records)
        if turns is None:
            continue
        verdict = check_conversation(turns, spec, req.flavour, req.quality, shown=shown)
        if isinstance(verdict, Example):
            kept.append(verdict)
        else:
            skipped.append(verdict)
    return GenerateResult(kept, skipped, calls)


async def _compact(
    model: BaseChatModel,
    req: GenerateRequest,
    spec: ShapeSpec,
    kinds: list[str],
    done: list[str],
    method: Method,
    model_label: str,
) -> tuple[list[Turn] | None, list[CallRecord]]:
    """One structured call, the whole conversation."""
    system, shots, prompt = prompts.compact_messages(req.task, req.parent, kinds, done, spec.reasoning)
    result = await call_structured(
        model,
        conversation_schema(spec.turns, spec.reasoning),
        prompt,
        system=system,
        shots=shots,
        method=method,
        purpose="generate",
        model_label=model_label,
    )
    if result.value is None:
        return None, [result.record]
    cut_call = "length" in result.record.finish_reasons
    # The embedded model's grammar ends a string at its cap whatever the sentence was doing.
    caps = turn_caps(spec.turns, spec.reasoning) if isinstance(model, ChatLocalLlama) else {}
    turns = [
        Turn(
            user=t.user,
            assistant=t.assistant,
            reasoning=getattr(t, "reasoning", ""),
            cut=cut_call or len(t.assistant) >= caps.get("assistant", 10**9),
            reasoning_cut=cut_call or len(getattr(t, "reasoning", "")) >= caps.get("reasoning", 10**9),
        )
        for t in result.value.turns  # type: ignore[attr-defined]
    ]
    return turns, [result.record]


async def _full(
    model: BaseChatModel,
    req: GenerateRequest,
    spec: ShapeSpec,
    opening: str,
    kinds: list[str],
    method: Method,
    model_label: str,
) -> tuple[list[Turn], list[CallRecord]]:
    """Turn by turn: the assistant answers the user's message, then the simulator writes the next follow-up.

    A failed call ends the conversation where it is; the check then drops it as short.
    """
    records: list[CallRecord] = []
    turns: list[Turn] = []
    user = opening
    schema: type[BaseModel] = ReasonedReply if spec.reasoning else Reply
    for i in range(spec.turns):
        so_far = prompts.transcript([(t.user, t.assistant) for t in turns], last_user=user)
        answer = await call_structured(
            model, schema, prompts.assistant_prompt(so_far, req.flavour, spec.reasoning),
            system=prompts.ASSISTANT_SYSTEM, method=method, purpose="generate", model_label=model_label,
        )  # fmt: skip
        records.append(answer.record)
        if answer.value is None:
            break
        cut = "length" in answer.record.finish_reasons
        reasoning = getattr(answer.value, "reasoning", "")
        turns.append(Turn(user, answer.value.reply, reasoning, cut, cut))  # type: ignore[attr-defined]
        if i == spec.turns - 1:
            break
        follow = await call_structured(
            model, FollowUp,
            prompts.follow_up_prompt(req.task, prompts.transcript([(t.user, t.assistant) for t in turns]), kinds[i]),
            system=prompts.USER_SYSTEM, method=method, purpose="generate", model_label=model_label,
        )  # fmt: skip
        records.append(follow.record)
        if follow.value is None:
            break
        user = follow.value.message
    return turns, records
