"""What every LLM call costs and where it is written down.

Each call is logged to `query_log.jsonl` as it happens (a failed one also to `bad_completions.jsonl`), and
the node that made it returns the same figures as a `stats` update, summed by the state's `add_stats`
reducer. Both come from one `CallRecord` through `call_stats`, so a run's `stats` equal the sums over its
query log (a kill can only add log rows for calls whose step was redone).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from explore_instruct.graphs.state import add_stats
from explore_instruct.tools.dataset.runstore import BAD_COMPLETIONS, DROPPED, JUDGE_PURPOSES, QUERY_LOG, RunStore
from explore_instruct.tools.llm.models import cost_usd
from explore_instruct.tools.llm.structured import CallRecord


def call_stats(record: CallRecord, model: str) -> dict[str, Any]:
    """One call's counters, in the shape of the state's `stats`."""
    stats: dict[str, Any] = {
        "calls": 1,
        "llm_requests": record.attempts,
        "calls_ok": int(record.ok),
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
        "latency_s": round(record.latency_s, 3),
    }
    cost = cost_usd(model, record.input_tokens, record.output_tokens)
    if cost is None:
        stats["cost_unknown_calls"] = 1
    else:
        stats["cost_usd"] = cost
    if record.error_kind:
        stats["faults"] = {record.error_kind: 1}
    return stats


def calls_stats(records: Iterable[CallRecord], model: str) -> dict[str, Any]:
    """The sum over several calls (one generation may make more than one)."""
    total: dict[str, Any] = {}
    for record in records:
        total = add_stats(total, call_stats(record, model))
    return total


def count_rules(rules: Iterable[str]) -> dict[str, int]:
    return dict(Counter(rules))


def provider_mark(records: list[CallRecord]) -> int | None:
    """The streak update for one task's calls: 1 if the provider refused, 0 if it answered, None if no call."""
    if not records:
        return None
    return 1 if all(r.error_kind == "api" for r in records) else 0


def log_call(store: RunStore, record: CallRecord, model: str, **where: Any) -> None:
    row = {**where, **record.as_dict(), "cost_usd": cost_usd(model, record.input_tokens, record.output_tokens)}
    raw = row.pop("raw_text", None)
    store.append_jsonl(QUERY_LOG, [row])
    if not record.ok:
        store.append_jsonl(
            BAD_COMPLETIONS, [{**where, "error_kind": record.error_kind, "error": record.error, "raw": raw}]
        )


def record_calls(
    store: RunStore, calls: Iterable[CallRecord], skipped: Iterable[Any], model: str, stage: str, **where: Any
) -> None:
    """Log a step's calls and what its tools dropped (each drop with its rule)."""
    for call in calls:
        log_call(store, call, model, purpose=stage, **where)
    drops = [{"stage": stage, **where, **s.__dict__} for s in skipped]
    if drops:
        store.append_jsonl(DROPPED, drops)


SUMMED = ("calls", "llm_requests", "calls_ok", "input_tokens", "output_tokens", "cost_usd")


def unrecorded(stats: dict[str, Any], store: RunStore) -> dict[str, Any]:
    """What the query log holds beyond the state's stats: calls whose step was redone after a kill (logged as they
    were paid for, but their step's result never reached a checkpoint). Added at the end of a run, so its stats
    equal the sums over its query log whatever happened on the way."""
    logged: dict[str, dict[str, float]] = {"": dict.fromkeys(SUMMED, 0), "judge": dict.fromkeys(SUMMED, 0)}
    for row in store.iter_jsonl_tolerant(QUERY_LOG):
        side = logged["judge" if row.get("purpose") in JUDGE_PURPOSES else ""]
        side["calls"] += 1
        side["llm_requests"] += int(row.get("attempts") or 0)
        side["calls_ok"] += int(bool(row.get("ok")))
        side["input_tokens"] += int(row.get("input_tokens") or 0)
        side["output_tokens"] += int(row.get("output_tokens") or 0)
        side["cost_usd"] += float(row.get("cost_usd") or 0.0)
    delta: dict[str, Any] = {}
    for key, have in (("", stats), ("judge", stats.get("judge", {}))):
        extra = {k: logged[key][k] - have.get(k, 0) for k in SUMMED if logged[key][k] - have.get(k, 0) > 1e-12}
        if extra:
            delta.update(extra if not key else {"judge": extra})
    if "calls" in delta:
        delta["calls_redone_after_kills"] = delta["calls"]
    return delta
