"""The model store: the weights manifest and the folder where weights are installed.

Public API (stable; other modules rely on it):
- ``load_manifest() -> dict[str, ModelEntry]``
- ``ModelStore(root)`` with ``.path(name)``, ``.is_present(name)``,
  ``.require(name, *, encoder=None, allow_download=False) -> Path``.
"""

from mediasearch.modelstore.manifest import ModelEntry, ModelFile, load_manifest
from mediasearch.modelstore.store import ModelStore

__all__ = ["ModelEntry", "ModelFile", "ModelStore", "load_manifest"]
