"""Search: a query (example image, example audio clip, or text) -> ranked hits.

Each encoder ranks with its own vectors; by default video frames and audio windows are
grouped per file (the best segment stands for the file, the others ride along in
``Hit.frames``). Scores of different encoders are not comparable, so a search over
several encoders interleaves their rankings rather than sorting scores together.

Transcript search (speech encoders) is the library's, not the encoder's: BM25 over the
catalog's full-text index of transcript segments and dense search over the encoder's
sentence vectors, fused by reciprocal rank fusion; the encoder only turns the query
into text (transcribing a spoken query) and a vector.

A search only reads. Hits are checked against the catalog, so vectors of segments
deleted since (tombstones in the log) are never shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mediasearch.encoders.base import Encoder
from mediasearch.encoders.registry import REGISTRY, get_spec, load_encoder, preference_order
from mediasearch.errors import EncoderCapabilityError, QueryError
from mediasearch.library import Library
from mediasearch.media import Hit, MediaKind, Modality, Stream

log = logging.getLogger(__name__)

#: how many extra candidates to fetch per wanted hit when grouping or filtering by kind
OVERFETCH = 4
#: other matching segments kept per grouped hit
MAX_FRAMES_PER_HIT = 5
#: seconds of an audio example used when no range is given (a long file would take gigabytes)
MAX_QUERY_AUDIO_S = 600.0


@dataclass(frozen=True)
class Query:
    """What to search for. ``path``: an example file (need not be in the library);
    ``start_s``/``end_s``: the part of an audio or video example to use, in seconds."""

    modality: Modality
    text: str | None = None
    path: Path | None = None
    start_s: float | None = None
    end_s: float | None = None

    def __post_init__(self) -> None:
        if self.modality is Modality.TEXT:
            if not (self.text and self.text.strip()):
                raise QueryError("a text query needs some text")
        elif self.path is None:
            raise QueryError(f"an {self.modality.value} query needs a file")
        elif not Path(self.path).is_file():
            raise QueryError(f"query file not found: {self.path}")
        if self.start_s is not None and self.end_s is not None and self.end_s <= self.start_s:
            raise QueryError(f"query time range is empty ({self.start_s} s to {self.end_s} s)")

    def describe(self) -> str:
        return repr(self.text) if self.modality is Modality.TEXT else str(self.path)


def _family(name: str) -> str:
    streams = get_spec(name).streams
    if Stream.SPEECH in streams:
        return "speech"
    if Stream.AUDIO in streams:
        return "audio"
    return "visual"


def applicable_encoders(library: Library, modality: Modality) -> list[str]:
    """Every encoder with vectors in this library that accepts ``modality`` queries, best first."""
    indexed = set(library.indexed_encoders())
    # best first, from the registry's preference ranks (the default is the first one indexed)
    return [n for n in preference_order() if n in indexed and modality in REGISTRY[n].query_modalities]


def default_encoders(library: Library, modality: Modality) -> list[str]:
    """The encoders a search uses when none is named: the best indexed one per family.

    An image query goes to the best visual encoder; an audio query to the best sound
    encoder; a text query to the best image-text encoder (frames and pictures), the best
    text-capable sound encoder (CLAP: "dog barking" finds sounds) *and* the best speech
    encoder (transcripts). Their rankings are interleaved; every hit names its encoder.
    """
    chosen: dict[str, str] = {}
    for name in applicable_encoders(library, modality):
        family = _family(name)
        if modality is Modality.AUDIO and family == "speech":
            continue  # spoken queries go to whisper only when asked for by name
        chosen.setdefault(family, name)
    return list(chosen.values())


def embed_query(encoder: Encoder, query: Query) -> np.ndarray:
    """The query as a (1, dim) float32 vector for ``encoder``."""
    if query.modality not in encoder.spec.query_modalities:
        raise EncoderCapabilityError(encoder.name, query.modality.value, [m.value for m in encoder.spec.query_modalities])
    if query.modality is Modality.TEXT:
        return encoder.embed_texts([query.text or ""])
    assert query.path is not None
    if query.modality is Modality.IMAGE:
        return encoder.embed_images([load_query_image(query, target_size=encoder.spec.image_size)])
    from mediasearch.decode.audio import load_audio

    start_s = query.start_s or 0.0
    end_s = query.end_s if query.end_s is not None else start_s + MAX_QUERY_AUDIO_S
    # a truncated example still works as a query: what decodes of it is the example
    waveform = load_audio(query.path, encoder.spec.sample_rate or 16_000, start_s=start_s, end_s=end_s, keep_partial=True)
    return encoder.embed_audio([waveform])


def load_query_image(query: Query, *, target_size: int | None = None):
    """The query picture: the image itself, or the frame of a video at ``start_s`` (0 if unset)."""
    from mediasearch.decode.image import load_image
    from mediasearch.decode.probe import classify

    assert query.path is not None
    if classify(Path(query.path)) is MediaKind.VIDEO:
        from mediasearch.decode.video import frame_at

        return frame_at(query.path, query.start_s or 0.0, target_size=target_size)
    return load_image(query.path, target_size=target_size)


def search(
    library: Library,
    query: Query,
    *,
    encoder: str | None = None,
    k: int = 20,
    kind: MediaKind | None = None,
    group: bool = True,
) -> list[Hit]:
    """Ranked hits for ``query``: with ``encoder`` None, the default encoders' rankings interleaved."""
    if k <= 0:
        raise QueryError("k must be positive")
    names = [encoder] if encoder else default_encoders(library, query.modality)
    if not names:
        from mediasearch.reach import explain_reach

        indexed = library.indexed_encoders()
        fixes = [n.fix for n in explain_reach(library, query.modality, []) if not n.searched and n.fix]
        raise QueryError(
            f"no encoder in this library answers {query.modality.value} queries "
            f"(indexed: {', '.join(indexed) or 'none'}); "
            + ("; ".join(fixes) if fixes else "index with an encoder that does")
        )
    rankings = [search_one(library, query, name, k=k, kind=kind, group=group) for name in names]
    if len(rankings) == 1:
        return rankings[0]
    merged: list[Hit] = []
    for position in range(k):
        for ranking in rankings:
            if position < len(ranking):
                merged.append(ranking[position])
    for rank, hit in enumerate(merged[:k], 1):
        hit.rank = rank
    return merged[:k]


