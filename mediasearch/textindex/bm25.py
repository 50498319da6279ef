"""Lexical search: a BM25 index (bm25s) over short texts keyed by int ids.

Tokens are NFKC-lowercased unicode word runs with apostrophes removed ("don't" ->
"dont"), minus a short English stopword list; no stemming, so a keyword matches itself
exactly (dense vectors cover paraphrase and inflection). Scores are BM25 (Lucene
variant, k1 = 1.5, b = 0.75); only documents sharing a term with the query are returned.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import unicodedata
from pathlib import Path
from typing import Sequence

import numpy as np

from mediasearch.textindex.fusion import rank_by_score

logger = logging.getLogger(__name__)

#: bump when tokenisation changes, so persisted indexes are rebuilt
TOKENIZER_VERSION = 1
_WORD = re.compile(r"\w+", re.UNICODE)
_APOSTROPHES = re.compile(r"['\u2019\u02bc]")
_STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there "
    "these they this to was will with".split()
)


def _bm25s():  # -> the bm25s module
    import bm25s

    # bm25s pins its logger at DEBUG; let it follow the application's logging setup instead
    logging.getLogger("bm25s").setLevel(logging.NOTSET)
    return bm25s


def tokenize(text: str) -> list[str]:
    """Lowercased word tokens of ``text`` without stopwords and one-letter words (digits stay)."""
    text = _APOSTROPHES.sub("", unicodedata.normalize("NFKC", text).lower())
    return [t for t in _WORD.findall(text) if t not in _STOPWORDS and (len(t) > 1 or t.isdigit())]


class BM25Index:
    """BM25 over ``texts``; ``ids`` (n,) int64 are what searches return.

    ``search(query, k)`` -> [(id, score)] best first (ties by ascending id), at most ``k``,
    only documents with a positive score.
    """

    def __init__(self, texts: Sequence[str], ids: Sequence[int], *, k1: float = 1.5, b: float = 0.75) -> None:
        bm25s = _bm25s()
        if len(texts) != len(ids):
            raise ValueError(f"{len(texts)} texts but {len(ids)} ids")
        self.ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        self._retriever = None
        if len(self.ids):
            self._retriever = bm25s.BM25(k1=k1, b=b, method="lucene")
            self._retriever.index([tokenize(t or "") for t in texts], show_progress=False)

    def __len__(self) -> int:
        return int(self.ids.size)

    def scores(self, query: str) -> np.ndarray:
        """(n,) float32 BM25 score of every document for ``query`` (zeros when no term matches)."""
        if self._retriever is None:
            return np.zeros(0, np.float32)
        vocab = self._retriever.vocab_dict
        token_ids = [vocab[t] for t in tokenize(query) if t in vocab]
        if not token_ids:
            return np.zeros(len(self.ids), np.float32)
        return np.asarray(self._retriever.get_scores_from_ids(token_ids), dtype=np.float32)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """The ``k`` best (id, score) pairs for ``query``, best first; only positive scores."""
        scores = self.scores(query)
        hits = np.flatnonzero(scores > 0)
        if hits.size == 0 or k <= 0:
            return []
        if hits.size > k:  # keep every doc tied with the k-th score, then sort exactly
            kth = np.partition(scores[hits], hits.size - k)[hits.size - k]
            hits = hits[scores[hits] >= kth]
        return rank_by_score(self.ids[hits], scores[hits])[:k]

    # -- persistence -------------------------------------------------------------------
    def save(self, folder: Path, *, signature: object = None) -> None:
        """Write the index to ``folder`` (replaced whole), with ``signature`` to check on load."""
        folder = Path(folder)
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._retriever is not None:
            self._retriever.save(str(tmp / "bm25s"), show_progress=False)
        np.save(tmp / "ids.npy", self.ids)
        meta = {"tokenizer": TOKENIZER_VERSION, "signature": signature, "n": len(self)}
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)

    @classmethod
    def load(cls, folder: Path, *, signature: object = None) -> "BM25Index | None":
        """The index saved in ``folder``, or None when absent, unreadable, or its signature differs."""
        bm25s = _bm25s()

        folder = Path(folder)
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            if meta.get("tokenizer") != TOKENIZER_VERSION or meta.get("signature") != _jsonable(signature):
                return None
            obj = cls.__new__(cls)
            obj.ids = np.load(folder / "ids.npy")
            obj._retriever = None
            if len(obj.ids):
                obj._retriever = bm25s.BM25.load(str(folder / "bm25s"), show_progress=False, verbosity=0)
            return obj
        except (OSError, ValueError, KeyError) as exc:
            logger.info("rebuilding BM25 index %s: %s", folder, exc)
            return None


def _jsonable(value: object) -> object:
    return json.loads(json.dumps(value))


def bm25_search(texts: Sequence[str], ids: Sequence[int], query: str, k: int) -> list[tuple[int, float]]:
    """One-shot BM25: the ``k`` best (id, score) of ``texts`` for ``query`` (builds a throwaway index)."""
    return BM25Index(texts, ids).search(query, k)
