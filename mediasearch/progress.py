"""Progress reports and cancellation for long work (indexing, pulls, evaluation).

The core never draws a bar: it calls a ``ProgressCallback`` that the CLI turns into a
tqdm bar and the GUI into signals. Cancellation is cooperative: long loops call
``cancel.raise_if_cancelled()`` between items.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

from mediasearch.errors import CancelledError


@dataclass(frozen=True)
class Progress:
    """``done`` of ``total`` units (files, bytes, queries) of ``stage``; ``total`` None when unknown."""

    stage: str
    done: int
    total: int | None = None
    current: str = ""
    unit: str = "file"
    elapsed_s: float = 0.0

    @property
    def rate(self) -> float | None:
        """Units per second so far."""
        return self.done / self.elapsed_s if self.elapsed_s > 0 and self.done else None

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the current rate."""
        rate = self.rate
        if rate is None or self.total is None:
            return None
        return max(self.total - self.done, 0) / rate


ProgressCallback = Callable[[Progress], None]


class CancelToken:
    """Thread-safe flag a GUI button or Ctrl-C handler sets and workers poll."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self, what: str = "operation") -> None:
        if self._event.is_set():
            raise CancelledError(what)


def no_progress(_: Progress) -> None:
    """A ProgressCallback that ignores reports."""
