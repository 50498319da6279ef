"""The desktop app judges under a rater name: each rater's grades are kept apart, shown
back to that rater, remembered between runs; pool mode puts what encoders disagree on first."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from test_gui import TIMEOUT_MS, index, make_window, media, query_image, search, window  # noqa: F401  (fixtures)


def _grade_first(qtbot, page, key) -> None:  # noqa: ANN001
    results = page.results.list
    results.setFocus()
    with qtbot.waitSignal(page.judged, timeout=TIMEOUT_MS):
        qtbot.keyClick(results, key)


def test_two_raters_in_the_app(qtbot, make_window, media: Path, query_image: Path, settings) -> None:  # noqa: F811
    from mediasearch.catalog import Catalog
    from mediasearch.evaluation.groundtruth import judgements, list_queries

    window = make_window()
    index(qtbot, window, media, ["baseline-image"])
    assert window.act_rater.text(), "the Evaluate menu offers the rater name"
    page = window.search_page
    window.show_page("search")
    assert page.query.set_file(query_image)
    page.query.k.setValue(4)

    window.ctx.set_rater("ann")
    assert window.ctx.rater == "ann"
    search(qtbot, window)
    _grade_first(qtbot, page, Qt.Key.Key_2)
    first = search(qtbot, window).items[0]
    assert first.grade == 2

    # bob has not graded it: he sees the grade so far; his own grade then shows, and ann's stays
    window.ctx.set_rater("bob")
    assert search(qtbot, window).items[0].grade == 2
    _grade_first(qtbot, page, Qt.Key.Key_0)
    assert search(qtbot, window).items[0].grade == 0
    with Catalog(settings.catalog_path) as catalog:
        (saved,) = list_queries(catalog, settings)
        rows = sorted((j.rater, j.grade) for j in judgements(catalog, saved.id) if Path(j.path) == first.hit.path)
    assert rows == [("ann", 2), ("bob", 0)]
    window.ctx.set_rater("ann")
    assert search(qtbot, window).items[0].grade == 2, "each rater sees their own grade"

    # pool mode is in label-next order (the core's): every pooled item carries its ranks
    page.query.pool.setChecked(True)
    pooled = search(qtbot, window)
    graded = [i.grade is not None for i in pooled.items]
    assert graded == sorted(graded)
    window.close()

    # the name is remembered by the app's settings
    again = make_window()
    assert again.ctx.rater == "ann"
