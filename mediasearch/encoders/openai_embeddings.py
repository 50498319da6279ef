"""Transcript embeddings from an OpenAI-compatible ``/embeddings`` endpoint.

``--text-model openai:MODEL`` (text-embedding-3-small, text-embedding-3-large, or any name
the endpoint serves) sends transcript segments and queries to
``$MEDIASEARCH_OPENAI_BASE_URL/embeddings`` (default https://api.openai.com/v1) with the key
in ``$OPENAI_API_KEY``: ``POST {"model", "input": [...], "encoding_format": "float"}``,
plus ``"dimensions"`` for models known to accept it, so every transcript index keeps its
384-d space (text-embedding-3 vectors may be shortened this way; OpenAI documents it).

Requests are batched by count and by approximate tokens; 429 and 5xx answers (and
timeouts, refused connections) are retried with exponential backoff and full jitter,
honouring ``Retry-After``, for a bounded number of attempts, each with its own timeout.
A refused key raises :class:`EmbeddingApiAuthError`, any other failure
:class:`EmbeddingApiError` carrying the status and the server's message. Only the
standard library is used (urllib); tiktoken counts tokens for the cost estimate when its
encoding is on disk.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from mediasearch.encoders.base import l2_normalise
from mediasearch.encoders.text_models import API_MODELS, API_PREFIX, PRICE_DATE, TRANSCRIPT_DIM
from mediasearch.errors import EmbeddingApiAuthError, EmbeddingApiError

logger = logging.getLogger(__name__)

BASE_URL_ENV = "MEDIASEARCH_OPENAI_BASE_URL"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
KEY_ENV = "OPENAI_API_KEY"
#: the opt-in as a setting (the CLI's --allow-api does the same for one library)
ALLOW_API_ENV = "MEDIASEARCH_ALLOW_API"

#: inputs per request (OpenAI accepts up to 2048)
MAX_BATCH_INPUTS = 256
#: approximate tokens per request (OpenAI accepts up to 300,000)
MAX_BATCH_TOKENS = 100_000
#: approximate tokens per input (the models' limit is 8191); longer texts are cut
MAX_INPUT_TOKENS = 8000
#: requests per batch before giving up, seconds each may take, backoff base and cap
MAX_ATTEMPTS = 5
TIMEOUT_S = 60.0
BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
#: what a minute of speech costs in tokens, for estimates before the words are known
#: (about 150 spoken words a minute, about 1.3 tokens a word in English)
TOKENS_PER_SPEECH_MINUTE = 200
_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


def base_url() -> str:
    return (os.environ.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL).rstrip("/")


def endpoint_url(base: str | None = None) -> str:
    return f"{(base or base_url()).rstrip('/')}/embeddings"


def allowed_by_setting() -> bool:
    """True when ``MEDIASEARCH_ALLOW_API`` says yes (1, true, yes)."""
    return os.environ.get(ALLOW_API_ENV, "").strip().lower() in ("1", "true", "yes")


# -- tokens and cost ---------------------------------------------------------------------

_CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"


def _tiktoken_encoding() -> Any | None:
    """tiktoken's cl100k_base (the text-embedding-3 tokenizer) when its file is already in
    tiktoken's cache; None otherwise (fetching it would be a network call)."""
    try:
        import tiktoken
    except ImportError:
        return None
    cache = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR") or os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if not (Path(cache) / hashlib.sha1(_CL100K_URL.encode()).hexdigest()).is_file():
        return None
    try:
        return tiktoken.get_encoding("cl100k_base")
    except Exception:  # a damaged cache entry: estimate instead
        return None


