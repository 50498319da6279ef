"""The OpenAI-compatible embeddings client against a local HTTP server that speaks the API's
request and response shape: order by "index", batching, retry with backoff, bad keys,
timeouts, the opt-in and the cost estimate; end to end, a speech library indexed and
searched through the CLI with an ``openai:`` text model, then switched to a self-hosted
model without transcribing again."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from mediasearch.encoders import openai_embeddings as oe
from mediasearch.errors import EmbeddingApiAuthError, EmbeddingApiError

KEY = "sk-test-key"
DIM = 384


def word_vector(text: str, dim: int = DIM) -> np.ndarray:
    """A deterministic stand-in for a real embedding: hashed bag of words (texts sharing words are close)."""
    v = np.full(dim, 1e-3, np.float32)
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        v[int(hashlib.sha1(word.encode()).hexdigest(), 16) % dim] += 1.0
    return v / np.linalg.norm(v)


class FakeApi:
    """A local /v1/embeddings. ``script``: callables run per request in turn (the last one
    repeats), each returning (status, headers, body dict) given the request JSON."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.script: list[Callable[[dict], tuple[int, dict, dict]]] = [self.ok]
        self.delay_s = 0.0
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                api.requests.append(body)
                api.headers.append(dict(self.headers))
                step = api.script[min(len(api.requests) - 1, len(api.script) - 1)]
                if self.path != "/v1/embeddings":
                    status, headers, answer = 404, {}, {"error": {"message": f"no route {self.path}"}}
                else:
                    status, headers, answer = step(body)
                if api.delay_s:
                    time.sleep(api.delay_s)
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def ok(body: dict) -> tuple[int, dict, dict]:
        """Success, with the items in reverse order (clients must place them by "index")."""
        dim = int(body.get("dimensions") or 1536)
        items = [{"object": "embedding", "index": i, "embedding": word_vector(t, dim).tolist()} for i, t in enumerate(body["input"])]
        tokens = sum(len(t.split()) for t in body["input"])
        return 200, {}, {"object": "list", "data": items[::-1], "model": body["model"], "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    @staticmethod
    def error(status: int, message: str, headers: dict | None = None) -> Callable[[dict], tuple[int, dict, dict]]:
        return lambda body: (status, headers or {}, {"error": {"message": message, "type": "test", "code": None}})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api():
    server = FakeApi()
    yield server
    server.close()


def client(api: FakeApi, model: str = "text-embedding-3-small", **kw) -> tuple[oe.OpenAIEmbedder, list[float]]:
    waits: list[float] = []
    kw.setdefault("timeout_s", 5.0)
    emb = oe.OpenAIEmbedder(model, base=api.base, api_key=KEY, sleep=waits.append, jitter=lambda: 0.5, **kw)
    return emb, waits


def test_success_follows_the_returned_index_and_sends_the_api_shape(api: FakeApi) -> None:
    emb, _ = client(api)
    texts = ["the lighthouse keeper", "budget meeting on thursday", "football match cancelled"]
    vectors = emb.embed(texts)
    assert vectors.shape == (3, DIM) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, np.stack([word_vector(t) for t in texts]), atol=1e-6)  # reversed answer, right order
    body = api.requests[0]
    assert body == {"model": "text-embedding-3-small", "input": texts, "encoding_format": "float", "dimensions": DIM}
    assert api.headers[0]["Authorization"] == f"Bearer {KEY}"
    assert emb.tokens_used == sum(len(t.split()) for t in texts)
    # a model the table does not know gets no "dimensions": its answer must fit as it is
    other, _ = client(api, model="my-local-model")
    with pytest.raises(EmbeddingApiError, match=r"returned 1536-d vectors.*384-d"):
        other.embed(["hello"])
    assert "dimensions" not in api.requests[-1]


def test_batches_by_count_and_by_tokens(api: FakeApi) -> None:
    emb, _ = client(api, max_batch_inputs=3)
    texts = [f"segment number {i} of the talk" for i in range(7)]
    vectors = emb.embed(texts)
    assert [len(r["input"]) for r in api.requests] == [3, 3, 1]
    np.testing.assert_allclose(vectors, np.stack([word_vector(t) for t in texts]), atol=1e-6)
    api.requests.clear()
    emb, _ = client(api, max_batch_tokens=20)  # about 4 characters a token: 40 characters = 10 tokens
    texts = ["x" * 40, "y" * 40, "z" * 40, "w" * 200]
    emb.embed(texts)
    assert [r["input"] for r in api.requests] == [texts[:2], [texts[2]], [texts[3]]]


