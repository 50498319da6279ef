"""Which text model a library's transcripts are embedded with: choose, remember, re-embed.

The choice is library-wide (``mediasearch index --text-model NAME``) and kept in the
catalog's ``library_meta`` (:data:`META_TEXT_MODEL`); each speech encoder's vector space
records the model its vectors were made with (``{"text_model": NAME}``, see
:func:`mediasearch.indexing.index_config`). Searching uses the model the index was built
with, so a query always lands in the same space as the transcripts.

Changing the model re-embeds the transcript segments' text already in the catalog
(:func:`reembed_transcripts`): no audio is transcribed again. An API model
(``openai:...``) sends transcripts off the machine, so choosing one needs an explicit
opt-in, remembered for the library (:data:`META_ALLOW_API`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Iterable

import numpy as np

from mediasearch.encoders import text_models
from mediasearch.errors import ApiOptInRequiredError, UnknownTextModelError
from mediasearch.media import Stream

if TYPE_CHECKING:  # pragma: no cover
    from mediasearch.encoders.base import Encoder
    from mediasearch.encoders.openai_embeddings import CostEstimate
    from mediasearch.library import Library
    from mediasearch.progress import CancelToken, ProgressCallback

log = logging.getLogger(__name__)

META_TEXT_MODEL = "text_model"
META_ALLOW_API = "allow_api"
#: texts embedded per step of a re-embedding (progress and cancel between steps)
REEMBED_BATCH = 256


def is_speech(enc: "Encoder") -> bool:
    return Stream.SPEECH in enc.spec.streams and hasattr(enc, "use_text_model")


def default_text_model(enc: "Encoder") -> str:
    """The model an encoder uses where the library chose none (its spec, or MEDIASEARCH_TEXT_MODEL)."""
    from mediasearch.encoders.sentence_text import text_model_name

    return text_model_name(enc.spec.options)


def library_text_model(library: "Library") -> str | None:
    """The text model chosen for this library, None when never chosen."""
    return library.catalog.meta(META_TEXT_MODEL)


def api_allowed(library: "Library", allow_api: bool = False) -> bool:
    """True when sending transcripts to an API was agreed: now (``allow_api``), by the
    ``MEDIASEARCH_ALLOW_API`` setting, or earlier for this library."""
    from mediasearch.encoders.openai_embeddings import allowed_by_setting

    return bool(allow_api or allowed_by_setting() or library.catalog.meta(META_ALLOW_API) == "1")


def check_api_consent(library: "Library", name: str, *, allow_api: bool = False) -> None:
    """Raise ApiOptInRequiredError when ``name`` is an API model nobody agreed to."""
    if text_models.is_api_model(name) and not api_allowed(library, allow_api):
        from mediasearch.encoders.openai_embeddings import endpoint_url

        raise ApiOptInRequiredError(name, endpoint_url())


def choose(library: "Library", encoders: Iterable["Encoder"], text_model: str | None = None, *, allow_api: bool = False) -> str | None:
    """Settle the text model of this indexing run and point the speech encoders at it.

    ``text_model``: the user's new choice (remembered for the library), None to keep the
    library's (or, for a library that never chose, each encoder's default). Checks the
    name (UnknownTextModelError) and the API opt-in (ApiOptInRequiredError) before
    anything is written. Call inside the library's writing session. Returns the model in
    force, None when the library has none and no choice was made.
    """
    speech = [enc for enc in encoders if is_speech(enc)]
    chosen = text_models.normalise_name(text_model) if text_model else library_text_model(library)
    if chosen is not None:
        text_models.text_model_spec(chosen)
    names = [chosen] if chosen else [default_text_model(enc) for enc in speech]
    for name in names:
        check_api_consent(library, name, allow_api=allow_api)
    remember = bool(text_model) and chosen != library_text_model(library)
    consent = allow_api and any(text_models.is_api_model(n) for n in names) and library.catalog.meta(META_ALLOW_API) != "1"
    if remember or consent:  # no empty write transaction on every run
        with library.transaction():
            if remember:
                library.catalog.set_meta(META_TEXT_MODEL, chosen)
            if consent:
                library.catalog.set_meta(META_ALLOW_API, "1")
    for enc in speech:  # a loaded encoder is shared by the process: always say which model
        enc.use_text_model(chosen or default_text_model(enc))  # type: ignore[attr-defined]
    return chosen


def for_search(library: "Library", enc: "Encoder") -> None:
    """Point a speech encoder at the model its vectors in this library were made with."""
    if not is_speech(enc):
        return
    stored = library.index_config(enc.name) or {}
    fallback = library_text_model(library) or default_text_model(enc)
    name = stored.get("text_model") or fallback
    try:
        text_models.text_model_spec(name)
    except UnknownTextModelError:  # a model this version does not know: the space check says what to run
        name = fallback
    check_api_consent(library, name)  # the query is sent too
    enc.use_text_model(name)  # type: ignore[attr-defined]


def only_text_model_changed(stored: dict, config: dict) -> bool:
    """True when two index configs differ in their text model and nothing else."""
    rest = lambda c: {k: v for k, v in c.items() if k != "text_model"}  # noqa: E731
    return stored.get("text_model") != config.get("text_model") and rest(stored) == rest(config) and bool(stored.get("text_model"))


def reembed_transcripts(
    library: "Library",
    enc: "Encoder",
    config: dict,
    *,
    progress: "ProgressCallback | None" = None,
    cancel: "CancelToken | None" = None,
) -> int:
    """Embed every transcript segment ``enc`` made again with its current text model, and
    record ``config`` as the index's space; the transcripts themselves are kept.

    All new vectors are computed first (progress per batch, cancellable: nothing changes
    then), then swapped in one transaction: each asset's segments are replaced by equal
    ones (same times and text) with the new vectors, so the old vectors become tombstones.
    Returns the number of segments re-embedded.
    """
    from mediasearch.progress import Progress

    cat = library.catalog
    segments = [s for s in cat.speech_segments(enc.name) if s.text is not None]
    embedder = enc.embedder  # type: ignore[attr-defined]
    stage = f"{enc.name}: re-embed transcripts ({embedder.name})"
    vectors = np.zeros((len(segments), enc.spec.dim), np.float32)
    for start in range(0, len(segments), REEMBED_BATCH):
        if cancel is not None:
            cancel.raise_if_cancelled("re-embedding transcripts")
        if progress is not None:
            progress(Progress(stage, start, len(segments), "", "segment", 0.0))
        batch = segments[start : start + REEMBED_BATCH]
        vectors[start : start + len(batch)] = embedder.embed_passages([s.text or "" for s in batch])
    by_asset: dict[int, list[int]] = defaultdict(list)
    for i, s in enumerate(segments):
        by_asset[s.asset_id].append(i)
    with library.transaction():
        for asset_id, rows in by_asset.items():
            cat.delete_segments([segments[i].id for i in rows])
            ids = cat.add_segments(
                asset_id,
                Stream.SPEECH,
                [(segments[i].start_s, segments[i].end_s) for i in rows],
                texts=[segments[i].text for i in rows],
                source=enc.name,
            )
            library.stage_vectors(enc.name, np.asarray(ids, dtype=np.int64), vectors[rows])
            cat.mark_embedded(enc.name, ids)
        cat.set_vector_config(enc.name, config)
        cat.add_store_event(enc.name, "re-embedded", f"{len(segments)} transcript segments with {embedder.name}; audio not transcribed again")
    if progress is not None:
        progress(Progress(stage, len(segments), len(segments), "", "segment", 0.0))
    log.info("%s: re-embedded %d transcript segments with %s", enc.name, len(segments), embedder.name)
    return len(segments)


def cost_estimate(library: "Library", encoders: Iterable[str], text_model: str | None = None) -> "CostEstimate | None":
    """What embedding with an API model will cost in this run, before it starts: the
    transcripts already in the catalog when the model changes (all their text, counted),
    nothing for those already embedded with it, plus the speech minutes of catalogued
    audio and video not transcribed yet (at TOKENS_PER_SPEECH_MINUTE). None when the model
    is self-hosted. Files not scanned yet are unknown; the CLI says the per-minute rate."""
    from mediasearch.encoders.openai_embeddings import estimate_cost
    from mediasearch.encoders.registry import REGISTRY

    name = text_models.normalise_name(text_model) if text_model else library_text_model(library)
    if not name or not text_models.is_api_model(name):
        return None
    from mediasearch.media import AssetStatus, MediaKind

    texts: list[str] = []
    minutes = 0.0
    for encoder in encoders:
        spec = REGISTRY.get(encoder)
        if spec is None or Stream.SPEECH not in spec.streams:
            continue
        stored = library.index_config(encoder) or {}
        if stored.get("text_model") and stored.get("text_model") != name:
            texts += [s.text or "" for s in library.catalog.speech_segments(encoder)]
        # files already in the catalog that this encoder has not transcribed (new files are not known yet)
        settled = library.catalog.assets_settled_by(encoder)
        for kind in (MediaKind.AUDIO, MediaKind.VIDEO):
            for asset in library.catalog.assets(status=AssetStatus.OK, kind=kind):
                if asset.id not in settled and asset.duration_s:
                    minutes += asset.duration_s / 60.0
    return estimate_cost(name[len(text_models.API_PREFIX) :], texts, speech_minutes=minutes)