class TokenCounter:
    """Tokens of a text: exact with tiktoken's cl100k_base when available, else about one
    token per 4 characters (OpenAI's rule of thumb for English). ``method`` says which."""

    def __init__(self, encoding: Any | None = None) -> None:
        self.encoding = encoding if encoding is not None else _tiktoken_encoding()
        self.method = "tiktoken cl100k_base" if self.encoding is not None else "about 4 characters per token (tiktoken's encoding is not cached here)"

    def count(self, text: str) -> int:
        if self.encoding is not None:
            return len(self.encoding.encode(text, disallowed_special=()))
        return max(1, (len(text) + 3) // 4)


@dataclass(frozen=True)
class CostEstimate:
    """``tokens`` (counted by ``method``) and ``usd`` at ``price_per_mtok`` dollars per
    million tokens on ``price_date`` (None: no price known for ``model``)."""

    model: str
    tokens: int
    method: str
    price_per_mtok: float | None
    price_date: str
    speech_minutes: float = 0.0

    @property
    def usd(self) -> float | None:
        return None if self.price_per_mtok is None else self.tokens * self.price_per_mtok / 1e6

    def text(self) -> str:
        """One line for the CLI."""
        what = f"about {self.tokens:,} tokens ({self.method})"
        if self.speech_minutes:
            what += f", counting {TOKENS_PER_SPEECH_MINUTE} tokens per minute of the {self.speech_minutes:.1f} min not transcribed yet"
        if self.usd is None:
            return f"{API_PREFIX}{self.model}: {what}; no price known for this model"
        return (
            f"{API_PREFIX}{self.model}: {what} ≈ ${self.usd:.4f} at ${self.price_per_mtok}/1M tokens "
            f"(OpenAI price list of {self.price_date})"
        )


def estimate_cost(model: str, texts: Sequence[str] = (), *, speech_minutes: float = 0.0, counter: TokenCounter | None = None) -> CostEstimate:
    """The cost of embedding ``texts`` (known transcripts) plus ``speech_minutes`` of speech
    not transcribed yet, with ``model``."""
    counter = counter or TokenCounter()
    tokens = sum(counter.count(t) for t in texts) + int(round(speech_minutes * TOKENS_PER_SPEECH_MINUTE))
    info = API_MODELS.get(model)
    return CostEstimate(model, tokens, counter.method, info.price_per_mtok if info else None, PRICE_DATE, speech_minutes)


# -- the client ----------------------------------------------------------------------------


def _retry_after_s(value: str | None) -> float | None:
    """Seconds from a Retry-After header (a number of seconds, or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def _server_message(body: bytes) -> str:
    """The ``error.message`` of an OpenAI-style error body, else the body's first line."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
    except ValueError:
        pass
    return (text.splitlines() or ["(empty answer)"])[0][:300]


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible endpoint: (n,) texts -> (n, dim) float32, L2-normalised.

    ``dim``: the size asked for (``dimensions``, for models known to accept it) and
    required of the answer. ``sleep`` and ``jitter`` (a draw in [0, 1)) are injectable (tests). Thread-safe;
    ``tokens_used`` adds up the ``usage.total_tokens`` the server reported.
    """

    engine = "api"
    precision = None
    hosting = "api"

    def __init__(
        self,
        model: str,
        *,
        base: str,
        api_key: str | None,
        dim: int = TRANSCRIPT_DIM,
        max_batch_inputs: int = MAX_BATCH_INPUTS,
        max_batch_tokens: int = MAX_BATCH_TOKENS,
        max_attempts: int = MAX_ATTEMPTS,
        timeout_s: float = TIMEOUT_S,
        backoff_s: float = BACKOFF_S,
        max_backoff_s: float = MAX_BACKOFF_S,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        counter: TokenCounter | None = None,
    ) -> None:
        self.model = model
        self.name = API_PREFIX + model
        self.url = endpoint_url(base)
        self.api_key = api_key
        self.dim = int(dim)
        info = API_MODELS.get(model)
        #: whether requests carry "dimensions" (unknown models: not sent, the answer must fit)
        self.send_dimensions = bool(info and info.shortens)
        self.max_batch_inputs = max(1, int(max_batch_inputs))
        self.max_batch_tokens = max(1, int(max_batch_tokens))
        self.max_attempts = max(1, int(max_attempts))
        self.timeout_s = float(timeout_s)
        self.backoff_s = float(backoff_s)
        self.max_backoff_s = float(max_backoff_s)
        self._sleep = sleep
        self._jitter = jitter
        self.counter = counter or TokenCounter()
        self.tokens_used = 0
        self.requests = 0
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, model: str, *, dim: int = TRANSCRIPT_DIM) -> "OpenAIEmbedder":
        """Base URL from ``MEDIASEARCH_OPENAI_BASE_URL``, key from ``OPENAI_API_KEY``."""
        return cls(model, base=base_url(), api_key=os.environ.get(KEY_ENV, "").strip() or None, dim=dim)

    # -- what the speech encoders call --------------------------------------------------
    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed(texts)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Texts -> (n, dim) float32, L2-normalised, in the order given ((0, dim) for none)."""
        texts = [t if t.strip() else "." for t in texts]  # the API refuses empty strings
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        out = [self._request(batch) for batch in self.batches(texts)]
        return l2_normalise(np.concatenate(out, axis=0))

    def batches(self, texts: Sequence[str]) -> list[list[str]]:
        """``texts`` cut into requests of at most ``max_batch_inputs`` inputs and about
        ``max_batch_tokens`` tokens (a single longer text goes alone, cut to
        :data:`MAX_INPUT_TOKENS` tokens' worth of characters)."""
        out: list[list[str]] = []
        batch: list[str] = []
        tokens = 0
        for text in texts:
            n = self.counter.count(text)
            if n > MAX_INPUT_TOKENS:
                text = text[: int(len(text) * MAX_INPUT_TOKENS / n)]
                n = MAX_INPUT_TOKENS
            if batch and (len(batch) >= self.max_batch_inputs or tokens + n > self.max_batch_tokens):
                out.append(batch)
                batch, tokens = [], 0
            batch.append(text)
            tokens += n
        if batch:
            out.append(batch)
        return out

    # -- one request, with retries ------------------------------------------------------
    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt ``attempt + 1``: the server's Retry-After when it
        gave one (capped), else full jitter over an exponentially growing window."""
        if retry_after is not None:
            return min(retry_after, self.max_backoff_s)
        return self._jitter() * min(self.max_backoff_s, self.backoff_s * (2**attempt))

    def _request(self, inputs: list[str]) -> np.ndarray:
        if not self.api_key:
            raise EmbeddingApiAuthError(self.url, None, f"no API key: set {KEY_ENV}", key_env=KEY_ENV)
        body: dict[str, Any] = {"model": self.model, "input": inputs, "encoding_format": "float"}
        if self.send_dimensions:
            body["dimensions"] = self.dim
        payload = json.dumps(body).encode("utf-8")
        last_status: int | None = None
        last_message = ""
        for attempt in range(self.max_attempts):
            request = urllib.request.Request(
                self.url,
                data=payload,
                method="POST",
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"},
            )
            retry_after: float | None = None
            with self._lock:
                self.requests += 1
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
                    data = json.loads(answer.read().decode("utf-8"))
                return self._vectors(data, len(inputs))
            except urllib.error.HTTPError as exc:
                status, message = exc.code, _server_message(exc.read() if exc.fp is not None else b"")
                if status in (401, 403):
                    raise EmbeddingApiAuthError(self.url, status, message, key_env=KEY_ENV) from None
                if status not in _RETRY_STATUS:
                    raise EmbeddingApiError(self.url, status, message, attempts=attempt + 1) from None
                last_status, last_message = status, message
                retry_after = _retry_after_s(exc.headers.get("Retry-After") if exc.headers else None)
            except (TimeoutError, socket.timeout) as exc:
                last_status, last_message = None, f"no answer within {self.timeout_s:g} s ({exc or 'timed out'})"
            except urllib.error.URLError as exc:
                reason = exc.reason
                if isinstance(reason, (TimeoutError, socket.timeout)):
                    last_message = f"no answer within {self.timeout_s:g} s"
                else:
                    last_message = f"cannot connect ({reason})"
                last_status = None
            except (ValueError, KeyError, TypeError) as exc:  # not the API's answer shape
                raise EmbeddingApiError(self.url, 200, f"unexpected answer: {exc}", attempts=attempt + 1) from None
            if attempt + 1 < self.max_attempts:
                wait = self._backoff(attempt, retry_after)
                logger.info("%s: %s; retrying in %.2f s", self.url, last_message, wait)
                self._sleep(wait)
        raise EmbeddingApiError(self.url, last_status, last_message, attempts=self.max_attempts)

    def _vectors(self, data: dict, n: int) -> np.ndarray:
        """The answer's embeddings as (n, dim) float32, placed by their ``index``."""
        items = data["data"]
        if len(items) != n:
            raise ValueError(f"{len(items)} embeddings for {n} inputs")
        out = np.zeros((n, self.dim), np.float32)
        seen = set()
        for item in items:
            i = int(item["index"])
            vector = np.asarray(item["embedding"], dtype=np.float32)
            if vector.shape != (self.dim,):
                hint = "" if self.send_dimensions else f"; it does not take a `dimensions` parameter here, so choose a model that returns {self.dim}-d vectors"
                raise EmbeddingApiError(
                    self.url, 200, f"{self.model} returned {vector.shape[-1]}-d vectors, a transcript index holds {self.dim}-d{hint}"
                )
            if not 0 <= i < n or i in seen:
                raise ValueError(f"embedding index {i} out of range or repeated")
            seen.add(i)
            out[i] = vector
        usage = data.get("usage") or {}
        with self._lock:
            self.tokens_used += int(usage.get("total_tokens") or usage.get("prompt_tokens") or 0)
        return out
