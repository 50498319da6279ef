"""What was installed, how it was checked: ``<model_dir>/.mediasearch/installed.json``.

One record per installed file: its sha256 and size at install time, how it was
accepted ("manifest", "alternative", "first-use" or "forced"), an optional note and
where it came from. Status uses the records cheaply (sizes, recorded hashes); ``verify``
re-hashes against them. A read-only model folder (such as a team's shared copy of the weights) simply has
no records; everything still works from the manifest.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from mediasearch.modelstore.errors import ModelStoreError

logger = logging.getLogger(__name__)

RECORDS_DIR = ".mediasearch"
RECORDS_FILE = "installed.json"
VERSION = 1


@dataclass(frozen=True)
class FileRecord:
    """How one installed file was accepted. ``accepted``: manifest | alternative | first-use | forced."""

    sha256: str
    size: int
    accepted: str
    source: str = ""
    note: str = ""
    installed_at: str = ""

    @property
    def forced(self) -> bool:
        return self.accepted == "forced"


class Records:
    """The installed.json of one model folder (read on every call: other processes may write it)."""

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / RECORDS_DIR / RECORDS_FILE

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"version": VERSION, "models": {}}
        except (OSError, ValueError) as exc:
            logger.warning("ignoring unreadable %s: %s", self.path, exc)
            return {"version": VERSION, "models": {}}
        data.setdefault("models", {})
        return data

    def model(self, name: str) -> dict[str, FileRecord]:
        """Records of ``name``'s files, by file path."""
        raw = self._read()["models"].get(name, {}).get("files", {})
        out: dict[str, FileRecord] = {}
        for path, rec in raw.items():
            try:
                out[path] = FileRecord(**rec)
            except TypeError:
                logger.warning("ignoring malformed record for %s/%s", name, path)
        return out

    def put(self, name: str, path: str, record: FileRecord) -> None:
        """Record one installed file (atomic replace of installed.json)."""
        if not record.installed_at:
            record = FileRecord(**{**asdict(record), "installed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        data = self._read()
        data["version"] = VERSION
        data["models"].setdefault(name, {}).setdefault("files", {})[path] = asdict(record)
        self._write(data)

    def forget(self, name: str, path: str) -> None:
        """Drop a file's record (before it is replaced)."""
        data = self._read()
        files = data["models"].get(name, {}).get("files", {})
        if path in files:
            del files[path]
            self._write(data)

    def _write(self, data: dict) -> None:
        tmp: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".installed-", suffix=".json", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=2, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            raise ModelStoreError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