def search_one(
    library: Library, query: Query, encoder_name: str, *, k: int, kind: MediaKind | None = None, group: bool = True
) -> list[Hit]:
    """Hits of one encoder, best first, ranks 1..k."""
    spec = get_spec(encoder_name)
    if query.modality not in spec.query_modalities:
        raise EncoderCapabilityError(encoder_name, query.modality.value, [m.value for m in spec.query_modalities])
    encoder = load_encoder(encoder_name, library.settings)
    from mediasearch import transcript_space

    transcript_space.for_search(library, encoder)  # a transcript query uses the model the index was built with
    _check_same_space(library, encoder)
    index = library.index(encoder_name)
    speech = Stream.SPEECH in spec.streams
    total = len(index) + (library.catalog.speech_segment_count(encoder_name) if speech else 0)
    if total == 0:
        return []
    vector: np.ndarray | None = None
    text: str | None = None
    # a Milvus store filters on kind and groups per file itself (grouping only without
    # tombstones, which could stand in for a file's live segments): no over-fetching
    pushed = {} if speech else library.pushdown(encoder_name, index, kind=kind, group=group)
    whole = bool(pushed) and (not group or bool(pushed.get("group_by_asset")))
    fetch = min(total, k if whole or not (group or kind) else k * OVERFETCH)
    while True:
        if speech:
            if text is None:
                text = encoder.query_text(query)  # type: ignore[attr-defined]
                encoder.last_query_text = text  # type: ignore[attr-defined]  (the CLI shows what was heard)
                vector = encoder.embed_texts([text])
            pairs = _speech_pairs(library, encoder_name, text, vector, fetch)
        else:
            if vector is None:
                vector = embed_query(encoder, query)
            scores, ids = index.search(vector, fetch, **pushed)
            pairs = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
        hits = _hydrate(library, encoder_name, pairs, kind=kind, group=group)
        if len(hits) >= k or fetch >= total:
            break
        fetch = min(total, fetch * 4)
    hits = hits[:k]
    for rank, hit in enumerate(hits, 1):
        hit.rank = rank
    return hits


def _speech_pairs(
    library: Library, encoder_name: str, text: str, vector: np.ndarray | None, k: int
) -> list[tuple[int, float]]:
    """[(segment id, RRF score)] best first: BM25 over the transcript segments the encoder
    made, fused with dense search over its sentence vectors."""
    from mediasearch.textindex import depth_for, fuse_hybrid, query_terms

    depth = depth_for(k)
    lexical = library.catalog.speech_bm25(encoder_name, query_terms(text), depth)
    semantic: list[tuple[int, float]] = []
    index = library.index(encoder_name)
    if vector is not None and len(index):
        scores, ids = index.search(np.asarray(vector, dtype=np.float32).reshape(1, -1), depth)
        # tombstones must not take ranks in the fusion (hydration alone would drop them after)
        known = library.catalog.known_embedded(encoder_name, [int(i) for i in ids[0] if i >= 0])
        semantic = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if int(i) in known]
    return [(h.id, h.score) for h in fuse_hybrid(lexical, semantic, k)]


def _check_same_space(library: Library, encoder: Encoder) -> None:
    from mediasearch.indexing import index_config

    stored = library.index_config(encoder.name)
    if stored is not None and stored != index_config(encoder):
        raise QueryError(
            f"the {encoder.name} index was built with {stored}, not {index_config(encoder)}; "
            f"run `mediasearch index` again with --encoders {encoder.name} to rebuild it"
        )


def _hydrate(
    library: Library, encoder: str, pairs: list[tuple[int, float]], *, kind: MediaKind | None, group: bool
) -> list[Hit]:
    rows = library.catalog.segments_with_assets((sid for sid, _ in pairs), encoder=encoder)
    labels = library.catalog.labels_of(encoder, rows) if Stream.AUDIO in get_spec(encoder).streams else {}
    hits: list[Hit] = []
    by_asset: dict[int, Hit] = {}
    for sid, score in pairs:
        row = rows.get(sid)
        if row is None:  # vector of a segment deleted since the index was saved
            continue
        segment, asset = row
        if asset.kind is None or (kind is not None and asset.kind is not kind):
            continue
        hit = Hit(
            rank=0,
            path=asset.path,
            kind=asset.kind,
            score=score,
            encoder=encoder,
            segment_id=sid,
            asset_id=asset.id,
            start_s=segment.start_s,
            end_s=segment.end_s,
            text=segment.text,
            labels=labels.get(sid, []),
        )
        if group:
            best = by_asset.get(asset.id)
            if best is not None:
                if len(best.frames) < MAX_FRAMES_PER_HIT:
                    best.frames.append(hit)
                continue
            by_asset[asset.id] = hit
        hits.append(hit)
    return hits
