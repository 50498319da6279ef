"""Compile the translations (``python -m ui.i18n``), or first refresh the ``.ts`` sources
from the code (``python -m ui.i18n --update``, which runs pyside6-lupdate; with ``--core``
it first rewrites core_strings.py from the encoder registry and the model manifest)."""

from __future__ import annotations

import argparse
import subprocess
import sys

from ui.i18n import HERE, LANGUAGES, compile_ts, sources, tool, ts_path

#: progress stages and units the core reports (indexing, model store, evaluation)
STAGES = ["scan", "check", "embed images", "embed audio", "transcribe", "download", "verify", "import", "evaluate", "time searches"]
UNITS = ["file", "files", "search", "pass", "query", "segment"]
STATES = ["present", "missing", "partial", "corrupt"]


def core_strings() -> dict[str, list[str]]:
    """The core's data strings the GUI shows, by list name."""
    import tempfile

    from mediasearch.encoders.registry import REGISTRY
    from mediasearch.modelstore import ModelStore

    with tempfile.TemporaryDirectory() as empty:
        store = ModelStore(empty)
        models = sorted({store.entry(s.name).description for s in store.statuses()} - {""})
    return {
        "ENCODER_DESCRIPTIONS": sorted({s.description for s in REGISTRY.values()} - {""}),
        "ENCODER_LICENCES": sorted({s.licence for s in REGISTRY.values()} - {""}),
        "ENCODER_BENCHMARKS": sorted({s.benchmark for s in REGISTRY.values()} - {""}),
        "MODEL_DESCRIPTIONS": models,
        "PROGRESS_STAGES": STAGES,
        "PROGRESS_UNITS": UNITS,
        "MODEL_STATES": STATES,
    }


def write_core_strings() -> None:
    path = HERE / "core_strings.py"
    text = path.read_text(encoding="utf-8")
    head = text[: text.index("ENCODER_DESCRIPTIONS = [")]
    tail = text[text.index("\n\ndef core_text"):]
    blocks = []
    for name, items in core_strings().items():
        lines = "".join(f"    QT_TRANSLATE_NOOP(\"core\", {s!r}),\n" for s in items)
        blocks.append(f"{name} = [\n{lines}]\n")
    path.write_text(head + "".join(blocks).rstrip("\n") + "\n" + tail, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ui.i18n", description=__doc__)
    p.add_argument("--update", action="store_true", help="refresh the .ts files from the code first (pyside6-lupdate)")
    p.add_argument("--core", action="store_true", help="rewrite core_strings.py from the registry and manifest (with --update)")
    args = p.parse_args(argv)
    if args.core:
        write_core_strings()
    langs = [lang for lang in LANGUAGES if lang != "en"]
    if args.update:
        lupdate = tool("pyside6-lupdate")
        if lupdate is None:
            print("pyside6-lupdate not found (install PySide6)", file=sys.stderr)
            return 1
        files = [str(s) for s in sources()]
        for lang in langs:
            subprocess.run([lupdate, "-silent", "-locations", "none", "-no-obsolete", *files, "-ts", str(ts_path(lang))], check=True)
    ok = True
    for lang in langs:
        qm = HERE / f"mediasearch_{lang}.qm"
        if compile_ts(ts_path(lang), qm):
            print(f"compiled {qm}")
        else:
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
