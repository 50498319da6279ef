"""One `mediasearch index` run over 50 kinds of bad and odd files: no crash, no hang, a reason for each skip, odd-but-valid files found."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import bad_corpus

ENCODERS = "baseline-image,baseline-audio"
INDEX_TIMEOUT_S = 300  # the whole corpus indexes in a few seconds; a hang fails the test
SEARCH_TIMEOUT_S = 60


def _run(library: Path, *argv: str | bytes, timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "MEDIASEARCH_MODEL_DIR": str(library.parent / "models")}
    cmd = [os.fsencode(sys.executable), b"-m", b"mediasearch", b"--library", os.fsencode(library),
           *(os.fsencode(a) for a in argv)]
    return subprocess.run(cmd, capture_output=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """(corpus entries, library, index run, status JSON) after one index run over the corpus."""
    root = tmp_path_factory.mktemp("bad-corpus")
    corpus = bad_corpus.make_bad_corpus(root / "corpus")
    library = root / "library"
    run = _run(library, "index", "-q", "--json", "--encoders", ENCODERS, str(root / "corpus"), timeout=INDEX_TIMEOUT_S)
    status_run = _run(library, "status", "--json", timeout=SEARCH_TIMEOUT_S)
    status = json.loads(status_run.stdout) if status_run.stdout.strip() else {}
    return corpus, library, run, status


def _reasons(status: dict) -> dict[str, list[str]]:
    """path -> every reason ``status --json`` gives for it (skips, scan problems, encoder failures, not media...)."""
    out: dict[str, list[str]] = {}
    for key, items in status.items():
        if not isinstance(items, list):
            continue
        for item in items:
            if isinstance(item, dict) and "path" in item:
                out.setdefault(item["path"], []).append(str(item.get("reason") or ""))
    return out


def test_the_corpus_has_at_least_30_kinds(indexed) -> None:
    corpus = indexed[0]
    assert len(corpus) >= 30
    assert {e.expect for e in corpus.values()} == {"indexed", "skipped", "handled", "not-media", "problem", "ignored"}


def test_one_run_without_a_crash(indexed) -> None:
    _, _, run, status = indexed
    err = run.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err and "internal error" not in err, err[-2000:]
    assert run.returncode == 0, err[-2000:]
    report = json.loads(run.stdout)
    assert report["scanned"] > 0 and status, "status --json gave nothing"


def _entries(expect: str) -> list[str]:
    """Corpus kinds with this expectation (the corpus is built per test run; its kinds are fixed)."""
    kinds = {
        "indexed": ["cmyk-jpeg", "16-bit-png", "palette-alpha-png", "animated-gif", "1x1-image", "exif-rotated-jpeg",
                    "grayscale-jpeg", "webp", "tiff", "bmp", "png-named-jpg", "jpeg-named-png", "rgba-png",
                    "non-utf8-name", "spaces-and-quotes", "newline-in-name", "emoji-name", "very-long-name",
                    "leading-dash", "folder-named-like-a-file", "video-container-without-video",
                    "broken-picture-good-sound", "good-picture-broken-sound", "plain-video", "8-khz-mono",
                    "96-khz-6-channels", "wav-named-mp3"],
        "skipped": ["zero-byte", "garbage-jpg", "decompression-bomb", "garbage-mp4", "text-named-mp4",
                    "audio-with-0-samples", "garbage-mp3"],
        "handled": ["truncated-jpeg", "truncated-png", "truncated-mp4", "truncated-faststart-mp4", "truncated-mp3",
                    "truncated-flac", "truncated-wav", "truncated-ogg"],
        "not-media": ["readme", "license", "json"],
        "problem": ["broken-symlink", "symlink-loop", "fifo", "socket"],
    }
    return kinds[expect]


def test_the_expectation_lists_match_the_corpus(indexed) -> None:
    corpus = indexed[0]
    for expect in ("indexed", "skipped", "handled", "not-media", "problem"):
        assert sorted(_entries(expect)) == sorted(k for k, e in corpus.items() if e.expect == expect), expect


_NOT_YET: dict[str, str] = {}


@pytest.mark.parametrize("kind", [
    pytest.param(k, marks=pytest.mark.xfail(strict=False, reason=_NOT_YET[k])) if k in _NOT_YET else k
    for k in _entries("indexed")
])
def test_odd_but_valid_files_are_found_by_themselves(indexed, kind: str) -> None:
    corpus, library, run, status = indexed
    entry = corpus[kind]
    assert entry.path not in {s["path"] for s in status.get("skipped", [])}, _reasons(status).get(entry.path)
    done = _run(library, "search", f"--{entry.query}", entry.path, "-k", "3", "--json", timeout=SEARCH_TIMEOUT_S)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")[-1000:]
    hits = json.loads(done.stdout)
    assert hits and hits[0]["path"] == entry.path, [h["path"] for h in hits]
    assert os.fsencode(hits[0]["path"]) == os.fsencode(entry.path)  # the name's bytes survive the round trip


@pytest.mark.parametrize("kind", _entries("skipped"))
def test_unusable_files_are_skipped_with_a_reason(indexed, kind: str) -> None:
    corpus, _, _, status = indexed
    reasons = [r for r in _reasons(status).get(corpus[kind].path, []) if r]
    assert reasons, f"{kind}: no reason in status --json"


@pytest.mark.parametrize("kind", _entries("handled"))
def test_damaged_files_are_partial_or_skipped_with_a_reason(indexed, kind: str) -> None:
    corpus, library, _, status = indexed
    entry = corpus[kind]
    reasons = [r for r in _reasons(status).get(entry.path, []) if r]
    assert reasons, f"{kind}: neither skipped nor marked partial with a reason in status --json"


@pytest.mark.parametrize("kind", _entries("problem"))
def test_special_files_are_scan_problems_with_a_reason(indexed, kind: str) -> None:
    corpus, _, _, status = indexed
    problems = {p["path"]: p["reason"] for p in status.get("scan_problems", [])}
    assert problems.get(corpus[kind].path), f"{kind}: not in status scan_problems"


@pytest.mark.parametrize("kind", _entries("not-media"))
def test_files_that_are_not_media_are_not_failures(indexed, kind: str) -> None:
    corpus, _, _, status = indexed
    path = corpus[kind].path
    assert _reasons(status).get(path), f"{kind}: not mentioned in status --json"
    skipped = {s["path"] for s in status.get("skipped", [])}
    assert path not in skipped and path in {s["path"] for s in status["not_media"]}


def test_the_hidden_file_is_left_alone(indexed) -> None:
    corpus, _, _, status = indexed
    assert corpus["hidden-file"].path not in _reasons(status)


def test_a_second_run_changes_nothing_and_exits_0(indexed) -> None:
    corpus, library, _, _ = indexed
    root = Path(corpus["readme"].path).parent
    again = _run(library, "index", "-q", "--json", "--encoders", ENCODERS, str(root), timeout=INDEX_TIMEOUT_S)
    err = again.stderr.decode("utf-8", "replace")
    assert again.returncode == 0 and "Traceback" not in err, err[-2000:]
    report = json.loads(again.stdout)
    assert report["new"] == 0 and report["changed"] == 0


_PARTIAL = {"truncated-faststart-mp4": "image", "truncated-mp3": "audio", "truncated-flac": "audio",
            "truncated-wav": "audio"}


@pytest.mark.parametrize("kind", sorted(_PARTIAL))
def test_truncated_files_keep_what_decoded(indexed, kind: str) -> None:
    corpus, library, _, status = indexed
    entry = corpus[kind]
    assert entry.path not in {s["path"] for s in status.get("skipped", [])}, _reasons(status).get(entry.path)
    assert any("partial" in r or "truncated" in r for r in _reasons(status).get(entry.path, []))
    done = _run(library, "search", f"--{_PARTIAL[kind]}", entry.path, "-k", "3", "--json", timeout=SEARCH_TIMEOUT_S)
    hits = json.loads(done.stdout) if done.returncode == 0 else []
    assert hits and hits[0]["path"] == entry.path
