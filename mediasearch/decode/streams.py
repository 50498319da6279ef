"""Which streams of a video (or audio) file can actually be decoded, each judged on its own.

A file whose picture stream is damaged may still have a good soundtrack, and the
reverse: :func:`probe_streams` decodes the first frame of each (a bounded number of
packets, never the whole file) and checks the audio's tail, so the pipeline can index
what works and say why the rest was left out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import av

from mediasearch.decode.source import av_input

logger = logging.getLogger(__name__)

__all__ = ["StreamReport", "probe_streams"]

#: packets fed to a stream's decoder before it counts as undecodable
_MAX_PACKETS = 300
_AV_ERRORS = (av.FFmpegError, ValueError, OSError, EOFError)


@dataclass(frozen=True)
class StreamReport:
    """What :func:`probe_streams` found.

    ``has_video``/``has_audio``: the container holds such a stream (cover art is not
    video); ``video_ok``/``audio_ok``: it decodes; ``reasons``: "container", "video",
    "audio" -> why that part is unusable, and "truncated" -> why the file is partial;
    ``duration_s``: what the container declares (seconds, None when unknown).
    """

    has_video: bool
    has_audio: bool
    video_ok: bool
    audio_ok: bool
    reasons: dict[str, str] = field(default_factory=dict)
    duration_s: float | None = None

    @property
    def usable(self) -> bool:
        """At least one stream decodes."""
        return self.video_ok or self.audio_ok

    @property
    def truncated_reason(self) -> str | None:
        return self.reasons.get("truncated")


def probe_streams(path: Path | str) -> StreamReport:
    """Decode the first frame of the video and of the audio stream of ``path``, separately.

    Never raises for a bad file: a file that cannot be opened gives a report with both
    streams missing and ``reasons["container"]``.
    """
    path = Path(path)
    reasons: dict[str, str] = {}
    try:
        container = av.open(av_input(path), metadata_errors="ignore")
    except _AV_ERRORS as exc:
        return StreamReport(False, False, False, False, {"container": f"cannot open: {_reason(exc)}"})
    with container:
        duration = container.duration / 1_000_000 if container.duration else None
        video = next((s for s in container.streams.video
                      if not s.disposition & av.stream.Disposition.attached_pic), None)
        audio = container.streams.audio[0] if container.streams.audio else None
    video_ok = audio_ok = False
    if video is not None:
        video_ok, why = _first_frame(path, "video")
        if not video_ok:
            reasons["video"] = why
    if audio is not None:
        audio_ok, why = _first_frame(path, "audio")
        if not audio_ok:
            reasons["audio"] = why
        else:
            cut = _audio_tail(path)
            if cut:
                reasons["truncated"] = cut
    if video is None and audio is None:
        reasons["container"] = "no audio or video stream"
    return StreamReport(video is not None, audio is not None, video_ok, audio_ok, reasons, duration)


def _first_frame(path: Path, kind: str) -> tuple[bool, str]:
    """(the stream's first frame decodes, why not) — in a fresh container, so the streams stay independent."""
    errors = 0
    last = "no frame decoded"
    try:
        with av.open(av_input(path), metadata_errors="ignore") as container:
            if kind == "video":
                stream = next(s for s in container.streams.video
                              if not s.disposition & av.stream.Disposition.attached_pic)
            else:
                stream = container.streams.audio[0]
            if stream.codec_context is None:
                return False, f"no decoder for this {kind} codec"
            for n, packet in enumerate(container.demux(stream)):
                if n >= _MAX_PACKETS:
                    break
                try:
                    for frame in packet.decode():
                        if kind == "video" or frame.samples > 0:
                            return True, ""
                except _AV_ERRORS as exc:
                    errors += 1
                    last = _reason(exc)
            try:  # frames held back by the decoder (B-frames, codec delay)
                for frame in stream.decode(None):
                    if kind == "video" or frame.samples > 0:
                        return True, ""
            except _AV_ERRORS as exc:
                last = _reason(exc)
    except _AV_ERRORS as exc:
        last = _reason(exc)
    what = f"{kind} stream cannot be decoded"
    return False, f"{what} ({last}; {errors} bad packets)" if errors else f"{what} ({last})"


def _audio_tail(path: Path) -> str | None:
    from mediasearch.decode.audio import audio_truncation
    from mediasearch.errors import MediaSearchError

    try:
        return audio_truncation(path)
    except MediaSearchError as exc:
        logger.debug("%s: audio tail probe failed (%s)", path, exc)
        return None


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
