from __future__ import annotations

import pytest
from langchain_openai import ChatOpenAI

from explore_instruct.tools.llm.models import (
    ModelConfigError,
    ModelSpec,
    cost_usd,
    make_chat_model,
    price_for,
    split_model,
)

SECRET = "sk-test-DO-NOT-LEAK-4242"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (
        "EXPLORE_INSTRUCT_MODEL",
        "EXPLORE_INSTRUCT_BASE_URL",
        "EXPLORE_INSTRUCT_API_KEY_ENV",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "MY_KEY",
    ):
        monkeypatch.delenv(var, raising=False)


# ---- split_model ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("local:smollm2", ("local", "smollm2")),
        ("openai:gpt-4o-mini", ("openai", "gpt-4o-mini")),
        ("gpt-4o", ("openai", "gpt-4o")),
        ("smollm2", ("local", "smollm2")),
        ("ollama:llama3.1", ("ollama", "llama3.1")),
        ("OpenAI:gpt-4o", ("openai", "gpt-4o")),
        ("  vllm:Qwen/Qwen2.5-7B-Instruct  ", ("vllm", "Qwen/Qwen2.5-7B-Instruct")),
        ("ollama:llama3.1:8b", ("ollama", "llama3.1:8b")),  # only the first colon splits
    ],
)
def test_split_model(model: str, expected: tuple[str, str]) -> None:
    assert split_model(model) == expected


@pytest.mark.parametrize("model", ["", "   ", "openai:", "local:"])
def test_split_model_rejects_incomplete(model: str) -> None:
    with pytest.raises(ModelConfigError):
        split_model(model)


def test_model_config_error_is_a_value_error() -> None:
    assert issubclass(ModelConfigError, ValueError)


def test_spec_provider_and_name() -> None:
    spec = ModelSpec(model="ollama:llama3.1")
    assert (spec.provider, spec.model_name) == ("ollama", "llama3.1")


