"""Audio decoding: any audio file or video soundtrack -> mono float32 at a chosen rate.

Two backends behind one reader: libsndfile (via soundfile) for WAV, FLAC, OGG/Vorbis,
OGG/Opus, AIFF and friends (sample-exact seeking), and PyAV (FFmpeg) for everything else:
MP3, M4A/AAC, Opus/Vorbis in other containers, and the audio stream of video files.
Channels are averaged to mono and resampled with soxr (a band-limited resampler, "HQ").

Long files are streamed in blocks: :func:`iter_blocks` and :func:`iter_windows` hold at
most a window plus a block in memory, whatever the file's length. Samples are float32
in [-1, 1] for integer sources (float sources are passed through, NaN/inf zeroed).
Times are seconds from the start of the stream.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import re
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np

from mediasearch.decode.source import av_input, open_binary
from mediasearch.errors import DecodeError, UnsupportedMediaError

if TYPE_CHECKING:  # pragma: no cover
    from mediasearch.progress import CancelToken

logger = logging.getLogger(__name__)

#: libsndfile formats we read with soundfile; MP3 goes to FFmpeg, which handles
#: encoder delay and VBR headers better
_SOUNDFILE_FORMATS = frozenset({"WAV", "WAVEX", "RF64", "W64", "FLAC", "OGG", "AIFF", "AU", "CAF"})
#: first four bytes of the containers libsndfile reads ('riff' opens a Sony Wave64 GUID)
_SOUNDFILE_MAGIC = frozenset({b"RIFF", b"RF64", b"BW64", b"FORM", b"fLaC", b"OggS", b".snd", b"caff", b"riff"})
#: FFmpeg demuxers whose declared duration is exact (MP3 and raw AAC only estimate it, so a
#: short decode there is not evidence of truncation)
_EXACT_DURATION_FORMATS = frozenset({"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "ogg", "flac", "wav", "aiff", "caf", "w64"})
#: native frames read per call (about 1.5 s at 44.1 kHz)
_READ_FRAMES = 65_536
#: an end-aligned tail window is added when more than this much audio is left over
TAIL_MIN_S = 0.5


class TruncatedAudioError(DecodeError):
    """The audio ended before the duration its container declares (found at the end of decoding)."""


class NoAudioStreamError(UnsupportedMediaError):
    """The file is a valid container without an audio stream (e.g. a silent video)."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(path, "no audio stream")


@dataclass(frozen=True)
class AudioInfo:
    """What a file's audio is. ``duration_s`` in seconds (None when the container does
    not say); ``sample_rate`` native Hz; ``backend`` "soundfile" or "pyav"."""

    path: Path
    duration_s: float | None
    sample_rate: int
    channels: int
    codec: str
    backend: str


# -- probing ---------------------------------------------------------------------------
def _check_file(path: Path) -> None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DecodeError(path, "file not found") from None
    except OSError as exc:
        raise DecodeError(path, f"cannot read: {exc.strerror or exc}") from None
    if size == 0:
        raise DecodeError(path, "empty file (0 bytes)")


def _soundfile_info(path: Path) -> AudioInfo | None:
    """The file's audio per libsndfile, or None when libsndfile should not read it.

    Only files whose first bytes name a libsndfile container are tried, so that MP3 and
    others never reach libsndfile's chattier decoders. A truncated file raises DecodeError.
    """
    info, truncated = _soundfile_probe(path)
    if truncated:
        raise DecodeError(path, truncated)
    return info