def test_429_is_retried_after_the_servers_retry_after_then_succeeds(api: FakeApi) -> None:
    api.script = [FakeApi.error(429, "Rate limit reached", {"Retry-After": "0.25"}), FakeApi.error(503, "overloaded"), FakeApi.ok]
    emb, waits = client(api, backoff_s=0.1)
    vectors = emb.embed(["hello world"])
    np.testing.assert_allclose(vectors[0], word_vector("hello world"), atol=1e-6)
    assert len(api.requests) == 3
    assert waits == [0.25, pytest.approx(0.5 * 0.1 * 2)]  # Retry-After honoured; then jitter * backoff * 2**attempt


def test_500_until_attempts_run_out_is_an_error_with_status_and_message(api: FakeApi) -> None:
    api.script = [FakeApi.error(500, "The server had an error while processing your request")]
    emb, waits = client(api, max_attempts=4, backoff_s=1.0, max_backoff_s=3.0)
    with pytest.raises(EmbeddingApiError) as info:
        emb.embed(["hello"])
    err = info.value
    assert (err.status, err.attempts, len(api.requests)) == (500, 4, 4)
    assert "server had an error" in err.server_message and "HTTP 500 after 4 attempts" in str(err)
    assert waits == [0.5, 1.0, 1.5]  # exponential, capped at max_backoff_s, with jitter 0.5
    assert not isinstance(err, EmbeddingApiAuthError)


def test_bad_key_is_a_typed_error_without_retries(api: FakeApi) -> None:
    api.script = [FakeApi.error(401, "Incorrect API key provided: sk-test-key")]
    emb, waits = client(api)
    with pytest.raises(EmbeddingApiAuthError) as info:
        emb.embed(["hello"])
    assert info.value.status == 401 and len(api.requests) == 1 and waits == []
    assert "refused the API key (HTTP 401): Incorrect API key" in str(info.value) and "OPENAI_API_KEY" in str(info.value)
    # no key at all: refused before any request
    nokey = oe.OpenAIEmbedder("text-embedding-3-small", base=api.base, api_key=None)
    with pytest.raises(EmbeddingApiAuthError, match="no API key"):
        nokey.embed(["hello"])
    assert len(api.requests) == 1
    # another 4xx is not retried either, and carries the server's words
    api.script = [FakeApi.error(400, "'input' is too long")]
    with pytest.raises(EmbeddingApiError, match="HTTP 400: 'input' is too long"):
        emb.embed(["hello"])


def test_a_server_that_does_not_answer_in_time_is_a_timeout(api: FakeApi) -> None:
    api.delay_s = 1.0
    emb, waits = client(api, timeout_s=0.2, max_attempts=2)
    t0 = time.monotonic()
    with pytest.raises(EmbeddingApiError) as info:
        emb.embed(["hello"])
    assert info.value.status is None and "no answer within 0.2 s" in str(info.value)
    assert len(waits) == 1 and time.monotonic() - t0 < 3.0


def test_cost_estimate_counts_tokens_and_prices_them() -> None:
    class Words:  # an injected tokenizer: one token per word
        def encode(self, text: str, **kw) -> list[int]:
            return list(range(len(text.split())))

    est = oe.estimate_cost("text-embedding-3-small", ["one two three", "four five"], counter=oe.TokenCounter(Words()))
    assert est.tokens == 5 and est.method == "tiktoken cl100k_base" and est.price_per_mtok == 0.02
    assert est.usd == pytest.approx(5 * 0.02 / 1e6) and est.price_date == "2024-01-25"
    approx = oe.estimate_cost("text-embedding-3-large", ["x" * 400], speech_minutes=2.0)
    assert approx.tokens > 2 * oe.TOKENS_PER_SPEECH_MINUTE and approx.price_per_mtok == 0.13
    assert "$0.13/1M tokens" in approx.text() and "2024-01-25" in approx.text()
    assert oe.estimate_cost("some-model", ["abc"]).usd is None


