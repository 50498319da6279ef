"""Plain data types shared by every stage: media kinds, assets, segments, hits."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path


class MediaKind(str, enum.Enum):
    """What a file in the library is."""

    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"


class Modality(str, enum.Enum):
    """What an encoder can take as input (for indexing or as a query)."""

    IMAGE = "image"
    AUDIO = "audio"
    TEXT = "text"


class Stream(str, enum.Enum):
    """What a segment is a piece of.

    ``image``: a still image (start_s = end_s = None);
    ``frame``: a video frame at start_s (= end_s) seconds;
    ``audio``: an audio window [start_s, end_s) of an audio file or a video's soundtrack;
    ``speech``: a transcript segment [start_s, end_s) with its text.
    """

    IMAGE = "image"
    FRAME = "frame"
    AUDIO = "audio"
    SPEECH = "speech"


class AssetStatus(str, enum.Enum):
    OK = "ok"
    SKIPPED = "skipped"
    #: a document, data file, ... found under a root: counted, never a failure
    NOT_MEDIA = "not_media"


@dataclass(frozen=True)
class Asset:
    """A file of the library as the catalog knows it."""

    id: int
    path: Path
    kind: MediaKind | None
    size: int
    mtime_ns: int
    content_hash: str | None
    status: AssetStatus
    skip_reason: str | None = None
    duration_s: float | None = None


@dataclass(frozen=True)
class Segment:
    """A searchable piece of an asset; its id is the vector id in every index."""

    id: int
    asset_id: int
    stream: Stream
    start_s: float | None = None
    end_s: float | None = None
    text: str | None = None


@dataclass
class Hit:
    """One ranked search result.

    ``score`` is the encoder's similarity (cosine for normalised vectors, higher is
    better; for fused text search, the fused score). Times are seconds, None for stills.
    """

    rank: int
    path: Path
    kind: MediaKind
    score: float
    encoder: str
    segment_id: int
    asset_id: int
    start_s: float | None = None
    end_s: float | None = None
    text: str | None = None
    labels: list[tuple[str, float]] = field(default_factory=list)
    #: for grouped results, the other matching segments of the same asset (best first)
    frames: list["Hit"] = field(default_factory=list)

    def to_json(self) -> dict:
        """The stable JSON form printed by ``search --json``.

        ``score_kind`` says how to read ``score`` ("cosine": -1..1; "rrf": fused ranks,
        ~0.01-0.03; see mediasearch.reach.score_kind): scores of different kinds do not compare.
        """
        from mediasearch.reach import score_kind  # deferred: reach imports the encoder registry

        out = {
            "rank": self.rank,
            "path": str(self.path),
            "kind": self.kind.value,
            "score": round(float(self.score), 6),
            "score_kind": score_kind(self.encoder),
            "encoder": self.encoder,
            "segment_id": int(self.segment_id),
            "start_s": self.start_s,
            "end_s": self.end_s,
        }
        if self.text is not None:
            out["text"] = self.text
        if self.labels:
            out["labels"] = [{"label": name, "score": round(float(s), 4)} for name, s in self.labels]
        return out