def _soundfile_probe(path: Path) -> tuple[AudioInfo | None, str | None]:
    """(what libsndfile says of the file or None, why it is truncated or None), from its header and tail."""
    import soundfile as sf

    with open_binary(path) as fh:
        magic = fh.read(4)
    if magic not in _SOUNDFILE_MAGIC:
        return None, None
    try:
        info = sf.info(av_input(path))
    except Exception:  # libsndfile does not know this variant (e.g. Speex in Ogg): let FFmpeg try
        return None, None
    if info.format not in _SOUNDFILE_FORMATS or info.samplerate <= 0 or info.channels <= 0:
        return None, None
    if info.frames <= 0:
        raise DecodeError(path, "no audio frames (truncated or corrupt file)")
    found = AudioInfo(
        path=path,
        duration_s=info.frames / info.samplerate,
        sample_rate=int(info.samplerate),
        channels=int(info.channels),
        codec=f"{info.format}/{info.subtype}".lower(),
        backend="soundfile",
    )
    declared, present = _wav_data_sizes(info.extra_info)
    if declared is not None and present is not None and present < declared:
        return found, f"truncated: the header declares {declared} bytes of audio, the file holds {present}"
    if info.format == "OGG" and _ogg_truncated(path):
        return found, "truncated: the Ogg stream ends without its end-of-stream page"
    if info.format == "FLAC" and not _tail_readable(path, info.frames):
        return found, f"truncated: the header declares {info.frames / info.samplerate:.1f} s, the end of the audio is missing"
    return found, None


def _tail_readable(path: Path, frames: int) -> bool:
    """Whether the last samples the header promises can be read (a cut FLAC fails to seek there)."""
    import soundfile as sf

    try:
        with sf.SoundFile(av_input(path)) as fh:
            fh.seek(max(frames - 1024, 0))
            return fh.read(1024, dtype="float32").shape[0] > 0
    except (sf.LibsndfileError, RuntimeError):
        return False


def _ogg_truncated(path: Path) -> bool:
    """True when the last Ogg page is cut short or lacks the end-of-stream flag (0x04)."""
    size = path.stat().st_size
    with open_binary(path) as fh:
        fh.seek(max(size - 70_000, 0))  # an Ogg page is at most 65,307 bytes
        tail = fh.read()
    at = tail.rfind(b"OggS")
    while at >= 0 and (len(tail) - at < 27 or tail[at + 4] != 0):
        at = tail.rfind(b"OggS", 0, at)  # "OggS" inside packet data, not a page header
    if at < 0 or len(tail) - at < 27:
        return True
    n_segments = tail[at + 26]
    lacing = tail[at + 27 : at + 27 + n_segments]
    page_end = at + 27 + n_segments + sum(lacing)
    return len(lacing) < n_segments or page_end > len(tail) or not tail[at + 5] & 0x04


