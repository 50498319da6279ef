"""What kind of media a file is, decided by its content, never by its extension.

``sniff_kind`` reads the first bytes (magic numbers) and, for containers that can hold
either video or audio (ISO-BMFF, Matroska/WebM, OGG, AVI...), asks PyAV which streams
are there. It returns None for anything it does not recognise. ``classify`` is what the
indexing pipeline calls: it returns a kind or raises ``UnsupportedMediaError`` with a
reason ("empty file (0 bytes)", "unrecognised file format", "permission denied"...).
"""

from __future__ import annotations

import logging
import stat
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from mediasearch.errors import NotMediaError, UnsupportedMediaError
from mediasearch.media import MediaKind

logger = logging.getLogger(__name__)

__all__ = ["sniff_kind", "classify", "sniff", "Sniffed", "Verdict", "Classification", "classify_file",
           "MEDIA_EXTENSIONS"]

#: bytes read from the start of a file to recognise it (an ID3 tag is skipped separately)
_HEAD_BYTES = 4096


@dataclass(frozen=True)
class Sniffed:
    """What the first bytes say: the media kind (None when not indexable) and a format label."""

    kind: MediaKind | None
    format: str  # e.g. "jpeg", "png", "mp4", "matroska", "wav"; "unknown" when unrecognised
    reason: str | None = None  # why kind is None, when it is


# ISO-BMFF major/compatible brands that mean audio-only files (iTunes audio, audiobooks).
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}

