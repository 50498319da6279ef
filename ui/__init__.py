"""The mediasearch desktop app (PySide6): a thin shell over the ``mediasearch`` library.

Start it with ``mediasearch gui`` or ``mediasearch-gui`` (:func:`ui.app.main`). Nothing
under ``mediasearch/`` imports this package or Qt.
"""
