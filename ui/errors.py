"""The one error dialog of the desktop app.

Every failure the user sees goes through :func:`show_error`: the headline is the core's
own one-line message (``str(exc)`` of a MediaSearchError), the informative text says what
to do when the error carries that (ModelUnavailableError's ``how_to_get_it``), and
unexpected exceptions keep their traceback under "Show Details...". The dialog is opened
window-modal and non-blocking, so worker signals keep flowing and tests can read it.
"""

from __future__ import annotations

import logging
import traceback

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from mediasearch.errors import CancelledError, MediaSearchError, ModelUnavailableError

log = logging.getLogger(__name__)

#: the dialogs shown so far, newest last (tests read them; closed ones are dropped)
shown: list[QMessageBox] = []


def describe(exc: BaseException | str) -> tuple[str, str, str]:
    """(headline, what to do, details) for an error or a plain message."""
    if isinstance(exc, str):
        return exc, "", ""
    if isinstance(exc, ModelUnavailableError):
        hint = exc.how_to_get_it
        return str(exc), QCoreApplication.translate("errors", "Open the Models page to pull or import it, or {hint}.").format(hint=hint), ""
    if isinstance(exc, MediaSearchError):
        return str(exc), "", ""
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    headline = QCoreApplication.translate("errors", "Unexpected error: {error}").format(error=f"{type(exc).__name__}: {exc}")
    return headline, QCoreApplication.translate("errors", "This is a bug; the details help to report it."), details


def show_error(parent: QWidget | None, exc: BaseException | str, *, title: str = "mediasearch") -> QMessageBox | None:
    """Show ``exc`` in the app's error dialog (nothing for a cancellation); returns the dialog."""
    if isinstance(exc, CancelledError):
        return None
    headline, hint, details = describe(exc)
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
