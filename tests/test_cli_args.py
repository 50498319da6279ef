"""Every numeric CLI option refuses -1, 0 (where meaningless) and huge values in one line, before any work."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mediasearch import cli, cli_args

HUGE = "1e12"


def _subparsers(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """(command words, parser) for every leaf command of the CLI."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix, parser
        return
    for name, child in subs[0].choices.items():
        yield from _subparsers(child, prefix + (name,))


def _minimal_argv(words: tuple[str, ...], parser: argparse.ArgumentParser) -> list[str]:
    """The shortest command line the parser accepts: a dummy for each positional and required group."""
    argv = list(words)
    for group in parser._mutually_exclusive_groups:
        if group.required:
            argv += [group._group_actions[0].option_strings[0], "x"]
    for action in parser._actions:
        if action.option_strings or isinstance(action, argparse._SubParsersAction):
            continue
        if action.nargs in ("?", "*"):
            continue
        argv.append("x")
    return argv


def _numeric_options():
    """(command words, option string, validator) for every option whose value is a number."""
    found = []
    for words, parser in _subparsers(cli.build_parser()):
        for action in parser._actions:
            if not action.option_strings:
                continue
            if action.type in (int, float):
                found.append((words, action.option_strings[-1], action.type))
            elif hasattr(action.type, "bounds"):
                found.append((words, action.option_strings[-1], action.type))
    return found


NUMERIC = _numeric_options()
IDS = [f"{' '.join(w)} {opt}" for w, opt, _ in NUMERIC]


def test_the_walk_finds_the_options_the_issue_names() -> None:
    names = {(w[0], opt) for w, opt, _ in NUMERIC}
    for expected in [("index", "--frame-interval"), ("index", "--batch-size"), ("index", "--threads"),
                     ("search", "-k"), ("search", "--start"), ("search", "--end"), ("pool", "--depth"),
                     ("eval", "--k"), ("eval", "--depth"), ("eval", "--repeats"), ("judge", "--at")]:
        assert expected in names, expected


@pytest.mark.parametrize(("words", "option", "parse"), NUMERIC, ids=IDS)
def test_every_numeric_option_is_validated(words, option, parse) -> None:
    assert parse not in (int, float), f"{' '.join(words)} {option} takes any {parse.__name__}: use mediasearch.cli_args"


def _parse(words, option, value, capsys):
    parser = cli.build_parser()
    argv = _minimal_argv(words, dict(_subparsers(parser))[words]) + [option, value]
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        err = capsys.readouterr().err
        return exc.code, err, None
    return 0, "", args


def _num(value: float) -> str:
    """A bound as the messages write it: an int option's in full (2147483647, not 2.14748e+09)."""
    return str(value) if isinstance(value, int) else f"{value:g}"


@pytest.mark.parametrize(("words", "option", "parse"), NUMERIC, ids=IDS)
@pytest.mark.parametrize("value", ["-1", "0", HUGE, "nan", "inf", "abc"])
def test_bad_values_are_refused_with_the_range(words, option, parse, value, capsys) -> None:
    low, high, low_open = parse.bounds
    meaningful_zero = value == "0" and (low < 0 or (low == 0 and not low_open))
    code, err, args = _parse(words, option, value, capsys)
    if meaningful_zero:
        assert code == 0 and getattr(args, option.lstrip("-").replace("-", "_")) in (0, (0,))
        return
    assert code == 2, f"{option} {value} accepted"
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert option in lines[0] and _num(high) in lines[0] and "Traceback" not in err


@pytest.mark.parametrize(("words", "option", "parse"), NUMERIC, ids=IDS)
def test_the_lowest_and_highest_valid_values_are_accepted(words, option, parse, capsys) -> None:
    low, high, low_open = parse.bounds
    values = [_num(high)] + ([] if low_open else [_num(low)])
    for value in values:
        code, err, _ = _parse(words, option, value, capsys)
        assert code == 0, err


@pytest.mark.parametrize("command", [["index", "--encoders", "", "x"], ["index", "--encoders", " , ", "x"],
                                     ["eval", "--encoders", ""], ["pool", "q", "--encoders", ","]])
def test_empty_encoder_lists_are_refused_not_replaced(command, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.build_parser().parse_args(command)
    assert info.value.code == 2
    assert "at least one encoder" in capsys.readouterr().err


def test_end_before_start_is_refused(capsys) -> None:
    code = None
    try:
        cli.main(["search", "--image", "x", "--start", "5", "--end", "2"])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--end" in err[0]


def test_k_list_is_sorted_and_deduplicated() -> None:
    assert cli_args.int_list(1, 100)("10,1,5,5") == (1, 5, 10)


def _run(*argv: str, env_extra: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "mediasearch", *argv], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.parametrize("argv", [["index", "--batch-size", "-1", "x"], ["index", "--threads", "0", "x"],
                                  ["index", "--frame-interval", "-1", "x"], ["search", "--text", "a", "-k", "-5"]])
def test_the_real_command_refuses_in_one_line(argv, tmp_path: Path) -> None:
    done = _run("--library", str(tmp_path / "lib"), *argv)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "lib").exists()  # refused before the library was touched


def test_library_pointing_at_a_file(tmp_path: Path) -> None:
    afile = tmp_path / "notes.txt"
    afile.write_text("hello")
    for argv in (["status"], ["index", str(tmp_path)]):
        done = _run("--library", str(afile), *argv)
        assert done.returncode != 0
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "is a file" in lines[0] and "Traceback" not in done.stderr
    done = _run("--library", str(afile / "sub"), "status")
    assert done.returncode != 0 and "is a file" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert afile.read_text() == "hello"


def test_library_from_the_environment_pointing_at_a_file(tmp_path: Path) -> None:
    afile = tmp_path / "home"
    afile.write_text("")
    done = _run("status", env_extra={"MEDIASEARCH_HOME": str(afile)})
    assert done.returncode != 0 and "is a file" in done.stderr and "Traceback" not in done.stderr


def test_index_of_a_missing_path_is_an_error(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    done = _run("--library", str(tmp_path / "lib"), "index", "-q", str(media), str(tmp_path / "no" / "such"))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no such file or folder" in lines[0] and str(tmp_path / "no" / "such") in lines[0]
    assert not (tmp_path / "lib").exists()  # nothing was started
    os.symlink(tmp_path / "gone", tmp_path / "dangling")
    done = _run("--library", str(tmp_path / "lib"), "index", "-q", str(tmp_path / "dangling"))
    assert done.returncode == 1 and "no such file or folder" in done.stderr


@pytest.mark.parametrize("option", ["--library", "--model-dir"])
def test_empty_folder_options_are_refused(option: str, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.build_parser().parse_args([option, "", "status"])
    assert info.value.code == 2 and option in capsys.readouterr().err


def test_index_of_an_empty_path_names_it(tmp_path: Path) -> None:
    done = _run("--library", str(tmp_path / "lib"), "index", "-q", "")
    assert done.returncode == 1 and "no such file or folder: ''" in done.stderr