# Well-known non-media formats get a precise reason instead of "unrecognised".
_OTHER_FORMATS: list[tuple[bytes, str]] = [
    (b"%PDF", "PDF document"),
    (b"PK\x03\x04", "ZIP archive (or office document)"),
    (b"\x1f\x8b", "gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "7z archive"),
    (b"Rar!", "RAR archive"),
    (b"\x7fELF", "executable"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"8BPS", "Photoshop document"),
    (b"gimp xcf", "GIMP image"),
]


def sniff_kind(path: Path | str) -> MediaKind | None:
    """The media kind of ``path`` from its content, or None if it is not media we index.

    Never raises for an ordinary file: unreadable, empty, unknown and unsupported files
    all give None (``classify`` says why).
    """
    try:
        return sniff(path).kind
    except OSError as exc:
        logger.debug("cannot sniff %s: %s", path, exc)
        return None


def classify(path: Path | str) -> MediaKind:
    """The media kind of ``path``, or ``UnsupportedMediaError(path, reason)`` saying why not.

    Files that are not media at all (see :func:`classify_file`) raise the subclass
    ``NotMediaError``, so a caller can count them apart from failures.
    """
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise UnsupportedMediaError(path, "file not found") from None
    except PermissionError:
        raise UnsupportedMediaError(path, "permission denied") from None
    except OSError as exc:
        raise UnsupportedMediaError(path, f"cannot read file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UnsupportedMediaError(path, "not a regular file")
    if st.st_size == 0:
        error = UnsupportedMediaError if _media_name(path) else NotMediaError
        raise error(path, "empty file (0 bytes)")
    try:
        found = sniff(path)
    except PermissionError:
        raise UnsupportedMediaError(path, "permission denied") from None
    except OSError as exc:
        raise UnsupportedMediaError(path, f"cannot read file: {exc.strerror or exc}") from None
    if found.kind is None:
        error = UnsupportedMediaError if (found.format in _MEDIA_FORMAT_LABELS or _media_name(path)) else NotMediaError
        raise error(path, found.reason or "unrecognised file format")
    return found.kind


def _media_name(path: Path) -> bool:
    return path.suffix.lower() in MEDIA_EXTENSIONS


class Verdict(str, Enum):
    """What a file is for indexing: media, not media at all, or media that cannot be used."""

    MEDIA = "media"
    NOT_MEDIA = "not-media"  # README.md, LICENSE, .json, PDFs...: counted apart, not failures
    UNUSABLE = "unusable"  # named or shaped like media but empty, damaged, unsupported or unreadable


#: file name extensions of the media formats we index or that users expect to be media
MEDIA_EXTENSIONS = frozenset(
    ".jpg .jpeg .jpe .jfif .png .gif .webp .tif .tiff .bmp .dib .avif .heic .heif .mpo "
    ".mp4 .m4v .mov .qt .mkv .webm .avi .wmv .asf .flv .ts .m2ts .mts .mpg .mpeg .3gp .3g2 .ogv "
    ".mp3 .m4a .m4b .aac .wav .wave .flac .ogg .oga .opus .wma .aif .aiff .aifc .caf .mka .au".split()
)


@dataclass(frozen=True)
class Classification:
    """``verdict``; ``kind`` when it is media; ``format`` label; ``reason`` when it is not media or unusable."""

    verdict: Verdict
    kind: MediaKind | None
    format: str
    reason: str | None = None


def classify_file(path: Path | str) -> Classification:
    """Media, not media, or unusable media, with a reason; never raises for a bad file.

    Content decides first (magic numbers, and PyAV for containers); a file whose content
    is not media counts as NOT_MEDIA unless its extension says it should have been media
    (``holiday.jpg`` full of zeros is UNUSABLE: the user expects it indexed). Empty files
    follow the same rule. Unsupported media formats (HEIC, AVIF without support) and
    containers without streams are UNUSABLE.
    """
    path = Path(path)
    try:
        kind = classify(path)
    except UnsupportedMediaError as exc:
        try:
            found = sniff(path) if path.is_file() else Sniffed(None, "unreadable", exc.reason)
        except OSError:
            found = Sniffed(None, "unreadable", exc.reason)
        if isinstance(exc, NotMediaError):
            return Classification(Verdict.NOT_MEDIA, None, found.format, f"not media: {_not_media_reason(found, exc)}")
        return Classification(Verdict.UNUSABLE, None, found.format, exc.reason)
    try:
        label = sniff(path).format
    except OSError:
        label = "unknown"
    return Classification(Verdict.MEDIA, kind, label)


#: Sniffed.format labels of media we recognise but may not index
_MEDIA_FORMAT_LABELS = frozenset({"heif", "avif", "jpeg", "png", "gif", "webp", "tiff", "bmp", "mp4", "m4a",
                                  "quicktime", "matroska", "webm", "avi", "ogg", "asf", "flv", "mpegts", "mpeg",
                                  "wav", "aiff", "flac", "mp3", "aac"})


def _not_media_reason(found: Sniffed, exc: UnsupportedMediaError) -> str:
    if found.format == "text":
        return "a text file"
    if found.format == "empty":
        return "an empty file"
    if found.reason and found.reason.startswith("unsupported file format: "):
        return "a " + found.reason.removeprefix("unsupported file format: ")
    return exc.reason


def sniff(path: Path | str) -> Sniffed:
    """Recognise ``path`` by its first bytes (and a PyAV probe for containers).

    Raises OSError when the file cannot be read; everything else is a ``Sniffed``.
    """
    from mediasearch.decode.source import open_binary

    path = Path(path)
    with open_binary(path) as fh:
        head = fh.read(_HEAD_BYTES)
        if not head:
            return Sniffed(None, "empty", "empty file (0 bytes)")
        found = _sniff_image(head)
        if found is not None:
            return found
        found = _sniff_container(path, head)
        if found is not None:
            return found
        found = _sniff_audio(fh, head)
        if found is not None:
            return found
    for magic, label in _OTHER_FORMATS:
        if head.startswith(magic):
            return Sniffed(None, label, f"unsupported file format: {label}")
    if _looks_like_text(head):
        return Sniffed(None, "text", "unsupported file format: text file")
    return Sniffed(None, "unknown", "unrecognised file format")


# ----------------------------------------------------------------------------- images


def _sniff_image(head: bytes) -> Sniffed | None:
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed(MediaKind.IMAGE, "jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed(MediaKind.IMAGE, "png")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed(MediaKind.IMAGE, "gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed(MediaKind.IMAGE, "webp")
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):  # classic and BigTIFF
        return Sniffed(MediaKind.IMAGE, "tiff")
    if head[:2] == b"BM" and len(head) >= 18:
        # "BM" alone is too weak: also require a known DIB header size.
        dib_size = int.from_bytes(head[14:18], "little")
        if dib_size in (12, 16, 40, 52, 56, 64, 108, 124):
            return Sniffed(MediaKind.IMAGE, "bmp")
    return None


# ----------------------------------------------------------------------------- containers


def _sniff_container(path: Path, head: bytes) -> Sniffed | None:
    """Containers that may hold video or audio: the streams decide."""
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        size = int.from_bytes(head[0:4], "big")
        brands = {brand} | {head[i:i + 4] for i in range(16, min(size, len(head)) - 3, 4)}
        if brand in _AVIF_BRANDS:
            return _avif()
        if brand in _HEIF_BRANDS or (brands & _HEIF_BRANDS and not brands & {b"isom", b"mp41", b"mp42", b"qt  "}):
            return Sniffed(None, "heif", "unsupported file format: HEIF/HEIC image")
        default = MediaKind.AUDIO if brand in _AUDIO_BRANDS else MediaKind.VIDEO
        label = "quicktime" if brand == b"qt  " else ("m4a" if default is MediaKind.AUDIO else "mp4")
        return _by_streams(path, label, default)
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip") and int.from_bytes(head[:4], "big") >= 8:
        return _by_streams(path, "quicktime", MediaKind.VIDEO)  # old QuickTime without ftyp
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        label = "webm" if b"webm" in head[:64] else "matroska"
        return _by_streams(path, label, MediaKind.VIDEO)
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return _by_streams(path, "avi", MediaKind.VIDEO)
    if head[:4] == b"OggS":
        # The first page names the first stream's codec; a Theora/VP8 stream means video.
        default = MediaKind.VIDEO if (b"\x80theora" in head[:512] or b"OVP80" in head[:512]) else MediaKind.AUDIO
        return _by_streams(path, "ogg", default)
    if head[:16] == b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c":
        return _by_streams(path, "asf", MediaKind.VIDEO)  # WMV / WMA
    if head[:3] == b"FLV" and head[3] == 1:
        return _by_streams(path, "flv", MediaKind.VIDEO)
    if _is_mpeg_ts(head):
        return _by_streams(path, "mpegts", MediaKind.VIDEO)
    if head[:4] == b"\x00\x00\x01\xba":
        return _by_streams(path, "mpeg", MediaKind.VIDEO)
    return None


def _avif() -> Sniffed:
    from PIL import features

    if features.check("avif"):
        return Sniffed(MediaKind.IMAGE, "avif")
    return Sniffed(None, "avif", "unsupported file format: AVIF image (Pillow built without AVIF)")


def _is_mpeg_ts(head: bytes) -> bool:
    """188-byte packets (192 for M2TS/AVCHD) each starting with the 0x47 sync byte."""
    for packet, offset in ((188, 0), (192, 4)):
        starts = range(offset, len(head), packet)
        if len(starts) >= 4 and all(head[i] == 0x47 for i in list(starts)[:8]):
            return True
    return False


def _by_streams(path: Path, label: str, default: MediaKind) -> Sniffed:
    """Video if the container has a real video stream (not cover art), else audio if it has audio.

    When PyAV cannot open the file the magic number's ``default`` is kept, so a corrupt
    video is reported by the decoder (DecodeError) rather than as an unknown file.
    """
    import av

    from mediasearch.decode.source import av_input

    try:
        with av.open(av_input(path), metadata_errors="ignore") as container:
            has_video = any(not _is_attached_picture(s) for s in container.streams.video)
            has_audio = bool(container.streams.audio)
    except (av.FFmpegError, ValueError, OSError) as exc:
        if isinstance(exc, PermissionError):
            raise
        logger.debug("PyAV cannot open %s (%s); assuming %s from its header", path, exc, default.value)
        return Sniffed(default, label)
    if has_video:
        return Sniffed(MediaKind.VIDEO, label)
    if has_audio:
        return Sniffed(MediaKind.AUDIO, label)
    return Sniffed(None, label, f"no audio or video stream in {label} container")


def _is_attached_picture(stream) -> bool:
    import av

    return bool(stream.disposition & av.stream.Disposition.attached_pic)


# ----------------------------------------------------------------------------- audio


def _sniff_audio(fh, head: bytes) -> Sniffed | None:
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return Sniffed(MediaKind.AUDIO, "wav")
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return Sniffed(MediaKind.AUDIO, "aiff")
    if head[:4] == b"fLaC":
        return Sniffed(MediaKind.AUDIO, "flac")
    if head[:3] == b"ID3" and len(head) >= 10:
        # An ID3v2 tag precedes MP3 (and sometimes AAC/FLAC) data; look past it.
        tag_size = 10 + _syncsafe(head[6:10]) + (10 if head[5] & 0x10 else 0)
        fh.seek(tag_size)
        after = fh.read(_HEAD_BYTES)
        if after[:4] == b"fLaC":
            return Sniffed(MediaKind.AUDIO, "flac")
        if _adts_frames(after, 1):
            return Sniffed(MediaKind.AUDIO, "aac")
        return Sniffed(MediaKind.AUDIO, "mp3")  # the tag itself is specific enough
    if _adts_frames(head, 2):
        return Sniffed(MediaKind.AUDIO, "aac")
    if _mpeg_audio_frames(head, 2):
        return Sniffed(MediaKind.AUDIO, "mp3")
    return None


def _syncsafe(b: bytes) -> int:
    return (b[0] & 0x7F) << 21 | (b[1] & 0x7F) << 14 | (b[2] & 0x7F) << 7 | (b[3] & 0x7F)


def _adts_frames(buf: bytes, needed: int) -> bool:
    """``needed`` consecutive AAC ADTS frames at the start of ``buf`` (chained by their lengths)."""
    pos = 0
    for _ in range(needed):
        if len(buf) < pos + 7:
            return pos > 0  # the buffer ended after whole frames
        b = buf[pos:pos + 7]
        if b[0] != 0xFF or (b[1] & 0xF6) != 0xF0 or ((b[2] >> 2) & 0xF) > 12:
            return False
        length = ((b[3] & 0x3) << 11) | (b[4] << 3) | (b[5] >> 5)
        if length < 7:
            return False
        pos += length
    return True


_MP3_BITRATES = {  # kbit/s by (MPEG-1?, layer) -> table indexed 1..14
    (True, 1): [32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
    (True, 2): [32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
    (True, 3): [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
    (False, 1): [32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
    (False, 2): [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    (False, 3): [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mpeg_audio_frames(buf: bytes, needed: int) -> bool:
    """``needed`` consecutive MPEG audio (MP1/2/3) frame headers chained by frame length.

    Two chained headers make a false positive on random data very unlikely (one frame
    sync alone matches about one random file in two thousand).
    """
    pos = 0
    for _ in range(needed):
        if len(buf) < pos + 4:
            return False
        b1, b2, b3 = buf[pos + 1], buf[pos + 2], buf[pos + 3]
        if buf[pos] != 0xFF or (b1 & 0xE0) != 0xE0:
            return False
        version = (b1 >> 3) & 0x3  # 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5, 1 reserved
        layer = 4 - ((b1 >> 1) & 0x3)  # 4 means reserved
        bitrate_idx, rate_idx, padding = b2 >> 4, (b2 >> 2) & 0x3, (b2 >> 1) & 0x1
        if version == 1 or layer == 4 or bitrate_idx in (0, 15) or rate_idx == 3 or (b3 & 0x3) == 2:
            return False
        mpeg1 = version == 3
        bitrate = _MP3_BITRATES[(mpeg1, layer)][bitrate_idx - 1] * 1000
        rate = _MP3_RATES[version][rate_idx]
        if layer == 1:
            length = (12 * bitrate // rate + padding) * 4
        else:
            length = (144 if (layer == 2 or mpeg1) else 72) * bitrate // rate + padding
        if length < 4:
            return False
        pos += length
    return True


# ----------------------------------------------------------------------------- other


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a multi-byte character cut at the end is fine
            return False
    return True