def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    from mediasearch.cli import main

    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_refuses_an_api_model_without_the_opt_in_in_one_line(tmp_path: Path, api: FakeApi, capsys, monkeypatch) -> None:
    monkeypatch.setenv(oe.BASE_URL_ENV, api.base)
    monkeypatch.setenv(oe.KEY_ENV, KEY)
    monkeypatch.delenv(oe.ALLOW_API_ENV, raising=False)
    media = tmp_path / "media"
    media.mkdir()
    rc, out, err = _cli(["--library", str(tmp_path / "lib"), "index", str(media), "--encoders", "baseline-audio", "--text-model", "openai:text-embedding-3-small", "-q"], capsys)
    assert rc == 1 and api.requests == []
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "off this machine" in lines[0] and "--allow-api" in lines[0] and api.base in lines[0]
    # with the opt-in: the estimate is printed before indexing, and the choice is remembered
    rc, out, err = _cli(["--library", str(tmp_path / "lib"), "index", str(media), "--encoders", "baseline-audio", "--text-model", "openai:text-embedding-3-small", "--allow-api", "-q"], capsys)
    assert rc == 0, err
    assert "cost estimate" in err and "$0.02/1M tokens" in err and "per hour of speech" in err and api.base in err
    from mediasearch.config import Settings
    from mediasearch.library import Library

    with Library(Settings(library_dir=tmp_path / "lib")) as lib:
        assert lib.catalog.meta("text_model") == "openai:text-embedding-3-small" and lib.catalog.meta("allow_api") == "1"
    # an unknown self-hosted name is a one-line error too
    rc, out, err = _cli(["--library", str(tmp_path / "lib"), "index", str(media), "--encoders", "baseline-audio", "--text-model", "no-such-model", "-q"], capsys)
    assert rc == 1 and "unknown text model 'no-such-model'" in err and "e5-small-v2" in err


# -- end to end: real Whisper tiny.en, the text model behind the local endpoint -------------

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
LINES = {
    "lighthouse.wav": "The lighthouse keeper painted the old wooden boat bright yellow.",
    "budget.wav": "Our quarterly budget meeting moves to Thursday afternoon.",
    "football.wav": "The football match was cancelled because of heavy snow.",
}


@pytest.fixture
def speech_media(tmp_path: Path) -> Path:
    from audio_factory import have_espeak, place, speech, write_audio

    if not (MODELS / "whisper" / "tiny.en.pt").is_file() or not (MODELS / "sentence-transformers" / "all-MiniLM-L6-v2").is_dir():
        pytest.skip(f"real Whisper tiny.en / all-MiniLM-L6-v2 not found under {MODELS}")
    if not have_espeak():
        pytest.skip("espeak-ng is not installed")
    media = tmp_path / "speech"
    media.mkdir()
    for name, text in LINES.items():
        write_audio(media / name, place([(0.5, speech(text))], total_s=5.5))
    return media


