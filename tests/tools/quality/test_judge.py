"""The judge reads a whole conversation: a bad middle turn is seen and scored (scripted judge), where the opening
turn and final answer alone would pass; tool calls and results reach it as text."""

from __future__ import annotations

from typing import Any

from support.scripted_judge import ScriptedJudge

from explore_instruct.tools.quality.judge import judge
from explore_instruct.tools.tree.model import Example

BAD = "Nonsense: the moon is a cheese wheel."


def conversation(middle: str) -> Example:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "Make this note to my landlord more formal: the heating is broken again."},
        {"role": "assistant", "content": "I am writing to report that the heating has failed again."},
        {"role": "user", "content": "Why did you open with 'I am writing'?"},
        {"role": "assistant", "content": middle},
        {"role": "user", "content": "Now make it shorter."},
        {"role": "assistant", "content": "The heating has failed again; please arrange a repair."},
    ]
    first, last = messages[0]["content"], messages[-1]["content"]
    return Example(instruction=first, output=last, shape="multi_turn", messages=messages)


async def test_a_bad_middle_turn_is_judged() -> None:
    good = conversation("It states the purpose at once, as formal letters do.")
    bad = conversation(BAD)
    assert (good.instruction, good.output) == (bad.instruction, bad.output)  # the ends alone cannot tell them apart
    model = ScriptedJudge(low_share=0.0, bad_text=BAD)
    result = await judge(model, "Making a message more formal", [good, bad])
    assert [j.score for j in result.judged] == [5, 1]


async def test_tool_calls_and_results_reach_the_judge() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Lyon"}'}}
    messages = [
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": '{"temp_c": 18}'},
        {"role": "assistant", "content": "It is 18 degrees C in Paris."},
    ]
    example = Example(
        instruction="What's the weather in Paris?", output="It is 18 degrees C in Paris.", messages=messages
    )
    # A wrong city in the call, the tool's result: each is in what the judge reads (a text it was not shown is not).
    for shown, score in (('get_weather({"city": "Lyon"})', 1), ('{"temp_c": 18}', 1), ("temp_f", 5)):
        model = ScriptedJudge(low_share=0.0, bad_text=shown)
        result = await judge(model, "Weather questions", [example])
        assert result.judged[0].score == score, shown