def test_spec_defaults_come_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPLORE_INSTRUCT_MODEL", "openai:gpt-4.1-nano")
    monkeypatch.setenv("EXPLORE_INSTRUCT_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("EXPLORE_INSTRUCT_API_KEY_ENV", "MY_KEY")
    spec = ModelSpec()
    assert spec.model == "openai:gpt-4.1-nano"
    assert spec.base_url == "http://127.0.0.1:9/v1"
    assert spec.api_key_env == "MY_KEY"


def test_spec_default_model_is_local() -> None:
    assert ModelSpec().model == "local:smollm2"


# ---- make_chat_model ------------------------------------------------------------------------------


def test_openai_with_base_url_uses_that_url_and_the_named_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", SECRET)
    spec = ModelSpec(
        model="openai:gpt-4o-mini",
        base_url="http://127.0.0.1:9999/v1",
        api_key_env="MY_KEY",
        max_retries=3,
        timeout_s=7,
        max_tokens=321,
        seed=5,
        temperature=0.3,
    )
    model = make_chat_model(spec)
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "gpt-4o-mini"
    assert model.openai_api_base == "http://127.0.0.1:9999/v1"
    assert str(model.root_async_client.base_url).rstrip("/") == "http://127.0.0.1:9999/v1"
    assert model.openai_api_key is not None
    assert model.openai_api_key.get_secret_value() == SECRET
    assert model.root_async_client.api_key == SECRET
    assert model.max_retries == 3
    assert model.request_timeout == 7
    assert model.max_tokens == 321
    assert model.seed == 5
    assert model.temperature == 0.3


def test_openai_without_key_or_base_url_is_refused() -> None:
    with pytest.raises(ModelConfigError, match="OPENAI_API_KEY"):
        make_chat_model(ModelSpec(model="openai:gpt-4o-mini", base_url=None))


def test_refusal_names_the_configured_key_variable() -> None:
    with pytest.raises(ModelConfigError, match="MY_KEY"):
        make_chat_model(ModelSpec(model="gpt-4o", base_url=None, api_key_env="MY_KEY"))


def test_base_url_without_key_is_allowed() -> None:
    model = make_chat_model(ModelSpec(model="openai:whatever", base_url="http://127.0.0.1:9999/v1"))
    assert isinstance(model, ChatOpenAI)
    assert model.openai_api_base == "http://127.0.0.1:9999/v1"


def test_self_hosted_provider_has_a_default_base_url() -> None:
    model = make_chat_model(ModelSpec(model="ollama:llama3.1", base_url=None))
    assert isinstance(model, ChatOpenAI)
    assert model.openai_api_base == "http://127.0.0.1:11434/v1"
    assert model.model_name == "llama3.1"


def test_openai_base_url_env_is_honoured_for_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:7777/v1")
    model = make_chat_model(ModelSpec(model="openai:x", base_url=None))
    assert isinstance(model, ChatOpenAI)
    assert model.openai_api_base == "http://127.0.0.1:7777/v1"


def test_secret_never_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    spec = ModelSpec(model="openai:gpt-4o-mini")
    model = make_chat_model(spec)
    # The key did reach the client (otherwise the check below proves nothing).
    assert model.root_async_client.api_key == SECRET
    for text in (repr(spec), str(spec), repr(model), str(model)):
        assert SECRET not in text
    assert SECRET not in str(vars(spec))


# ---- prices ---------------------------------------------------------------------------------------


def test_price_for_known_model() -> None:
    assert price_for("openai:gpt-4o-mini") == (0.15, 0.60)
    assert price_for("gpt-4o") == (2.50, 10.00)


def test_dated_snapshot_costs_what_its_family_costs() -> None:
    assert price_for("openai:gpt-4o-mini-2024-07-18") == (0.15, 0.60)  # not gpt-4o's price
    assert price_for("openai:gpt-4o-2024-08-06") == (2.50, 10.00)


def test_unknown_model_has_no_price() -> None:
    assert price_for("openai:my-finetune") is None
    assert price_for("ollama:llama3.1") is None
    assert price_for("openai:gpt-4o-mini-tts") is None  # a different product, not a dated snapshot
    assert cost_usd("openai:my-finetune", 1000, 1000) is None


def test_local_model_is_free() -> None:
    assert price_for("local:smollm2") == (0.0, 0.0)
    assert cost_usd("local:smollm2", 10_000, 10_000) == 0.0


def test_cost_usd() -> None:
    # 1M input at $0.15 + 2M output at $0.60 = $1.35
    assert cost_usd("openai:gpt-4o-mini", 1_000_000, 2_000_000) == pytest.approx(1.35)
    assert cost_usd("gpt-4o", 1000, 500) == pytest.approx((1000 * 2.5 + 500 * 10.0) / 1e6)
    assert cost_usd("gpt-4o", 0, 0) == 0.0


def test_openai_key_is_not_sent_to_other_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.delenv("EXPLORE_INSTRUCT_API_KEY", raising=False)
    local = make_chat_model(ModelSpec(model="openai:m", base_url="http://127.0.0.1:9/v1"))
    assert local.root_async_client.api_key == "not-needed"
    monkeypatch.setenv("EXPLORE_INSTRUCT_API_KEY", "local-key")
    local = make_chat_model(ModelSpec(model="vllm:m"))
    assert local.root_async_client.api_key == "local-key"
    # An explicitly named variable is the user's choice and is honoured for any host.
    monkeypatch.setenv("MY_KEY", "mine")
    named = make_chat_model(ModelSpec(model="openai:m", base_url="http://127.0.0.1:9/v1", api_key_env="MY_KEY"))
    assert named.root_async_client.api_key == "mine"
    remote = make_chat_model(ModelSpec(model="openai:gpt-4o-mini", base_url="https://api.openai.com/v1"))
    assert remote.root_async_client.api_key == SECRET


def test_runs_with_neighbouring_seeds_sample_independent_streams() -> None:
    from explore_instruct.tools.llm.local import call_seed

    one = [call_seed(1, k) for k in range(200)]
    two = [call_seed(2, k) for k in range(200)]
    assert one == [call_seed(1, k) for k in range(200)]  # a seed still fixes its run's stream
    assert not set(one) & set(two)  # was seed + call: run 2's call k was run 1's call k + 1
    assert all(0 <= s < 2**31 for s in one + two) and len(set(one)) == 200
