"""Any failure reaches the user as one line with a non-zero exit (tracebacks only with -v); a damaged catalog is kept."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mediasearch import cli, cli_errors


def _run(argv: list, *, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "mediasearch", *argv], capture_output=True, timeout=timeout, env=env)


def _one_line(stderr: bytes) -> str:
    text = stderr.decode("utf-8", "replace")
    assert "Traceback" not in text, text
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def _filled_catalog(library: Path, n: int = 3000) -> Path:
    """A real catalog with ``n`` assets, so its tables span many pages."""
    from mediasearch.catalog import Catalog
    from mediasearch.media import AssetStatus, MediaKind

    library.mkdir(parents=True)
    path = library / "catalog.sqlite"
    cat = Catalog(path)
    with cat.transaction():
        for i in range(n):
            cat.upsert_asset(library / f"photo-{i:05d}-with-a-long-name.jpg", kind=MediaKind.IMAGE, size=i,
                             mtime_ns=i, content_hash=f"{i:064x}", status=AssetStatus.OK)
    cat.close()
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # everything is in the main file
    return path


def _overwrite_middle(path: Path) -> bytes:
    """Overwrite the middle half of the file with garbage; the damaged bytes are returned."""
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.seek(size // 4)
        fh.write(b"\xde\xad\xbe\xef" * (size // 8))
    return path.read_bytes()


def test_a_malformed_catalog_gives_one_line_a_kept_copy_and_a_non_zero_exit(tmp_path: Path) -> None:
    library = tmp_path / "lib"
    catalog = _filled_catalog(library)
    damaged = _overwrite_middle(catalog)
    done = _run(["--library", str(library), "status"])
    assert done.returncode == 1
    line = _one_line(done.stderr)
    assert "the catalog is damaged" in line and "mediasearch repair" in line and "a copy was kept at" in line
    kept = Path(line.split("a copy was kept at ", 1)[1].split(";", 1)[0])
    assert kept.parent == library / cli_errors.DAMAGED_DIR and kept.read_bytes() == damaged
    # a second failing command does not pile up copies of the same bytes
    done = _run(["--library", str(library), "status", "--json"])
    assert done.returncode == 1 and "the catalog is damaged" in _one_line(done.stderr)
    assert sorted(p.name for p in kept.parent.iterdir() if p.suffix == ".sqlite") == [kept.name]
    # with -v the traceback is shown too
    verbose = _run(["-v", "--library", str(library), "status"])
    assert verbose.returncode == 1 and b"Traceback" in verbose.stderr
    assert verbose.stderr.decode().strip().splitlines()[-1].startswith("mediasearch: the catalog is damaged")


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    library = tmp_path / "lib"
    library.mkdir()
    (library / "catalog.sqlite").write_bytes(os.urandom(8192))
    done = _run(["--library", str(library), "status"])
    assert done.returncode == 1 and "the catalog is damaged" in _one_line(done.stderr)
    assert list((library / cli_errors.DAMAGED_DIR).glob("catalog-*.sqlite"))


def _main_raising(monkeypatch, exc: BaseException, argv: list[str], tmp_path: Path, capsys) -> tuple[int, str]:
    def boom(args):  # noqa: ANN001
        raise exc

    monkeypatch.setattr(cli, "cmd_status", boom)
    code = cli.main(["--library", str(tmp_path / "lib"), *argv])
    return code, capsys.readouterr().err


def test_disk_full_names_the_place_and_the_free_space(monkeypatch, tmp_path: Path, capsys) -> None:
    target = tmp_path / "lib" / "vectors" / "x.faiss"
    code, err = _main_raising(monkeypatch, OSError(errno.ENOSPC, "No space left on device", str(target)),
                              ["status"], tmp_path, capsys)
    assert code == 1
    line = _one_line(err.encode())
    assert f"disk full at {target}" in line and "MB free" in line and "everything committed is kept" in line


def test_disk_full_inside_sqlite(monkeypatch, tmp_path: Path, capsys) -> None:
    exc = sqlite3.OperationalError("database or disk is full")
    code, err = _main_raising(monkeypatch, exc, ["status"], tmp_path, capsys)
    assert code == 1 and "disk full at" in _one_line(err.encode())


def test_disk_full_wrapped_in_a_library_error(monkeypatch, tmp_path: Path, capsys) -> None:
    from mediasearch.errors import MediaSearchError

    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "f"))
        except OSError as inner:
            raise MediaSearchError("checkpoint failed") from inner
    except MediaSearchError as outer:
        exc = outer
    code, err = _main_raising(monkeypatch, exc, ["status"], tmp_path, capsys)
    assert code == 1 and "disk full at" in _one_line(err.encode())


@pytest.mark.parametrize(("exc", "words"), [
    (sqlite3.OperationalError("database is locked"), "locked by another"),
    (PermissionError(errno.EACCES, "Permission denied", "/x/y"), "/x/y: Permission denied; check its permissions"),
    (KeyError("boom"), "internal error: KeyError"),
    (MemoryError(), "out of memory"),
])
def test_other_failures_are_one_line(monkeypatch, tmp_path: Path, capsys, exc, words) -> None:
    code, err = _main_raising(monkeypatch, exc, ["status"], tmp_path, capsys)
    assert code == 1 and words in _one_line(err.encode())


def test_interrupt_is_exit_130_in_one_line(monkeypatch, tmp_path: Path, capsys) -> None:
    code, err = _main_raising(monkeypatch, KeyboardInterrupt(), ["status"], tmp_path, capsys)
    assert code == 130 and "interrupted" in _one_line(err.encode())


def test_verbose_shows_the_traceback(monkeypatch, tmp_path: Path, capsys) -> None:
    def boom(args):  # noqa: ANN001
        raise ValueError("deep inside")

    monkeypatch.setattr(cli, "cmd_status", boom)
    assert cli.main(["-v", "--library", str(tmp_path / "lib"), "status"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "deep inside" in err


def test_names_that_are_not_utf8_are_printed_not_crashed_on(tmp_path: Path) -> None:
    missing = os.fsencode(tmp_path) + b"/caf\xe9-\xff.jpg"
    done = _run([b"--library", os.fsencode(tmp_path / "lib"), b"index", b"-q", missing])
    assert done.returncode == 1
    assert missing in done.stderr  # the name's own bytes, as `ls` would show them
    assert b"UnicodeEncodeError" not in done.stderr


def test_safe_streams_escape_what_the_encoding_cannot_hold() -> None:
    import io

    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii", errors="mediasearch-safe")
    stream.write("a\udcffb \U0001f600\n")
    stream.flush()
    assert raw.getvalue() == b"a\\udcffb \\U0001f600\n"
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="mediasearch-safe")
    stream.write("a\udcffb \U0001f600\n")
    stream.flush()
    assert raw.getvalue() == "a\udcffb \U0001f600\n".encode("utf-8", "surrogateescape")


def test_keep_damaged_copy_keeps_the_journal_too(tmp_path: Path) -> None:
    db = tmp_path / "catalog.sqlite"
    db.write_bytes(b"x" * 100)
    (tmp_path / "catalog.sqlite-wal").write_bytes(b"w" * 10)
    copy = cli_errors.keep_damaged_copy(db, now=0)
    assert copy is not None and copy.read_bytes() == b"x" * 100
    assert copy.with_name(copy.name + "-wal").read_bytes() == b"w" * 10
    assert cli_errors.keep_damaged_copy(db) == copy  # same bytes: no second copy
    db.write_bytes(b"y" * 100)
    assert cli_errors.keep_damaged_copy(db) != copy
    assert cli_errors.keep_damaged_copy(tmp_path / "none.sqlite") is None


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 4 MB tmpfs mounted under tmp_path (root only; skipped where mounting is not allowed)."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_stops_in_one_line_and_the_next_run_finishes(small_disk: Path, tmp_path: Path) -> None:
    import json

    import media_factory as mf

    media = tmp_path / "media"
    for i in range(150):
        mf.make_image(media / f"i{i:03d}.png", seed=i, size=(48, 48))
    free = cli_errors.free_bytes(small_disk)
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (free - 200_000))  # leave 200 kB: the run fills it
    library = small_disk / "lib"
    argv = ["--library", str(library), "index", "-q", "--encoders", "baseline-image", str(media)]
    full = _run(argv, timeout=300)
    assert full.returncode != 0
    line = _one_line(full.stderr)
    assert line.startswith("mediasearch: disk full at ") and "MB free" in line, line
    filler.unlink()
    again = _run(argv, timeout=300)
    listing = subprocess.run(["du", "-a", str(small_disk)], capture_output=True, text=True).stdout
    assert again.returncode == 0, again.stderr.decode()[-2000:] + listing
    status = json.loads(_run(["--library", str(library), "status", "--json"]).stdout)
    assert status["encoders"]["baseline-image"]["assets"] == 150  # nothing silently lost


def test_ctrl_c_during_indexing_exits_130_without_a_traceback(tmp_path: Path) -> None:
    import signal
    import time

    import media_factory as mf

    media = tmp_path / "media"
    for i in range(400):
        mf.make_image(media / f"p{i:03d}.jpg", seed=i, size=(96, 72))
    library = tmp_path / "lib"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1"}
    argv = [sys.executable, "-m", "mediasearch", "--library", str(library), "index", "-q",
            "--encoders", "baseline-image", str(media)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 60
    while not (library / "catalog.sqlite").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.5)
    if proc.poll() is not None:
        pytest.skip("indexing finished before it could be interrupted")
    proc.send_signal(signal.SIGINT)  # the first asks for a clean stop, the second aborts
    time.sleep(0.02)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    text = err.decode("utf-8", "replace")
    # 130, or killed by the signal itself when the second one lands while Python shuts down (a shell shows 130 too)
    assert proc.returncode in (130, -signal.SIGINT), text
    assert "Traceback" not in text, text
    assert text.strip().splitlines()[-1].startswith(("mediasearch: interrupted", "cancelled", "stopping")), text
    again = _run(argv[3:])
    assert again.returncode == 0, again.stderr.decode()[-2000:]