def test_speech_library_indexed_and_searched_through_the_openai_endpoint(
    tmp_path: Path, api: FakeApi, speech_media: Path, capsys, monkeypatch
) -> None:
    from mediasearch.encoders import text_models

    text_models.clear_cache()
    monkeypatch.setenv(oe.BASE_URL_ENV, api.base)
    monkeypatch.setenv(oe.KEY_ENV, KEY)
    lib = ["--library", str(tmp_path / "lib"), "--model-dir", str(MODELS)]
    model = "openai:text-embedding-3-small"
    rc, out, err = _cli([*lib, "index", str(speech_media), "--encoders", "whisper-tiny.en", "--text-model", model, "--allow-api", "-q"], capsys)
    assert rc == 0, err
    assert "cost estimate" in err and "3 files" in out
    sent = [t for r in api.requests for t in r["input"]]
    assert len(sent) >= 3 and any("wooden boat" in t.lower() for t in sent)  # the transcripts went to the endpoint
    assert all(r["model"] == "text-embedding-3-small" and r["dimensions"] == DIM for r in api.requests)

    rc, out, err = _cli([*lib, "search", "--text", "boat painted yellow", "--encoder", "whisper-tiny.en", "--no-server", "--json"], capsys)
    assert rc == 0, err
    hits = json.loads(out)
    assert Path(hits[0]["path"]).name == "lighthouse.wav"
    assert api.requests[-1]["input"] == ["boat painted yellow"]  # the query went through the same model

    # a bad key now: the search fails in one line naming the key variable
    api.script = [FakeApi.error(401, "Incorrect API key provided")]
    rc, out, err = _cli([*lib, "search", "--text", "football", "--encoder", "whisper-tiny.en", "--no-server"], capsys)
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "refused the API key (HTTP 401)" in err and "OPENAI_API_KEY" in err
    api.script = [FakeApi.ok]

    # back to a self-hosted model: the transcripts are embedded again, not transcribed again
    from mediasearch.config import Settings
    from mediasearch.library import Library

    with Library(Settings(library_dir=tmp_path / "lib", model_dir=MODELS)) as library:
        before = [(s.asset_id, s.start_s, s.end_s, s.text) for s in library.catalog.speech_segments("whisper-tiny.en")]
    from mediasearch.encoders.registry import load_encoder

    enc = load_encoder("whisper-tiny.en", Settings(library_dir=tmp_path / "lib", model_dir=MODELS))
    calls = []
    monkeypatch.setattr(enc, "transcribe", lambda *a, **k: calls.append(a) or (_ for _ in ()).throw(AssertionError("transcribed again")))
    rc, out, err = _cli([*lib, "index", str(speech_media), "--text-model", "all-minilm-l6-v2", "-q"], capsys)
    assert rc == 0, err
    assert calls == []
    with Library(Settings(library_dir=tmp_path / "lib", model_dir=MODELS)) as library:
        after = [(s.asset_id, s.start_s, s.end_s, s.text) for s in library.catalog.speech_segments("whisper-tiny.en")]
        assert after == before and library.index_config("whisper-tiny.en") == {"text_model": "all-minilm-l6-v2"}
        assert any(e["event"] == "re-embedded" for e in library.catalog.store_events(10))
    status = json.loads(_cli([*lib, "status", "--json"], capsys)[1])
    assert status["text_model"] == "all-minilm-l6-v2" and status["transcript_models"] == {"whisper-tiny.en": "all-minilm-l6-v2"}
    n_requests = len(api.requests)
    rc, out, err = _cli([*lib, "search", "--text", "snow cancelled the game", "--no-server", "--json"], capsys)
    assert rc == 0, err
    assert Path(json.loads(out)[0]["path"]).name == "football.wav"
    assert len(api.requests) == n_requests  # self-hosted now: nothing sent


def test_cost_estimate_counts_transcripts_to_re_embed_and_catalogued_speech(tmp_path: Path) -> None:
    from mediasearch import transcript_space
    from mediasearch.catalog import STATE_DONE
    from mediasearch.config import Settings
    from mediasearch.library import Library
    from mediasearch.media import AssetStatus, MediaKind, Stream

    enc = "whisper-tiny.en"
    with Library(Settings(library_dir=tmp_path / "lib", model_dir=tmp_path / "models")) as lib:
        with lib.writing("test"):
            with lib.transaction():
                cat = lib.catalog
                cat.upsert_asset(tmp_path / "new.wav", kind=MediaKind.AUDIO, size=1, mtime_ns=1, content_hash="a", status=AssetStatus.OK, duration_s=120.0)
                done = cat.upsert_asset(tmp_path / "done.wav", kind=MediaKind.AUDIO, size=1, mtime_ns=1, content_hash="b", status=AssetStatus.OK, duration_s=600.0)
                cat.add_segments(done, Stream.SPEECH, [(0.0, 2.0)], texts=["x" * 40], source=enc)
                cat.set_encoder_state(done, enc, STATE_DONE)
            lib.set_index_config(enc, {"text_model": "all-minilm-l6-v2"})
        est = transcript_space.cost_estimate(lib, [enc], "openai:text-embedding-3-small")
        assert est is not None and est.speech_minutes == pytest.approx(2.0)
        counted = oe.TokenCounter().count("x" * 40)
        assert est.tokens == counted + 2 * oe.TOKENS_PER_SPEECH_MINUTE  # the done file's text, the new file's minutes
        assert transcript_space.cost_estimate(lib, [enc], "e5-small-v2") is None  # self-hosted: nothing to pay
        # already embedded with the API model: only the new file's minutes
        with lib.writing("test"):
            lib.set_index_config(enc, {"text_model": "openai:text-embedding-3-small"})
        assert transcript_space.cost_estimate(lib, [enc], "openai:text-embedding-3-small").tokens == 2 * oe.TOKENS_PER_SPEECH_MINUTE
