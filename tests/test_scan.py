"""The scanner returns every regular file (any name bytes) and every other thing it meets as a problem with a reason."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mediasearch.scan import ProblemKind, scan

REPO = Path(__file__).resolve().parents[1]


def _kinds(result) -> dict[str, str]:
    return {Path(p.path).name: p.kind.value for p in result.problems}


def test_scan_hidden_and_links(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.jpg").write_bytes(b"1")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "y.jpg").write_bytes(b"2")
    (tmp_path / "a" / ".z.jpg").write_bytes(b"3")
    os.symlink(tmp_path, tmp_path / "a" / "loop")  # a link back to the top
    os.symlink(tmp_path / "missing", tmp_path / "dangling")
    result = scan([tmp_path])
    assert sorted(Path(p).name for p in result.files) == ["x.jpg"]
    assert any("dangling" in p for p, _ in result.errors)
    kinds = _kinds(result)
    assert kinds == {"dangling": "broken-link", "loop": "link-loop"}
    with_hidden = scan([tmp_path], include_hidden=True)
    assert sorted(Path(p).name for p in with_hidden.files) == [".z.jpg", "x.jpg", "y.jpg"]


def test_scan_a_single_file_and_a_missing_root(tmp_path: Path) -> None:
    f = tmp_path / "one.png"
    f.write_bytes(b"abc")
    result = scan([f, tmp_path / "nope"])
    assert list(result.files) == [str(f)]
    assert result.files[str(f)].size == 3
    assert result.errors and result.errors[0][0].endswith("nope")
    assert result.problems[0].kind is ProblemKind.MISSING


def test_special_files_each_have_a_reason(tmp_path: Path) -> None:
    (tmp_path / "ok.jpg").write_bytes(b"x")
    os.mkfifo(tmp_path / "pipe.mp4")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(tmp_path / "sock.wav"))
    try:
        os.symlink("/dev/null", tmp_path / "null.jpg")  # a link to a character device
        os.symlink(tmp_path / "b.png", tmp_path / "a.png")  # a loop of two links
        os.symlink(tmp_path / "a.png", tmp_path / "b.png")
        os.symlink("self.jpg", tmp_path / "self.jpg")
        os.symlink(tmp_path / "gone.mp3", tmp_path / "broken.mp3")
        result = scan([tmp_path])
    finally:
        sock.close()
    assert list(result.files) == [str(tmp_path / "ok.jpg")]
    assert _kinds(result) == {
        "pipe.mp4": "fifo", "sock.wav": "socket", "null.jpg": "device", "a.png": "link-loop",
        "b.png": "link-loop", "self.jpg": "link-loop", "broken.mp3": "broken-link",
    }
    reasons = dict(result.errors)
    assert "named pipe" in reasons[str(tmp_path / "pipe.mp4")]
    assert "gone.mp3 does not exist" in reasons[str(tmp_path / "broken.mp3")]
    assert result.counts() == {"fifo": 1, "socket": 1, "device": 1, "link-loop": 3, "broken-link": 1}


def test_a_fifo_given_as_a_root_is_not_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "p")
    result = scan([tmp_path / "p"])  # opening a FIFO would block forever
    assert not result.files and result.problems[0].kind is ProblemKind.FIFO


def test_a_folder_linked_twice_is_walked_once_and_said(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "f.jpg").write_bytes(b"1")
    os.symlink(tmp_path / "real", tmp_path / "zlink")
    result = scan([tmp_path])
    assert list(result.files) == [str(tmp_path / "real" / "f.jpg")]
    assert _kinds(result) == {"zlink": "duplicate-folder"}


def test_names_that_are_not_utf8_are_scanned_losslessly(tmp_path: Path) -> None:
    raw = [b"caf\xe9.jpg", b"\xff\xfe.png", b"ok-\xc3\xa9.jpg", b"bad\x80tail.mp4"]
    base = os.fsencode(tmp_path)
    for i, name in enumerate(raw):
        with open(base + b"/" + name, "wb") as fh:
            fh.write(b"x" * (i + 1))
    os.mkdir(base + b"/dir-\xfe")
    with open(base + b"/dir-\xfe/inner-\xfd.gif", "wb") as fh:
        fh.write(b"gif")
    result = scan([tmp_path])
    got = sorted(os.fsencode(p) for p in result.files)
    assert got == sorted([base + b"/" + n for n in raw] + [base + b"/dir-\xfe/inner-\xfd.gif"])
    for path, entry in result.files.items():
        assert os.path.getsize(os.fsencode(path)) == entry.size
    assert not result.problems
    assert scan([base + b"/dir-\xfe"]).files  # a root given as bytes


def test_odd_but_valid_names(tmp_path: Path) -> None:
    names = ["with space.jpg", "quote'\"s.png", "new\nline.jpg", "emoji-\U0001f600.png", "x" * 250 + ".jpg", "-dash.jpg"]
    for n in names:
        (tmp_path / n).write_bytes(b"1")
    (tmp_path / "x.jpg").mkdir()  # a folder named like a file
    (tmp_path / "x.jpg" / "in.jpg").write_bytes(b"1")
    result = scan([tmp_path])
    assert sorted(Path(p).name for p in result.files) == sorted(names + ["in.jpg"])
    assert not result.problems


_PERMISSION_PROBE = """
import json, sys
sys.path.insert(0, sys.argv[2])
from mediasearch.scan import scan
r = scan([sys.argv[1]])
print(json.dumps({"files": sorted(r.files), "problems": [[p.path, p.kind.value, p.reason] for p in r.problems]}))
"""


def _as_unprivileged(root: Path) -> dict:
    """Scan ``root`` in a process that permission bits apply to (another user when we are root)."""
    if os.geteuid() != 0:
        argv = [sys.executable, "-c", _PERMISSION_PROBE, str(root), str(REPO)]
    else:
        setpriv = shutil.which("setpriv")
        # The venv's interpreter may live in root's home; the scanner needs only the standard library.
        python = next((p for p in ("/usr/bin/python3", sys.executable)
                       if os.access(p, os.X_OK) and os.stat(p).st_mode & 0o001), None)
        if setpriv is None or python is None:
            pytest.skip("running as root without setpriv or a world-executable python: permission bits do not apply")
        argv = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", python, "-c", _PERMISSION_PROBE,
                str(root), str(REPO)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd="/")
    if done.returncode != 0 and os.geteuid() == 0:
        pytest.skip(f"cannot run the scan as an unprivileged user: {done.stderr.strip()[-200:]}")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_unreadable_folders_and_files_are_reported() -> None:
    root = Path(tempfile.mkdtemp(prefix="ms-scan-perm-"))
    try:
        os.chmod(root, 0o755)
        (root / "ok.jpg").write_bytes(b"1")
        (root / "ok.jpg").chmod(0o644)
        (root / "locked").mkdir()
        (root / "locked" / "inside.jpg").write_bytes(b"1")
        (root / "locked").chmod(0o000)
        (root / "secret.png").write_bytes(b"1")
        (root / "secret.png").chmod(0o000)
        (root / "noexec").mkdir()
        (root / "noexec" / "f.jpg").write_bytes(b"1")
        (root / "noexec").chmod(0o644)  # names listable, entries not reachable
        found = _as_unprivileged(root)
    finally:
        for p in (root / "locked", root / "noexec"):
            p.chmod(0o755)
        shutil.rmtree(root)
    assert found["files"] == [str(root / "ok.jpg")]
    kinds = {Path(p).name: k for p, k, _ in found["problems"]}
    assert kinds == {"locked": "unreadable-folder", "secret.png": "unreadable-file", "f.jpg": "unreadable-folder"}
    assert all("permission denied" in r for _, _, r in found["problems"])
