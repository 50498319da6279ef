"""Model names vs encoder names: which manifest models a name stands for, and what is missing.

An encoder (registry key, e.g. ``efficientnet-lite0``) needs zero or more models
(manifest entries, e.g. ``tf-efficientnet-lite0``); ``whisper-tiny.en`` needs two
(``whisper-tiny-en`` and ``all-minilm-l6-v2``). ``models pull`` and ``models import``
accept either kind of name; this module turns one into the other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from mediasearch.errors import MediaSearchError, UnknownModelError

if TYPE_CHECKING:  # pragma: no cover
    from mediasearch.modelstore.store import ModelStore

logger = logging.getLogger(__name__)


class NoWeightsNeededError(MediaSearchError):
    """An encoder name was given to a weights command, but that encoder needs no weights."""

    def __init__(self, encoder: str) -> None:
        self.encoder = encoder
        super().__init__(f"encoder {encoder!r} needs no model weights (it works as installed); nothing to do")


class UnknownModelOrEncoderError(UnknownModelError):
    """A name is neither a model in the manifest nor a registered encoder (both lists are given)."""

    def __init__(self, name: str, models: Iterable[str], encoders: Iterable[str]) -> None:
        super().__init__(name, sorted(models))
        self.encoders = sorted(encoders)
        self.args = (
            f"unknown model or encoder {name!r}; valid models: {', '.join(self.valid)}; "
            f"valid encoders: {', '.join(self.encoders)}",
        )


@dataclass(frozen=True)
class Resolved:
    """What one name given on the command line stands for.

    ``encoder``: the encoder name when ``name`` is one ("" for a model name);
    ``models``: the manifest models to act on, in the encoder's order.
    """

    name: str
    encoder: str
    models: tuple[str, ...]


def resolve(store: "ModelStore", name: str) -> Resolved:
    """A model name stands for itself; an encoder name for the models it needs.

    Raises UnknownModelOrEncoderError (listing both kinds of names) or
    NoWeightsNeededError (a weight-free encoder such as ``baseline-image``).
    """
    from mediasearch.encoders.registry import REGISTRY  # deferred: the registry imports numpy

    if name in store.manifest:
        return Resolved(name, "", (name,))
    spec = REGISTRY.get(name)
    if spec is None:
        raise UnknownModelOrEncoderError(name, store.manifest, REGISTRY)
    if not spec.models:
        raise NoWeightsNeededError(name)
    return Resolved(name, name, tuple(spec.models))


def resolve_all(store: "ModelStore", names: Iterable[str]) -> list[str]:
    """The models ``names`` stand for, each once, in order; every name is checked before any is used."""
    models: list[str] = []
    for name in names:
        for model in resolve(store, name).models:
            if model not in models:
                models.append(model)
    return models


def missing_models(store: "ModelStore", encoder: str) -> list[str]:
    """The models ``encoder`` needs that are not present in ``store`` (cheap: sizes and records)."""
    from mediasearch.encoders.registry import get_spec

    return [m for m in get_spec(encoder).models if not store.is_present(m)]


def install_command(encoder: str) -> str:
    """The command that installs every model ``encoder`` needs (with internet)."""
    return f"mediasearch models pull {encoder}"


def import_command(encoder: str) -> str:
    """The offline equivalent of :func:`install_command`."""
    from mediasearch.encoders.registry import get_spec

    what = "FILE_OR_FOLDER" if len(get_spec(encoder).models) == 1 else "MODEL_STORE_FOLDER"
    return f"mediasearch models import {encoder} {what}"


def layout(store: "ModelStore", models: Iterable[str]) -> list[str]:
    """Where each of ``models`` sits in a folder laid out like the model store.

    A one-file model gives "<dir>/<file>"; a folder model "<dir>/ (N files)".
    """
    out = []
    for name in models:
        entry = store.entry(name)
        if len(entry.files) == 1:
            out.append(f"{entry.dir}/{entry.files[0].path} ({name})")
        else:
            out.append(f"{entry.dir}/ ({name}, {len(entry.files)} files)")
    return out
