"""What a query reached: which encoders answered, which media it could not reach and why,
and how each encoder's scores read.

A text query with only Whisper indexed searches transcripts and nothing else; without
saying so, a user reads "7 speech clips" as "no picture matches". :func:`explain_reach`
turns the library's contents, the query's modality and the encoders used into notes
the CLI prints on stderr (and the GUI may show). :func:`score_kind` and
:func:`score_scale` say what a hit's score means, since scores of different encoders
are not comparable (cosine -1..1 vs fused rank scores ~0.01-0.03).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from mediasearch.encoders.registry import REGISTRY, get_spec, preference_order, weights_present
from mediasearch.errors import UnknownEncoderError
from mediasearch.media import MediaKind, Modality, Stream

if TYPE_CHECKING:  # pragma: no cover
    from mediasearch.library import Library

logger = logging.getLogger(__name__)

#: the groups of searchable media, each the streams one kind of encoder indexes,
#: the asset kinds that carry them, and how a note names them
_GROUPS: dict[str, tuple[frozenset[Stream], tuple[MediaKind, ...], str]] = {
    "visual": (frozenset({Stream.IMAGE, Stream.FRAME}), (MediaKind.IMAGE, MediaKind.VIDEO), "pictures and video frames"),
    "speech": (frozenset({Stream.SPEECH}), (MediaKind.AUDIO, MediaKind.VIDEO), "speech (transcripts)"),
    "audio": (frozenset({Stream.AUDIO}), (MediaKind.AUDIO, MediaKind.VIDEO), "sounds (audio and soundtracks)"),
}

_SCALES = {
    "cosine": "cosine similarity (-1..1, higher is closer)",
    "rrf": "fused rank score (RRF of BM25 and MiniLM ranks, ~0.01-0.03; compare ranks, not scores)",
    "bm25": "BM25 keyword score (0 and up, unbounded; compare ranks, not scores)",
    "ip": "inner product (unbounded, higher is closer)",
    "l2": "distance (0 and up, lower is closer)",
}


@dataclass(frozen=True)
class ReachNote:
    """One line about a query's reach.

    ``searched``: True for media that were searched (``encoders`` answered), False for
    media present in the library that the query could not reach; ``media``: the group's
    words ("pictures and video frames"); ``reason`` and ``fix`` explain a False note
    (``fix`` is "" when no registered encoder could help).
    """

    searched: bool
    media: str
    encoders: tuple[str, ...] = ()
    reason: str = ""
    fix: str = ""
    #: the group's key ("visual", "speech", "audio") and the encoder that would reach it
    #: ("" when none): for front ends that phrase the note themselves (the GUI translates)
    group: str = ""
    suggest: str = ""

    def text(self) -> str:
        if self.searched:
            return f"searched {self.media} ({', '.join(self.encoders)})"
        line = f"{self.media} were not searched: {self.reason}"
        return f"{line} — {self.fix}" if self.fix else line


def _group_of(encoder: str) -> str:
    streams = get_spec(encoder).streams
    return next(name for name, (group_streams, _, _) in _GROUPS.items() if streams & group_streams)


def explain_reach(library: "Library", modality: Modality, used_encoders: Sequence[str]) -> list[ReachNote]:
    """Notes on what a ``modality`` query answered by ``used_encoders`` reached in ``library``.

    One ``searched`` note per group of media the used encoders cover, then one note per
    group the library holds media for (ok assets of a kind that carries it) that no used
    encoder covers, with the reason and the encoder to install or index. Reads only.
    """
    counts = library.catalog.counts()["assets"]
    present = {kind for kind, by_status in counts.items() if by_status.get("ok", 0) > 0}
    indexed = set(library.indexed_encoders())
    used_by_group: dict[str, list[str]] = {}
    for name in used_encoders:
        used_by_group.setdefault(_group_of(name), []).append(name)
    notes = [ReachNote(True, _GROUPS[g][2], tuple(names), group=g) for g, names in used_by_group.items()]
    roots = " ".join(str(r) for r in library.catalog.roots()) or "FOLDER"
    for group, (streams, kinds, words) in _GROUPS.items():
        if group in used_by_group or not any(k.value in present for k in kinds):
            continue
        notes.append(_unreached(library, modality, group, words, indexed, used_encoders, roots))
    return notes


def _unreached(
    library: "Library",
    modality: Modality,
    group: str,
    words: str,
    indexed: set[str],
    used: Sequence[str],
    roots: str,
) -> ReachNote:
    capable = [n for n in preference_order() if _group_of(n) == group and modality in REGISTRY[n].query_modalities]
    if not capable:
        return ReachNote(False, words, reason=f"no registered encoder takes {modality.value} queries for them", group=group)
    done = [n for n in capable if n in indexed]
    if done:
        if modality is Modality.AUDIO and group == "speech":
            reason = f"a spoken query reaches transcripts only when named ({', '.join(done)} is indexed)"
        else:
            reason = f"{', '.join(done)} is indexed but this search used only {', '.join(used) or 'none'}"
        return ReachNote(False, words, reason=reason, fix=f"search with `--encoder {done[0]}`", group=group, suggest=done[0])
    best = capable[0]
    steps = []
    if not weights_present(REGISTRY[best], library.settings):
        steps.append(f"install {best} (`mediasearch models pull {best}`)")
    steps.append(f"index with it (`mediasearch index {roots} --encoders {best}`)")
    kind = "text-capable " if modality is Modality.TEXT else ""
    medium = "image" if group == "visual" else "speech" if group == "speech" else "sound"
    return ReachNote(
        False, words, reason=f"no {kind}{medium} encoder for {modality.value} queries is indexed", fix=" and ".join(steps),
        group=group, suggest=best,
    )


def score_kind(encoder: str) -> str:
    """What ``encoder``'s hit scores are: "rrf" for speech (fused BM25 + dense ranks), else the spec's metric.

    An encoder missing from the registry gives "unknown".
    """
    try:
        spec = get_spec(encoder)
    except UnknownEncoderError:
        return "unknown"
    return "rrf" if Stream.SPEECH in spec.streams else spec.metric


def score_scale(encoder: str) -> str:
    """A phrase for a legend or tooltip: how to read ``encoder``'s scores."""
    kind = score_kind(encoder)
    return _SCALES.get(kind, f"{kind} score")


def score_legend(encoders: Sequence[str]) -> str:
    """One line naming each encoder's score scale, for under a table of hits."""
    seen = list(dict.fromkeys(encoders))
    return "scores: " + "; ".join(f"{name} {score_scale(name)}" for name in seen)
