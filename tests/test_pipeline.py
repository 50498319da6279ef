"""The indexing pipeline's shape: one read per file, decoding overlapping inference, batches
that span files.

Opens are counted at two levels in a fresh interpreter: Python's audit hook ('open'
events: Pillow, the sniffer, the hasher) and Linux inotify on the corpus folder
(IN_OPEN: every open by any library, FFmpeg and libsndfile included). Overlap is shown
from recorded events, not timings: the encoder, instrumented, waits until it has seen the
next file's decode begin, which only a pipelined run can give it (a serial run times out).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

import media_factory as mf
from mediasearch.indexing import index_paths
from mediasearch.library import Library

REPO = Path(__file__).resolve().parents[1]

_COUNT_OPENS = textwrap.dedent(
    r"""
    import ctypes, json, os, struct, sys
    from pathlib import Path

    corpus = Path(sys.argv[1]).resolve()
    lib_dir = Path(sys.argv[2])
    encoders = sys.argv[3].split(",")
    py_opens = {}

    def hook(event, args):
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            p = os.fsdecode(args[0])
            if os.path.dirname(os.path.abspath(p)) == str(corpus):
                py_opens[os.path.basename(p)] = py_opens.get(os.path.basename(p), 0) + 1

    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK)
    IN_OPEN, IN_CLOSE_NOWRITE = 0x20, 0x10  # close events keep repeated opens from coalescing
    watch = libc.inotify_add_watch(fd, os.fsencode(corpus), IN_OPEN | IN_CLOSE_NOWRITE) if fd >= 0 else -1

    def os_opens():
        out = {}
        while True:
            try:
                buf = os.read(fd, 1 << 16)
            except BlockingIOError:
                return out
            off = 0
            while off < len(buf):
                _, mask, _, n = struct.unpack_from("iIII", buf, off)
                name = buf[off + 16 : off + 16 + n].rstrip(b"\0").decode()
                if name and mask & IN_OPEN:
                    out[name] = out.get(name, 0) + 1
                off += 16 + n

    from mediasearch.config import Settings
    from mediasearch.indexing import index_paths
    from mediasearch.library import Library

    lib = Library(Settings(library_dir=lib_dir, model_dir=lib_dir / "models", batch_size=4))
    result = {"inotify": watch >= 0}
    sys.addaudithook(hook)
    for run in ("first", "second"):
        py_opens.clear()
        os_opens()
        report = index_paths(lib, [corpus], encoders=encoders)
        result[run] = {
            "python": dict(py_opens),
            "os": os_opens() if watch >= 0 else {},
            "new": report.new,
            "items": {k: v.items for k, v in report.encoders.items()},
            "failures": report.failures,
        }
    lib.close()
    print(json.dumps(result))
    """
)


def _count_opens(corpus: Path, lib_dir: Path, encoders: list[str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _COUNT_OPENS, str(corpus), str(lib_dir), ",".join(encoders)],
        capture_output=True, text=True, timeout=240, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_each_file_is_opened_once_per_index_run(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    names = []
    for i in range(5):
        names.append(mf.make_image(corpus / f"photo{i}.jpg", seed=i, size=(640, 480)).name)
    names.append(mf.make_image(corpus / "drawing.png", seed=9, size=(320, 240)).name)
    names.append(mf.make_audio(corpus / "tone.wav", duration_s=3.0).name)
    names.append(mf.make_video(corpus / "clip.mp4", duration_s=2.0, with_audio=True).name)
    (corpus / "notes.txt").write_text("not media\n")

    out = _count_opens(corpus, tmp_path / "lib", ["baseline-image", "baseline-audio"])
    first = out["first"]
    assert first["failures"] == []
    assert first["new"] == len(names)
    assert first["items"] == {"baseline-image": 7, "baseline-audio": 2}  # 5 JPEG + PNG + video frames; WAV + soundtrack
    for name in names + ["notes.txt"]:
        assert first["python"].get(name) == 1, (name, first["python"])
        if out["inotify"]:
            assert first["os"].get(name) == 1, (name, first["os"])  # FFmpeg / libsndfile read the held buffer
    # nothing changed: the second run opens no file at all
    assert out["second"]["python"] == {} and out["second"]["os"] == {}
    assert out["second"]["items"] == {"baseline-image": 0, "baseline-audio": 0}


def test_held_buffer_hash_equals_the_file_hash(tmp_path: Path) -> None:
    from mediasearch.decode.source import read_source
    from mediasearch.hashing import content_hash

    small = mf.make_image(tmp_path / "a.jpg", seed=1)
    big = tmp_path / "big.bin"
    big.write_bytes(np.random.default_rng(0).integers(0, 256, 17 * 1024 * 1024, dtype=np.uint8).tobytes())
    src = read_source(small)
    assert src.data == small.read_bytes() and src.digest == content_hash(small)
    src = read_source(big)
    assert src.data is None and src.digest == content_hash(big) and src.digest.startswith("b2s:")


class _Recorder:
    """Events in order, and a way for the encoder to wait for a given one."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.cond = threading.Condition()

    def add(self, kind: str, name: str) -> None:
        with self.cond:
            self.events.append((kind, name))
            self.cond.notify_all()

    def wait_for(self, kind: str, name: str, timeout: float = 20.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: (kind, name) in self.events, timeout=timeout)


