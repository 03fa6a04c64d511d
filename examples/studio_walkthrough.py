"""The Studio walkthrough (docs/studio.md) over the Agent Server API: what Studio shows, step by step.

Start the server first (port 2024 is often taken; pick another):

    LANGSMITH_TRACING=false LANGGRAPH_CLI_NO_ANALYTICS=1 LANGGRAPH_NO_VERSION_CHECK=true \\
        .venv/bin/langgraph dev --port 2137 --no-browser
    python examples/studio_walkthrough.py --url http://127.0.0.1:2137

Each line printed is one transition of the exploration graph as Studio's graph view highlights it, with the
event the node streamed; the review pause is answered like Studio's interrupt panel would.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from _common import parser
from langgraph_sdk import get_client


def show(chunk: Any) -> list[dict[str, Any]]:
    """Print a streamed chunk; return any interrupts it carries."""
    if chunk.event == "updates":
        for node, update in (chunk.data or {}).items():
            if node == "__interrupt__":
                return [i["value"] for i in update]
            print(f"  step  {node}")  # Studio highlights this node; its state diff shows the output keys
    elif chunk.event == "custom":
        data = chunk.data or {}
        detail = {k: v for k, v in data.items() if k in ("subtasks", "node", "examples", "calls", "kept", "name")}
        print(f"  event {data.get('event')} {detail}")
    return []


async def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--url", default="http://127.0.0.1:2137", help="the `langgraph dev` server")
    args = p.parse_args()
    client = get_client(url=args.url)
    context = {
        "model": args.model,
        "similarity": args.similarity,
        "max_depth": 1,
        "breadth": [2],
        "examples": [2],
        "review": True,
        "run_dir": str(Path(args.out).resolve() / "studio-walkthrough"),
        **({"base_url": args.base_url} if args.base_url else {}),
    }

    print("1. explore_instruct: submit a domain (Studio: Input → domain, Context → the fields below)")
    thread = await client.threads.create()
    payload: dict[str, Any] = {"input": {"domain": args.domain}}
    answered = 0
    while True:
        interrupts: list[dict[str, Any]] = []
        async for chunk in client.runs.stream(
            thread["thread_id"], "explore_instruct", context=context, stream_mode=["updates", "custom"], **payload
        ):
            interrupts += show(chunk)
        if not interrupts:
            break
        pause = interrupts[0]
        names = [p["name"] for p in pause.get("proposals", [])]
        print(f"2. review interrupt: {names}")
        reject = names[-1:] if answered == 0 else []  # reject the last proposal once, then accept
        print(f"   resume with {{'reject': {reject}}} (Studio: the interrupt panel's Resume)")
        payload = {"command": {"resume": {"reject": reject}}}
        answered += 1

    state = await client.threads.get_state(thread["thread_id"])
    values: Any = state["values"]
    print(f"3. done: visits {[v['step'] for v in values['visits']]}")
    summary = values["summary"]
    print(f"   summary: {summary['nodes_per_depth']} tasks per depth, {summary['examples']} examples")

    print("4. chat: the same run from a conversation (Studio: chat mode on the `chat` graph)")
    chat = await client.threads.create()
    # Runs started from the chat go on in the background; a script waits for each pause or end in the same turn.
    chat_context: dict[str, Any] = {
        "model": "local:smollm2",
        "run_model": args.model,
        "similarity": args.similarity,
        "answer_within_s": 120,
    }
    if args.base_url:
        chat_context["base_url"] = args.base_url
    for text in (f"/explore {args.domain} depth=1 breadth=2 examples=2 out=studio-chat", "/approve", "/status"):
        message: Any = {"messages": [{"role": "user", "content": text}]}
        result = await client.runs.wait(chat["thread_id"], "chat", input=message, context=chat_context)
        reply = result["messages"][-1]["content"] if isinstance(result, dict) else result
        print(f"   > {text}\n   {str(reply).splitlines()[0]}")


if __name__ == "__main__":
    asyncio.run(main())
