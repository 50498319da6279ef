"""Argument validation for the command line: every numeric option is checked where it is parsed.

Each factory returns an argparse ``type=`` callable that turns the string into a number
or raises ``argparse.ArgumentTypeError`` naming the valid range, so ``--batch-size 0``
or ``--frame-interval -1`` are refused by argparse itself, before any work starts, in
one line (see :class:`OneLineParser`). Values that are meaningless (zero, negative,
NaN, infinite) and values so large they can only be typing mistakes are refused; the
ranges are documented in each option's help.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Callable, NoReturn, Sequence

__all__ = [
    "OneLineParser",
    "int_range",
    "float_range",
    "int_list",
    "name_list",
    "path_arg",
    "check_time_span",
    "folder_problem",
    "missing_paths",
    "LIMITS",
]

#: (low, high) of each kind of option; inclusive unless the factory says otherwise
LIMITS: dict[str, tuple[float, float]] = {
    "frame_interval": (0.01, 3600.0),  # seconds between sampled video frames
    "batch_size": (1, 1024),  # images per inference batch
    "threads": (1, 512),  # CPU threads for inference
    "k": (1, 100_000),  # results per search
    "depth": (1, 100_000),  # results per encoder for pooling and evaluation
    "repeats": (1, 10_000),  # timed evaluation passes
    "seconds": (0.0, 1e7),  # a time inside a media file (about 115 days)
    "latency": (0.0, 3600.0),  # seconds an evaluation keeps timing searches
    "timeout": (0.1, 86_400.0),  # network timeout in seconds
}


def int_range(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {value}")
        return value

    parse.__name__ = f"integer from {low} to {high}"
    parse.bounds = (low, high, False)  # type: ignore[attr-defined]  # read by the CLI tests
    return parse


def float_range(low: float, high: float, *, low_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number in [low, high] (or (low, high] with ``low_open``)."""
    lower = f"more than {low:g}" if low_open else f"from {low:g}"

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number {lower} to {high:g}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number {lower} to {high:g}, got {text!r}")
        too_low = value <= low if low_open else value < low
        if too_low or value > high:
            raise argparse.ArgumentTypeError(f"must be {lower} to {high:g}, got {value:g}")
        return value

    parse.__name__ = f"number {lower} to {high:g}"
    parse.bounds = (low, high, low_open)  # type: ignore[attr-defined]
    return parse


def int_list(low: int, high: int) -> Callable[[str], tuple[int, ...]]:
    """An argparse type: comma-separated integers, each in [low, high]; sorted, without repeats."""
    one = int_range(low, high)

    def parse(text: str) -> tuple[int, ...]:
        parts = [p for p in text.split(",") if p.strip()]
        if not parts:
            raise argparse.ArgumentTypeError(f"give one or more whole numbers from {low} to {high}, separated by commas")
        try:
            return tuple(sorted({one(p) for p in parts}))
        except argparse.ArgumentTypeError as exc:
            raise argparse.ArgumentTypeError(f"each value {exc}") from None

    parse.__name__ = f"list of integers from {low} to {high}"
    parse.bounds = (low, high, False)  # type: ignore[attr-defined]
    return parse


def name_list(what: str = "name") -> Callable[[str], str]:
    """An argparse type: comma-separated names, at least one (``--encoders ''`` is refused, not ignored).

    Returns the cleaned text ("a,b") so the existing ``_encoder_list`` splitting still applies.
    """

    def parse(text: str) -> str:
        names = [v.strip() for v in text.split(",") if v.strip()]
        if not names:
            raise argparse.ArgumentTypeError(f"give at least one {what} (A or A,B); leave the option out for the default")
        return ",".join(names)

    parse.__name__ = f"{what} list"
    return parse


def path_arg(what: str) -> Callable[[str], str]:
    """An argparse type: a non-empty path (``--library ''`` would silently mean the default)."""

    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"give a {what}; leave the option out for the default")
        return text

    parse.__name__ = what
    return parse


def check_time_span(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--start before --end, where a command has both (a one-line usage error otherwise)."""
    start, end = getattr(args, "start", None), getattr(args, "end", None)
    if start is not None and end is not None and end <= start:
        parser.error(f"--end ({end:g} s) must be after --start ({start:g} s)")


def folder_problem(path: Path, what: str) -> str | None:
    """Why ``path`` cannot be used as a folder (it, or a parent, is a file), or None."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            if candidate.is_dir():
                return None
            if candidate == path:
                return f"the {what} folder {path} is a file, not a folder; give a folder with --{_flag(what)}"
            return f"the {what} folder {path} cannot be created: {candidate} is a file; give another folder with --{_flag(what)}"
    return None


def _flag(what: str) -> str:
    return "library" if what == "library" else "model-dir"


def missing_paths(paths: Sequence[str | Path]) -> list[str]:
    """The ``paths`` that do not exist (a broken symbolic link counts as missing)."""
    return [str(p) for p in paths if not os.path.exists(os.path.expanduser(str(p)))]


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line: what is wrong, and where help is.

    argparse prints the whole usage block before the message; for a command with a dozen
    options that buries the one line that matters. Subparsers inherit this class.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise SystemExit(status)
