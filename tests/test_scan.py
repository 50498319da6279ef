"""The scanner finds regular files, skips hidden ones, and survives link loops and unreadable folders."""

from __future__ import annotations

import os
from pathlib import Path

from mediasearch.scan import scan


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
    with_hidden = scan([tmp_path], include_hidden=True)
    assert sorted(Path(p).name for p in with_hidden.files) == [".z.jpg", "x.jpg", "y.jpg"]


def test_scan_a_single_file_and_a_missing_root(tmp_path: Path) -> None:
    f = tmp_path / "one.png"
    f.write_bytes(b"abc")
    result = scan([f, tmp_path / "nope"])
    assert list(result.files) == [str(f)]
    assert result.files[str(f)].size == 3
    assert result.errors and result.errors[0][0].endswith("nope")
