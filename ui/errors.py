"""The one error dialog of the desktop app.

Every failure the user sees goes through :func:`show_error`: the headline is the core's
own one-line message (``str(exc)`` of a MediaSearchError), the informative text says what
to do when the error carries that (ModelUnavailableError's ``how_to_get_it``), and
unexpected exceptions keep their traceback under "Show Details...". The dialog is opened
window-modal and non-blocking, so worker signals keep flowing and tests can read it.
"""

from __future__ import annotations

import logging
import sqlite3
import traceback
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from mediasearch.catalog.salvage import keep_damaged_copy
from mediasearch.errors import CancelledError, CatalogError, MediaSearchError, ModelUnavailableError

log = logging.getLogger(__name__)

#: the dialogs shown so far, newest last (tests read them; closed ones are dropped)
shown: list[QMessageBox] = []


def _damaged_catalog(exc: BaseException) -> bool:
    text = f"{exc} {getattr(exc, 'cause', '') or ''}".lower()
    return isinstance(exc, (sqlite3.DatabaseError, CatalogError)) and ("malformed" in text or "not a database" in text)


def describe(exc: BaseException | str, *, catalog_path: Path | None = None) -> tuple[str, str, str]:
    """(headline, what to do, details) for an error or a plain message. A damaged catalog
    is copied aside first (``catalog_path``), as the CLI does, and the hint offers repair."""
    if isinstance(exc, str):
        return exc, "", ""
    if _damaged_catalog(exc):
        copy = None
        if catalog_path is not None:
            try:
                copy = keep_damaged_copy(catalog_path)
            except OSError as err:
                log.warning("could not keep a copy of the damaged catalog: %s", err)
        headline = QCoreApplication.translate("errors", "The library's catalog is damaged ({error}).").format(error=exc)
        hint = QCoreApplication.translate(
            "errors", "Close the app and run `mediasearch repair`: it rebuilds what it can from your files and the stored vectors, and keeps your judgements."
        )
        if copy is not None:
            hint += " " + QCoreApplication.translate("errors", "A copy of the damaged catalog was kept at {path}.").format(path=copy)
        return headline, hint, ""
    if isinstance(exc, ModelUnavailableError):
        hint = exc.how_to_get_it
        return str(exc), QCoreApplication.translate("errors", "Open the Models page to pull or import it, or {hint}.").format(hint=hint), ""
    if isinstance(exc, MediaSearchError):
        return str(exc), "", ""
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    headline = QCoreApplication.translate("errors", "Unexpected error: {error}").format(error=f"{type(exc).__name__}: {exc}")
    return headline, QCoreApplication.translate("errors", "This is a bug; the details help to report it."), details


def show_error(
    parent: QWidget | None, exc: BaseException | str, *, title: str = "mediasearch", catalog_path: Path | None = None
) -> QMessageBox | None:
    """Show ``exc`` in the app's error dialog (nothing for a cancellation); returns the dialog."""
    if isinstance(exc, CancelledError):
        return None
    headline, hint, details = describe(exc, catalog_path=catalog_path)
    if details:
        log.error("%s\n%s", headline, details)
    else:
        log.info("error shown: %s", headline)
    box = QMessageBox(parent)
    box.setObjectName("errorDialog")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(headline)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if hint:
        box.setInformativeText(hint)
    if details:
        box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setWindowModality(Qt.WindowModality.WindowModal if parent is not None else Qt.WindowModality.ApplicationModal)
    shown.append(box)
    box.destroyed.connect(lambda *_: shown.remove(box) if box in shown else None)
    box.open()
    return box