def _wav_data_sizes(log: str) -> tuple[int | None, int | None]:
    """(declared, present) data-chunk bytes from libsndfile's parse log of a WAV/RF64 file.

    libsndfile notes ``data : 384000 (should be 191978)`` when the file is shorter than its
    header says. Streaming writers leave 0 or 0xFFFFFFFF as a placeholder: not truncation.
    """
    match = re.search(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", log or "", re.MULTILINE)
    if not match:
        return None, None
    declared, present = int(match.group(1)), int(match.group(2))
    if declared in (0, 0xFFFFFFFF, 0x7FFFFFFF) or declared >= 0xFFFFFFF0:
        return None, None
    return declared, present


def _av_open(path: Path):  # -> av.container.InputContainer
    import av

    try:
        return av.open(av_input(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise DecodeError(path, f"cannot open: {_av_reason(exc)}") from None


def _av_reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _av_info(path: Path, container) -> AudioInfo:
    if not container.streams.audio:
        raise NoAudioStreamError(path)
    stream = container.streams.audio[0]
    ctx = stream.codec_context
    if ctx is None:  # FFmpeg knows no decoder for this codec
        raise UnsupportedMediaError(path, "unsupported audio codec (no decoder available)")
    rate = int(ctx.sample_rate or stream.rate or 0)
    channels = int(ctx.layout.nb_channels if ctx.layout is not None else 0) or int(getattr(ctx, "channels", 0) or 0)
    if rate <= 0:
        raise DecodeError(path, f"audio stream ({ctx.name}) has no sample rate")
    duration_s: float | None = None
    if stream.duration is not None and stream.time_base is not None:
        duration_s = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration_s = container.duration / 1_000_000
    return AudioInfo(path, duration_s, rate, max(channels, 1), ctx.name, "pyav")


def probe_audio(path: Path | str) -> AudioInfo:
    """The audio stream of ``path`` (an audio file or a video's soundtrack).

    Raises DecodeError (missing, empty, unreadable), NoAudioStreamError (a container
    without audio) or UnsupportedMediaError (not media at all, or no decoder for the codec).
    """
    path = Path(path)
    _check_file(path)
    info = _soundfile_info(path)
    if info is not None:
        return info
    with _av_open(path) as container:
        info = _av_info(path, container)
        _check_decoder(path, container.streams.audio[0])
        return info


def audio_truncation(path: Path | str) -> str | None:
    """Why ``path``'s audio ends before the duration its container declares, or None; cheap.

    Reads the header and the last few seconds only (a seek near the declared end), so a
    caller learns of a cut file before decoding or transcribing any of it. Formats whose
    declared duration is only an estimate (raw AAC, MP3 without a frame count) give None.
    Raises like :func:`probe_audio`.
    """
    path = Path(path)
    _check_file(path)
    info, truncated = _soundfile_probe(path)
    if info is not None:
        return truncated
    with _av_open(path) as container:
        info = _av_info(path, container)
        return _av_tail_truncation(container, container.streams.audio[0], info)


def _av_tail_truncation(container, stream, info: AudioInfo) -> str | None:
    """Seek to two seconds before the declared end and look for packets reaching it."""
    import av

    declared = info.duration_s
    tb = stream.time_base
    if not declared or declared < 3.0 or tb is None:
        return None
    origin = float(stream.start_time * tb) if stream.start_time is not None else 0.0
    tolerance = max(1.0, 0.02 * declared)
    end: float | None = None
    ran_out = True  # the demuxer reached the end of the data (not our packet budget)
    try:
        container.seek(int((origin + declared - 2.0) / tb), stream=stream, backward=True)
        for n, packet in enumerate(container.demux(stream)):
            if packet.pts is not None:
                stop = float((packet.pts + (packet.duration or 0)) * tb) - origin
                end = stop if end is None else max(end, stop)
            if end is not None and end >= declared - tolerance / 2:
                return None
            if n >= 500:  # the seek landed far from the end (no index): no verdict
                ran_out = False
                break
    except (av.FFmpegError, OSError, ValueError) as exc:
        logger.debug("%s: tail probe failed (%s)", info.path, exc)
        return None
    finally:
        try:
            container.seek(0, stream=stream)
        except (av.FFmpegError, OSError, ValueError):
            pass
    if not ran_out:
        return None
    if end is None:
        return f"truncated: no audio data near the {declared:.1f} s end the container declares"
    if end < declared - tolerance:
        return f"truncated: audio data ends at {end:.1f} s of the {declared:.1f} s the container declares"
    return None


def has_audio(path: Path | str) -> bool:
    """True when ``path`` has an audio stream we can decode."""
    try:
        probe_audio(path)
    except (UnsupportedMediaError, DecodeError):
        return False
    return True


def _check_decoder(path: Path, stream) -> None:
    import av

    name = stream.codec_context.name
    try:
        av.codec.Codec(name, "r")
    except Exception:
        raise UnsupportedMediaError(path, f"unsupported audio codec {name!r}") from None


# -- native-rate readers: yield (frames, channels) float32 blocks ----------------------
def _to_float(samples: np.ndarray) -> np.ndarray:
    """Integer PCM -> float32 in [-1, 1]; float passes through with NaN/inf zeroed."""
    if samples.dtype.kind == "f":
        out = samples.astype(np.float32, copy=False)
        if not np.isfinite(out).all():
            out = np.nan_to_num(out, nan=0.0, posinf=1.0, neginf=-1.0)
        return out
    if samples.dtype == np.uint8:
        return (samples.astype(np.float32) - 128.0) / 128.0
    scale = float(np.iinfo(samples.dtype).max) + 1.0
    return samples.astype(np.float32) / scale


def _soundfile_blocks(path: Path, start_s: float) -> Iterator[tuple[int, np.ndarray]]:
    """(native rate, (n, channels) float32) blocks from ``start_s``."""
    import soundfile as sf

    try:
        with sf.SoundFile(av_input(path)) as fh:
            rate = int(fh.samplerate)
            if start_s > 0:
                fh.seek(min(int(round(start_s * rate)), fh.frames))
            while True:
                block = fh.read(_READ_FRAMES, dtype="float32", always_2d=True)
                if block.shape[0] == 0:
                    return
                yield rate, _to_float(block)
    except (sf.LibsndfileError, RuntimeError) as exc:  # older soundfile raises plain RuntimeError
        message = str(exc).removeprefix("Error : ").strip()
        raise DecodeError(path, f"corrupt or truncated audio data ({message})") from None


def _frame_array(frame) -> np.ndarray:
    """A PyAV AudioFrame -> (n, channels) float32."""
    arr = frame.to_ndarray()
    channels = frame.layout.nb_channels or 1
    if frame.format.is_planar:
        arr = arr.reshape(channels, -1).T
    else:
        arr = arr.reshape(-1, channels)
    return _to_float(arr)


def _av_blocks(path: Path, start_s: float) -> Iterator[tuple[int, np.ndarray]]:
    """(native rate, (n, channels) float32) blocks from ``start_s`` via FFmpeg.

    Seeks near ``start_s`` and trims by frame timestamps; decodes from the start when the
    stream has no usable timestamps.
    """
    import av

    container = _av_open(path)
    try:
        info = _av_info(path, container)
        stream = container.streams.audio[0]
        _check_decoder(path, stream)
        tb = stream.time_base
        origin = float(stream.start_time * tb) if (stream.start_time is not None and tb is not None) else 0.0
        position: float | None = 0.0  # seconds of the next decoded sample
        if start_s > 0 and tb is not None:
            try:
                container.seek(int((origin + max(start_s - 1.0, 0.0)) / tb), stream=stream, backward=True)
                position = None  # learn it from the first frame's pts
            except av.FFmpegError:
                container.seek(0, stream=stream)
                position = 0.0
        decoded_any = False
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.FFmpegError as exc:
                raise DecodeError(path, f"{info.codec}: {_av_reason(exc)}") from None
            for frame in frames:
                if frame.samples == 0:
                    continue
                decoded_any = True
                rate = int(frame.sample_rate or info.sample_rate)
                block = _frame_array(frame)
                if position is None:
                    if frame.pts is None or frame.time_base is None:
                        # no timestamps after a seek: start again from the top
                        yield from _av_blocks_from_top(path, start_s)
                        return
                    position = float(frame.pts * frame.time_base) - origin
                if start_s > 0:
                    skip = int(round((start_s - position) * rate))
                    position += block.shape[0] / rate
                    if skip >= block.shape[0]:
                        continue
                    if skip > 0:
                        block = block[skip:]
                else:
                    position += block.shape[0] / rate
                yield rate, block
        if not decoded_any and start_s <= 0:
            raise DecodeError(path, f"{info.codec}: no audio samples could be decoded")
        declared = info.duration_s
        if (
            start_s <= 0
            and position is not None
            and declared
            and container.format.name in _EXACT_DURATION_FORMATS
            and position < declared - max(1.0, 0.02 * declared)
        ):
            raise TruncatedAudioError(path, f"truncated: decoded {position:.1f} s of the {declared:.1f} s the container declares")
    except av.FFmpegError as exc:
        raise DecodeError(path, _av_reason(exc)) from None
    finally:
        container.close()


def _av_blocks_from_top(path: Path, start_s: float) -> Iterator[tuple[int, np.ndarray]]:
    """Decode from the beginning, counting samples, and drop everything before ``start_s``."""
    skipped = 0.0
    for rate, block in _av_blocks(path, 0.0):
        skip = int(round((start_s - skipped) * rate))
        skipped += block.shape[0] / rate
        if skip >= block.shape[0]:
            continue
        yield rate, block[max(skip, 0) :]


def _native_blocks(path: Path, start_s: float, *, keep_partial: bool = False) -> Iterator[tuple[int, np.ndarray]]:
    _check_file(path)
    if keep_partial:
        try:
            info = _soundfile_probe(path)[0]
        except DecodeError:  # libsndfile gives up on this cut file; FFmpeg decodes what is there
            return _av_blocks(path, start_s)
    else:
        info = _soundfile_info(path)
    if info is not None:
        return _soundfile_blocks(path, start_s)
    return _av_blocks(path, start_s)


# -- public streaming API --------------------------------------------------------------
#: seconds of audio decoded ahead of the consumer (at 16 kHz: 3.8 MB)
READ_AHEAD_S = 60.0


class _BlockState:
    """What the decoder of an :class:`AudioBlocks` knows and learns (shared with its thread)."""

    def __init__(self, path: Path, sr: int, keep_partial: bool) -> None:
        self.path = path
        self.sr = sr
        self.keep_partial = keep_partial
        self.declared_s: float | None = None
        self.truncated_reason: str | None = None
        self.early_reason: str | None = None  # what the tail probe found, before any decoding


class AudioBlocks:
    """An iterator of mono float32 blocks (see :func:`iter_blocks`) that also says what it decoded.

    ``truncated_reason``: None for a whole file, else why it is partial; with
    ``keep_partial`` it is known before the first block when the cheap tail probe
    (:func:`audio_truncation`) finds the cut, else after the last block. ``decoded_s``:
    seconds of audio yielded so far (from ``start_s``; after iteration, the real decoded
    duration); ``declared_s``: the duration the container declares, or None;
    ``finished``: True once exhausted.
    """

    def __init__(self, path: Path | str, sr: int, *, start_s: float | None, end_s: float | None,
                 block_s: float, cancel: "CancelToken | None", keep_partial: bool) -> None:
        self.path = Path(path)
        self.sr = int(sr)
        self.decoded_s = 0.0
        self.finished = False
        # what the decoding thread learns (declared duration, truncation) lives apart from
        # this object, so that dropping it stops the thread
        state = self._state = _BlockState(self.path, self.sr, keep_partial)
        if not start_s and end_s is None:  # whole-file reads learn of a cut tail first (a header and a seek)
            try:
                state.early_reason = audio_truncation(self.path)
            except (DecodeError, UnsupportedMediaError, OSError) as exc:  # raised again, lazily, by the decoder
                logger.debug("%s: tail probe: %s", self.path, exc)
                if isinstance(exc, DecodeError) and "truncated" in exc.reason:
                    state.early_reason = exc.reason
        if keep_partial:
            state.truncated_reason = state.early_reason
        # decoded (and resampled) on a read-ahead thread, a bounded number of blocks ahead,
        # so the caller's model runs while the next blocks decode
        self._blocks = _ReadAhead(
            _blocks(state, start_s=start_s, end_s=end_s, block_s=block_s, cancel=cancel),
            depth=max(2, math.ceil(READ_AHEAD_S / max(block_s, 1e-3))),
        )

    keep_partial = property(lambda self: self._state.keep_partial)
    declared_s = property(lambda self: self._state.declared_s)
    truncated_reason = property(lambda self: self._state.truncated_reason)
    early_reason = property(lambda self: self._state.early_reason)

    @property
    def partial(self) -> bool:
        return self.truncated_reason is not None

    def __iter__(self) -> "AudioBlocks":
        return self

    def __next__(self) -> np.ndarray:
        try:
            block = next(self._blocks)
        except StopIteration:
            self.finished = True
            raise
        self.decoded_s += block.size / self.sr
        return block

    def close(self) -> None:
        """Stop decoding ahead (also done when the object is dropped)."""
        self._blocks.close()

    def __del__(self) -> None:
        blocks = getattr(self, "_blocks", None)
        if blocks is not None:
            blocks.close()


class _ReadAhead:
    """Iterate ``source`` on a daemon thread, up to ``depth`` items ahead; its items and its
    exception (raised at the same point of the sequence) reach the consumer in order.

    The thread holds only ``source`` (not the consumer's object), so dropping the consumer
    stops it; it starts on the first ``next`` (a caller that never iterates costs nothing).
    """

    _END = object()

    def __init__(self, source: Iterator, *, depth: int) -> None:
        self._source = source
        self._queue: "queue.Queue" = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._done = False

    def _run(self, source: Iterator, out: "queue.Queue", stop: threading.Event) -> None:
        try:
            for item in source:
                if not _put(out, (True, item), stop):
                    return
            _put(out, (True, _ReadAhead._END), stop)
        except BaseException as exc:  # handed to the consumer, raised there
            _put(out, (False, exc), stop)
        finally:
            if stop.is_set() and hasattr(source, "close"):
                try:
                    source.close()
                except Exception:  # pragma: no cover - a decoder failing while closing
                    pass

    def __iter__(self) -> "_ReadAhead":
        return self

    def start(self) -> None:
        """Start decoding ahead now (else on the first ``next``)."""
        if self._thread is None and not self._done:
            self._thread = threading.Thread(
                target=self._run, args=(self._source, self._queue, self._stop), name="mediasearch-audio-decode", daemon=True
            )
            self._source = None  # type: ignore[assignment]  # the thread owns it now
            self._thread.start()

    def __next__(self):
        if self._done:
            raise StopIteration
        self.start()
        ok, item = self._queue.get()
        if not ok:
            self._done = True
            raise item
        if item is _ReadAhead._END:
            self._done = True
            raise StopIteration
        return item

    def close(self) -> None:
        self._done = True
        self._stop.set()


def _put(out: "queue.Queue", item: object, stop: threading.Event) -> bool:
    """Put ``item`` unless ``stop`` is set first; True when it went in."""
    while not stop.is_set():
        try:
            out.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def iter_blocks(
    path: Path | str,
    sr: int,
    *,
    start_s: float | None = None,
    end_s: float | None = None,
    block_s: float = 30.0,
    cancel: "CancelToken | None" = None,
    keep_partial: bool = False,
) -> AudioBlocks:
    """Stream ``path`` as contiguous mono float32 blocks of ``block_s`` seconds at ``sr`` Hz.

    Each block is (round(block_s * sr),) samples except the last (shorter, never empty).
    The first sample is at ``start_s`` (default 0); decoding stops at ``end_s``.
    Raises DecodeError / UnsupportedMediaError / NoAudioStreamError. A truncated file
    raises DecodeError before its first block when the tail probe sees the cut (so no
    work is spent on it), else at the end; with ``keep_partial`` it is decoded as far as
    it goes instead, and the returned :class:`AudioBlocks` says so.
    """
    if not start_s and end_s is None:
        ready = _adopt((os.fspath(path), int(sr), float(block_s), bool(keep_partial)))
        if ready is not None:  # decoding since the previous file; the caller checks ``cancel``
            return ready
    return AudioBlocks(path, sr, start_s=start_s, end_s=end_s, block_s=block_s, cancel=cancel,
                       keep_partial=keep_partial)


# -- decoding the next file while the current one is encoded ----------------------------
_prefetch_lock = threading.Lock()
_prefetched: "dict[tuple[str, int, float, bool], Future]" = {}


def prefetch_blocks(path: Path | str, sr: int, *, block_s: float = 30.0, keep_partial: bool = False) -> None:
    """Start decoding the whole of ``path`` at ``sr`` Hz on a background thread (at most
    :data:`READ_AHEAD_S` ahead), for a later :func:`iter_blocks` call with the same
    arguments, which then continues it. Lets a pipeline decode file n+1 while a model
    works on file n. Errors surface in that later call; :func:`forget_prefetched` drops
    what was not used."""
    key = (os.fspath(path), int(sr), float(block_s), bool(keep_partial))
    with _prefetch_lock:
        if key in _prefetched:
            return
        future: Future = Future()
        _prefetched[key] = future

    def start() -> None:
        try:
            blocks = AudioBlocks(path, sr, start_s=None, end_s=None, block_s=block_s, cancel=None,
                                 keep_partial=keep_partial)
            blocks._blocks.start()
            future.set_result(blocks)
        except BaseException as exc:  # the real call decodes again and raises it
            future.set_exception(exc)

    threading.Thread(target=start, name="mediasearch-audio-prefetch", daemon=True).start()


def forget_prefetched(path: Path | str) -> None:
    """Stop and drop what :func:`prefetch_blocks` started for ``path`` and nobody took."""
    name = os.fspath(path)
    with _prefetch_lock:
        keys = [k for k in _prefetched if k[0] == name]
        futures = [_prefetched.pop(k) for k in keys]
    for future in futures:
        future.add_done_callback(lambda f: f.exception() is None and f.result().close())


def _adopt(key: tuple[str, int, float, bool]) -> "AudioBlocks | None":
    with _prefetch_lock:
        future = _prefetched.pop(key, None)
    if future is None:
        return None
    try:
        return future.result()
    except BaseException:  # decode it again in the caller, which raises the error there
        return None


def _guarded(state: _BlockState, blocks: Iterator[tuple[int, np.ndarray]]) -> Iterator[tuple[int, np.ndarray]]:
    """``blocks``, with a cut or damaged tail recorded on ``state`` instead of raised (keep_partial)."""
    got = False
    try:
        for item in blocks:
            got = True
            yield item
    except TruncatedAudioError as exc:
        if not state.keep_partial:
            raise
        state.truncated_reason = state.truncated_reason or exc.reason
    except DecodeError as exc:
        if not (state.keep_partial and got):
            raise
        state.truncated_reason = state.truncated_reason or f"partial: audio damaged after the decoded part ({exc.reason})"


def _blocks(
    state: _BlockState, *, start_s: float | None, end_s: float | None, block_s: float, cancel: "CancelToken | None"
) -> Iterator[np.ndarray]:
    import soxr

    path, sr = state.path, state.sr
    if state.early_reason and not state.keep_partial:
        raise DecodeError(path, state.early_reason)
    try:
        state.declared_s = (_soundfile_probe(path)[0] or probe_audio(path)).duration_s
    except DecodeError:
        state.declared_s = None
    start = max(float(start_s or 0.0), 0.0)
    limit = None if end_s is None else max(int(round((end_s - start) * sr)), 0)
    block_n = max(int(round(block_s * sr)), 1)
    pending: list[np.ndarray] = []
    pending_n = 0
    emitted = 0
    resampler = None
    resampler_rate = None

    def take(chunk: np.ndarray) -> Iterator[np.ndarray]:
        nonlocal pending_n, emitted
        if limit is not None:
            chunk = chunk[: max(limit - emitted - pending_n, 0)]
        if chunk.size:
            pending.append(chunk)
            pending_n += chunk.size
        while pending_n >= block_n:
            joined = np.concatenate(pending)
            out, rest = joined[:block_n], joined[block_n:]
            pending[:] = [rest] if rest.size else []
            pending_n = rest.size
            emitted += out.size
            yield out

    for rate, block in _guarded(state, _native_blocks(path, start, keep_partial=state.keep_partial)):
        if cancel is not None:
            cancel.raise_if_cancelled("audio decoding")
        mono = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
        if rate != resampler_rate:
            if resampler is not None:  # the rate changed mid-stream: flush the old one
                yield from take(resampler.resample_chunk(np.zeros(0, np.float32), last=True))
            resampler = None if rate == sr else soxr.ResampleStream(rate, sr, 1, dtype="float32", quality="HQ")
            resampler_rate = rate
        chunk = mono if resampler is None else resampler.resample_chunk(np.ascontiguousarray(mono), last=False)
        yield from take(np.ascontiguousarray(chunk, dtype=np.float32))
        if limit is not None and emitted + pending_n >= limit:
            break
    else:
        if resampler is not None:
            yield from take(resampler.resample_chunk(np.zeros(0, np.float32), last=True))
    if pending_n:
        yield np.concatenate(pending)


def load_audio(
    path: Path | str,
    sr: int,
    *,
    start_s: float | None = None,
    end_s: float | None = None,
    keep_partial: bool = False,
) -> np.ndarray:
    """The whole file (or [start_s, end_s) seconds of it) as (samples,) float32 mono at ``sr`` Hz.

    Holds everything in memory: for long files use :func:`iter_blocks` / :func:`iter_windows`,
    or give a range. Raises DecodeError when nothing could be decoded (or, unless
    ``keep_partial``, when the file is truncated).
    """
    blocks = list(iter_blocks(path, sr, start_s=start_s, end_s=end_s, block_s=60.0, keep_partial=keep_partial))
    if not blocks:
        if start_s:
            raise DecodeError(path, f"no audio at or after {start_s:g} s")
        raise DecodeError(path, "no audio samples")
    return np.concatenate(blocks) if len(blocks) > 1 else blocks[0]


def window_spans(n_samples: int, sr: int, *, window_s: float, hop_s: float) -> list[tuple[int, int]]:
    """Where the windows of an ``n_samples``-long signal lie, as [start, end) sample indices.

    Audio no longer than a window is one span covering all of it. Longer audio gets
    windows every ``hop_s`` seconds while they fit, plus one window aligned to the end when
    more than :data:`TAIL_MIN_S` would otherwise be left out.
    """
    win = max(int(round(window_s * sr)), 1)
    hop = max(int(round(hop_s * sr)), 1)
    if n_samples <= 0:
        return []
    if n_samples <= win:
        return [(0, n_samples)]
    spans = [(s, s + win) for s in range(0, n_samples - win + 1, hop)]
    if n_samples - spans[-1][1] > TAIL_MIN_S * sr:
        spans.append((n_samples - win, n_samples))
    return spans


class AudioWindows:
    """An iterator of (start_s, end_s, samples) windows (see :func:`iter_windows`).

    ``decoded_s``, ``declared_s``, ``truncated_reason`` and ``partial`` are those of the
    underlying :class:`AudioBlocks` (``blocks``).
    """

    def __init__(self, blocks: AudioBlocks, windows: Iterator[tuple[float, float, np.ndarray]]) -> None:
        self.blocks = blocks
        self._windows = windows

    decoded_s = property(lambda self: self.blocks.decoded_s)
    declared_s = property(lambda self: self.blocks.declared_s)
    truncated_reason = property(lambda self: self.blocks.truncated_reason)
    partial = property(lambda self: self.blocks.partial)
    finished = property(lambda self: self.blocks.finished)

    def __iter__(self) -> "AudioWindows":
        return self

    def __next__(self) -> tuple[float, float, np.ndarray]:
        return next(self._windows)


def iter_windows(
    path: Path | str,
    sr: int,
    *,
    window_s: float,
    hop_s: float,
    cancel: "CancelToken | None" = None,
    keep_partial: bool = False,
) -> AudioWindows:
    """Stream (start_s, end_s, samples) windows of ``path`` at ``sr`` Hz, as :func:`window_spans` places them.

    ``samples`` is (end - start,) float32 mono (a copy). Memory stays at about one window
    plus one hop plus one decode block, however long the file.
    Raises DecodeError when the file holds no samples; truncation as :func:`iter_blocks`
    (``keep_partial`` keeps what decodes, and the returned object says it is partial).
    """
    blocks = iter_blocks(path, sr, block_s=max(hop_s, 1.0), cancel=cancel, keep_partial=keep_partial)
    return AudioWindows(blocks, _windows(Path(path), blocks, sr, window_s=window_s, hop_s=hop_s))


def _windows(path: Path, blocks: AudioBlocks, sr: int, *, window_s: float,
             hop_s: float) -> Iterator[tuple[float, float, np.ndarray]]:
    win = max(int(round(window_s * sr)), 1)
    hop = max(int(round(hop_s * sr)), 1)
    buf = np.zeros(0, np.float32)
    buf_start = 0  # sample index of buf[0]
    next_start = 0
    last_start: int | None = None
    total = 0
    for block in blocks:
        buf = np.concatenate([buf, block]) if buf.size else block
        total += block.size
        while next_start + win <= total:
            a = next_start - buf_start
            yield next_start / sr, (next_start + win) / sr, buf[a : a + win].copy()
            last_start = next_start
            next_start += hop
        # keep what the next window or an end-aligned tail window may need
        keep_from = last_start if last_start is not None else 0
        if keep_from > buf_start:
            buf = buf[keep_from - buf_start :]
            buf_start = keep_from
    if total == 0:
        raise DecodeError(path, "no audio samples")
    if last_start is None:
        yield 0.0, total / sr, buf.copy()
    elif total - (last_start + win) > TAIL_MIN_S * sr:
        a = total - win - buf_start
        yield (total - win) / sr, total / sr, buf[a : a + win].copy()


def rms_dbfs(samples: np.ndarray) -> float:
    """Root-mean-square level of ``samples`` in dB relative to full scale (-inf for digital silence)."""
    if samples.size == 0:
        return -math.inf
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20.0 * math.log10(rms) if rms > 0 else -math.inf