def test_image_decoding_overlaps_embedding_and_batches_span_files(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mediasearch.decode import image as image_mod
    from mediasearch.encoders import registry

    folder = tmp_path / "photos"
    paths = [mf.make_image(folder / f"p{i:02d}.jpg", seed=i, size=(320, 240)) for i in range(10)]
    rec = _Recorder()
    real_load = image_mod.load_image

    def load_image(path, **kw):  # instrumentation around the real decoder
        rec.add("decode-start", Path(path).name)
        return real_load(path, **kw)

    monkeypatch.setattr(image_mod, "load_image", load_image)
    real_load_encoder = registry.load_encoder
    batches: list[int] = []
    overlapped: list[bool] = []

    def load_encoder(name, settings):
        enc = real_load_encoder(name, settings)
        real_embed = enc.embed_images

        def embed_images(images):
            batches.append(len(images))
            # the files are decoded in name order; a batch of the first 4 files is embedded
            # while file 5 (index 4 + len) decodes, if and only if decoding runs ahead
            nxt = f"p{sum(batches):02d}.jpg"
            if sum(batches) < len(paths):
                overlapped.append(rec.wait_for("decode-start", nxt))
            rec.add("embed-end", str(len(batches)))
            return real_embed(images)

        enc.embed_images = embed_images
        return enc

    monkeypatch.setattr("mediasearch.indexing.load_encoder", load_encoder)
    report = index_paths(library, [folder], encoders=["baseline-image"])
    assert report.encoders["baseline-image"].items == 10 and not report.failures
    assert overlapped and all(overlapped), rec.events  # decode of the next file began before this embed ended
    # batches are filled from several files (one image each): 4 + 4 + 2 with batch_size 4
    assert batches == [4, 4, 2]


def test_audio_decoding_of_the_next_file_overlaps_encoding(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mediasearch.decode import audio as audio_mod
    from mediasearch.encoders import registry

    folder = tmp_path / "sounds"
    for i in range(3):  # 25 s: four 10 s windows every 5 s, one batch of 4 per file
        mf.make_audio(folder / f"s{i}.wav", duration_s=25.0, freq=300.0 + 100 * i)
    rec = _Recorder()
    real_native = audio_mod._native_blocks

    def native_blocks(path, start_s, **kw):  # instrumentation: where decoding of a file begins
        rec.add("decode-start", Path(path).name)
        return real_native(path, start_s, **kw)

    monkeypatch.setattr(audio_mod, "_native_blocks", native_blocks)
    real_load_encoder = registry.load_encoder
    seen: list[bool] = []

    def load_encoder(name, settings):
        enc = real_load_encoder(name, settings)
        real_embed = enc.embed_windows

        def embed_windows(windows):
            k = len(seen) + 1  # file k-1's windows are embedded while file k starts decoding
            if k < 3:
                seen.append(rec.wait_for("decode-start", f"s{k}.wav", timeout=10.0))
            return real_embed(windows)

        enc.embed_windows = embed_windows
        return enc

    monkeypatch.setattr("mediasearch.indexing.load_encoder", load_encoder)
    report = index_paths(library, [folder], encoders=["baseline-audio"])
    assert report.encoders["baseline-audio"].items == 3 and not report.failures
    assert seen == [True, True], rec.events


def test_decode_workers_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from mediasearch.indexing import decode_workers

    monkeypatch.setenv("MEDIASEARCH_DECODE_WORKERS", "3")
    assert decode_workers() == 3
    monkeypatch.delenv("MEDIASEARCH_DECODE_WORKERS")
    assert 1 <= decode_workers() <= 8


def test_many_small_chunks_index_everything_and_still_find_renames(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from mediasearch import indexing
    from mediasearch.decode import source

    from mediasearch.encoders import registry

    monkeypatch.setattr(indexing, "HOLD_BYTES", 1)  # every file is a chunk of its own
    folder = tmp_path / "photos"
    paths = [mf.make_image(folder / f"p{i}.jpg", seed=i) for i in range(5)]
    mf.make_audio(folder / "tone.wav", duration_s=1.5)
    batches: list[int] = []
    real_load_encoder = registry.load_encoder

    def load_encoder(name, settings):
        enc = real_load_encoder(name, settings)
        if name == "baseline-image":
            real_embed = enc.embed_images
            enc.embed_images = lambda images: batches.append(len(images)) or real_embed(images)
        return enc

    monkeypatch.setattr("mediasearch.indexing.load_encoder", load_encoder)
    events = []
    r1 = index_paths(library, [folder], encoders=["baseline-image", "baseline-audio"], progress=events.append)
    assert (r1.new, r1.encoders["baseline-image"].items, r1.encoders["baseline-audio"].items) == (6, 5, 1)
    assert batches == [4, 1]  # a batch fills across chunks (batch_size 4)
    assert source.held_bytes() == 0  # every buffer was let go
    embed = [p for p in events if p.stage == "embed images"]
    assert [p.done for p in embed] == sorted(p.done for p in embed) and embed[-1].done == 5  # one bar, counting on
    shutil.move(paths[0], folder / "renamed.jpg")
    mf.make_image(folder / "new.jpg", seed=50)
    r2 = index_paths(library, [folder], encoders=["baseline-image", "baseline-audio"])
    assert (r2.moved, r2.new, r2.removed, r2.unchanged) == (1, 1, 0, 5)
    assert r2.encoders["baseline-image"].items == 1
    assert library.catalog.live_count("baseline-image") == 6


def test_audio_read_ahead_stops_when_the_reader_is_dropped(tmp_path: Path) -> None:
    import gc
    import threading
    import time

    from mediasearch.decode.audio import iter_blocks

    path = mf.make_audio(tmp_path / "long.wav", duration_s=60.0)
    blocks = iter_blocks(path, 16_000, block_s=1.0)
    first = next(blocks)
    assert first.size == 16_000
    assert any(t.name == "mediasearch-audio-decode" for t in threading.enumerate())
    del blocks
    gc.collect()
    deadline = time.monotonic() + 5
    while any(t.name == "mediasearch-audio-decode" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name == "mediasearch-audio-decode" for t in threading.enumerate())
    # read whole, the blocks are the same with or without read-ahead (contiguous, in order)
    whole = np.concatenate(list(iter_blocks(path, 16_000, block_s=7.0)))
    assert whole.size == 60 * 16_000


def test_decoding_goes_on_across_chunks_from_the_held_bytes(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One decode queue for the whole run: the same worker thread decodes every chunk
    (none is started and drained per chunk), and a file still decoding after its chunk was
    handed on is decoded from the bytes the check read, not read again."""
    from mediasearch import indexing
    from mediasearch.decode import image as image_mod
    from mediasearch.decode import source

    monkeypatch.setattr(indexing, "HOLD_BYTES", 1)  # every file is a chunk of its own
    monkeypatch.setenv("MEDIASEARCH_DECODE_WORKERS", "1")
    folder = tmp_path / "photos"
    for i in range(12):
        mf.make_image(folder / f"p{i:02d}.jpg", seed=i, size=(320, 240))
    threads: list[threading.Thread] = []  # kept alive here, so no two can look alike
    from_memory: list[bool] = []
    real_load = image_mod.load_image

    def load_image(path, **kw):  # instrumentation around the real decoder
        threads.append(threading.current_thread())
        from_memory.append(source.held(path) is not None)
        return real_load(path, **kw)

    monkeypatch.setattr(image_mod, "load_image", load_image)
    report = index_paths(library, [folder], encoders=["baseline-image"])
    assert report.encoders["baseline-image"].items == 12 and not report.failures
    assert len(threads) == 12 and len({id(t) for t in threads}) == 1, threads
    assert all(from_memory), from_memory
    assert source.held_bytes() == 0
    assert not any(t.name.startswith("mediasearch-decode") for t in threading.enumerate())


def test_a_cancelled_run_stops_its_decoders_and_lets_go_of_every_buffer(
    library: Library, tmp_path: Path
) -> None:
    from mediasearch.decode import source
    from mediasearch.progress import CancelToken

    folder = tmp_path / "photos"
    for i in range(30):
        mf.make_image(folder / f"p{i:02d}.jpg", seed=i, size=(320, 240))
    cancel = CancelToken()

    def progress(p) -> None:
        if p.stage == "embed images" and p.done >= 10:  # after the first checkpoint (batches of 4)
            cancel.cancel()

    report = index_paths(library, [folder], encoders=["baseline-image"], progress=progress, cancel=cancel)
    assert report.cancelled
    assert 1 <= report.encoders["baseline-image"].items < 30
    assert source.held_bytes() == 0
    assert not any(t.name.startswith("mediasearch-decode") for t in threading.enumerate())
    # what the run kept is kept, and the next run does the rest
    again = index_paths(library, [folder], encoders=["baseline-image"])
    assert report.encoders["baseline-image"].items + again.encoders["baseline-image"].items == 30
    assert library.catalog.live_count("baseline-image") == 30


def _crossings(samples: np.ndarray) -> int:
    return int(np.count_nonzero(np.diff(np.signbit(samples))))


def test_audio_windows_of_short_files_share_batches_and_one_bad_file_fails_alone(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seven one-window clips, batch size 4: the windows go to the model as 4 + 3, not
    seven batches of one. The model fails on any batch holding the 2 kHz clip: that batch
    is retried file by file, and only that file is recorded as failed."""
    from mediasearch.encoders import registry

    folder = tmp_path / "sounds"
    freqs = [300.0, 350.0, 400.0, 450.0, 500.0, 2000.0, 550.0]
    for i, f in enumerate(freqs):
        mf.make_audio(folder / f"s{i}.wav", duration_s=1.0, freq=f)
    batches: list[int] = []
    real_load_encoder = registry.load_encoder

    def load_encoder(name, settings):
        enc = real_load_encoder(name, settings)
        real_embed = enc.embed_windows

        def embed_windows(windows):  # the model, failing on the poisoned clip
            batches.append(len(windows))
            if any(_crossings(w) > 3000 for w in windows):
                raise RuntimeError("model failure on a 2 kHz clip")
            return real_embed(windows)

        enc.embed_windows = embed_windows
        return enc

    monkeypatch.setattr("mediasearch.indexing.load_encoder", load_encoder)
    report = index_paths(library, [folder], encoders=["baseline-audio"])
    stats = report.encoders["baseline-audio"]
    assert batches[:2] == [4, 3] and sorted(batches[2:]) == [1, 1, 1], batches
    assert (stats.items, stats.failed) == (6, 1)
    assert [Path(p).name for p, enc, _ in report.failures] == ["s5.wav"]
    assert "model failure" in report.failures[0][2]
    assert library.catalog.live_count("baseline-audio") == 6


def test_batched_audio_windows_give_the_vectors_of_one_file_at_a_time(tmp_path: Path, settings) -> None:
    from mediasearch.encoders.registry import load_encoder
    from mediasearch.media import MediaKind

    enc = load_encoder("baseline-audio", settings.with_(batch_size=8))
    paths = [mf.make_audio(tmp_path / f"a{i}.wav", duration_s=d, freq=300.0 + 70 * i) for i, d in enumerate([0.8, 7.5, 1.2, 4.0])]
    paths.append(tmp_path / "missing.wav")
    started: list[int] = []
    got = list(enc.encode_files([(p, MediaKind.AUDIO) for p in paths], on_start=started.append))
    assert [i for i, _, _ in got] == [0, 1, 2, 3, 4] and started == [0, 1, 2, 3, 4]
    assert isinstance(got[4][1], Exception)  # the missing file's own error, the others unharmed
    for (i, batched, seconds), path in zip(got[:4], paths):
        alone = enc.encode_asset(path, MediaKind.AUDIO)
        assert [(s.start_s, s.end_s) for s in batched.segments] == [(s.start_s, s.end_s) for s in alone.segments]
        np.testing.assert_allclose(
            np.stack([s.vector for s in batched.segments]), np.stack([s.vector for s in alone.segments]), atol=1e-5
        )
        assert batched.media_s == alone.media_s and seconds > 0
