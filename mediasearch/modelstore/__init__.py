"""The model store: the weights manifest and the folder where weights are installed.

Public API (stable; other modules rely on it):
- ``load_manifest() -> dict[str, ModelEntry]``
- ``ModelStore(root)`` with ``.path(name)``, ``.is_present(name)``, ``.entry(name)``,
  ``.require(name, *, encoder=None, allow_download=False) -> Path``, ``.status(name)``,
  ``.pull(name, progress=, cancel=, mirror=)``, ``.import_(name, src, force=)``, ``.verify(names)``.
- ``loading.load_torch_state_dict(path)``: safe weight loading for encoders.
"""

from mediasearch.modelstore.manifest import ModelEntry, ModelFile, load_manifest
from mediasearch.modelstore.store import FileCheck, ModelStatus, ModelStore, Status, how_to_get, needed_by

__all__ = [
    "FileCheck",
    "ModelEntry",
    "ModelFile",
    "ModelStatus",
    "ModelStore",
    "Status",
    "how_to_get",
    "load_manifest",
    "needed_by",
]
