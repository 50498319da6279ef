"""The Search page: the query bar over the results, searching in a worker, and saving
judgements as the user grades.

The first grade given for a query saves it as an evaluation query (through the
catalog writer, off the UI thread); every grade is written at once, keyed by the
file's content hash. A search of a query that was saved before shows the grades
already given.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QSplitter, QVBoxLayout, QWidget

from mediasearch.errors import MediaSearchError, QueryError
from ui import player
from ui.actions import JudgeRequest, SearchOutcome
from ui.context import AppContext
from ui.models import ResultsModel, grade_label
from ui.panels.details_pane import DetailsPane
from ui.panels.query_panel import QueryPanel
from ui.panels.results_view import ResultsView
from ui.text import describe_spec
from ui.workers import JudgeOutcome, SearchWorker

log = logging.getLogger(__name__)


class SearchPage(QWidget):
    """Query panel + results; owns the search worker and the judging flow."""

    search_started = Signal()
    search_finished = Signal(object)  # SearchOutcome
    search_failed = Signal(object)
    judged = Signal(object)  # JudgeOutcome

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.worker: SearchWorker | None = None
        self.outcome: SearchOutcome | None = None
        self.saved_query = None
        self._pending_grades: dict[int, tuple[int, int | None]] = {}  # token -> (row, previous grade)
        self.audio = player.AudioPlayer(self)
        self.audio.message.connect(lambda text: ctx.say(text, 6000))
        self.audio.state_changed.connect(self._playing_changed)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.query = QueryPanel(ctx)
        layout.addWidget(self.query)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)
        self.model = ResultsModel(ctx.thumbnails, self)
        self.results = ResultsView(self.model)
        self.details = DetailsPane(ctx.thumbnails)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.results)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setCollapsible(0, False)
        self.splitter.setSizes([1000, 280])
        layout.addWidget(self.splitter, 1)

        self.query.search_requested.connect(self.run_search)
        self.query.example_changed.connect(self._example_changed)
        self.results.judge_requested.connect(self.judge)
        self.results.open_requested.connect(self.open_result)
        self.results.play_requested.connect(self.play_result)
        self.results.list.selectionModel().currentChanged.connect(self._current_changed)
        self.model.dataChanged.connect(self._data_changed)
        self.model.modelReset.connect(lambda: self.details.show_item(None))
        self.details.open_at.connect(self._open_at)
        self.details.play.connect(lambda: self.play_result(self.results.list.current_row()))
        self.details.search_with.connect(self._search_with)
        ctx.judge.judged.connect(self._judged)
        ctx.judge.failed.connect(self._judge_failed)
        ctx.library_opened.connect(self._library_switched)

    # -- searching ---------------------------------------------------------------------
    def run_search(self, spec, encoder: str | None, k: int, pool: bool) -> SearchWorker:  # noqa: ANN001
        """Search in a worker; results replace the current ones when it finishes."""
        self.worker = SearchWorker(self.ctx.settings, spec, encoder=encoder, k=k, pool=pool)
        self.worker.finished.connect(self._search_done)
        self.worker.failed.connect(self._search_failed)
        self.results.summary.setText(self.tr("Searching for {query}…").format(query=describe_spec(spec)))
        self.query.search_button.setEnabled(False)
        self.ctx.start(self.worker)
        self.search_started.emit()
        return self.worker

    def _search_done(self, outcome: SearchOutcome) -> None:
        if self.worker is None or self.worker.result is not outcome:  # a newer search is under way
            return
        self.worker = None
        self.query.search_button.setEnabled(True)
        self.outcome = outcome
        self.saved_query = outcome.saved_query
        self.model.set_items(outcome.items)
        self._update_summary()
        if outcome.answered_by == "service":
            self.ctx.say(self.tr("Answered by the running search service (mediasearch serve)"), 8000)
        elif not outcome.pooled:
            self.ctx.say(self.tr("Searched in this window: no search service is running for this library"), 8000)
        if outcome.items:
            self.results.select_row(0)
            self.results.list.setFocus()
        self.search_finished.emit(outcome)

    def _search_failed(self, exc: BaseException) -> None:
        if self.worker is None or self.worker.error is not exc:
            return
        self.worker = None
        self.query.search_button.setEnabled(True)
        self.results.summary.setText(self.tr("The search failed."))
        self.search_failed.emit(exc)
        self.ctx.error(exc)

    def _update_summary(self) -> None:
        outcome = self.outcome
        if outcome is None:
            return
        n = len(outcome.items)
        what = describe_spec(outcome.spec)
        encoders = ", ".join(outcome.encoders)
        how = self.tr("pool of {encoders}").format(encoders=encoders) if outcome.pooled else encoders
        count = self.tr("1 result") if n == 1 else self.tr("{n} results").format(n=n)
        parts = [self.tr("<b>{count}</b> for {query}").format(count=count, query=what), how, f"{outcome.elapsed_s * 1000:.0f} ms"]
        judged = self.model.judged_count()
        if self.saved_query is not None:
            parts.append(self.tr("saved as <i>{name}</i>: {judged} of {n} judged").format(name=self.saved_query.name, judged=judged, n=n))
        elif n:
            parts.append(self.tr("grade with 2 / 1 / 0"))
        if outcome.example_left_out:
            parts.append(self.tr("the example itself is left out"))
        notes = self._reach_notes(outcome)
        text = " · ".join(parts)
        if notes:
            text += "<br>" + "<br>".join(notes)
        self.results.summary.setText(text)
        self.results.summary.setToolTip(self._score_scales(outcome.encoders))

    def _reach_notes(self, outcome: SearchOutcome) -> list[str]:
        """Lines on what this search could not reach, and on encoders that have not embedded
        every file yet (the CLI prints the same on stderr)."""
        from mediasearch.reach import explain_reach

        library = self.ctx.library
        media = {
            "visual": self.tr("Pictures and video frames"),
            "speech": self.tr("Speech (transcripts)"),
            "audio": self.tr("Sounds"),
        }
        lines = []
        try:
            indexed = set(library.indexed_encoders())
            for note in explain_reach(library, outcome.spec.modality, outcome.encoders):
                if note.searched or not note.suggest:  # only what the user can act on
                    continue
                what = media.get(note.group, note.media)
                if note.suggest and note.suggest in indexed:
                    lines.append(self.tr("{media} were not searched: choose {encoder} to reach them").format(media=what, encoder=note.suggest))
                else:
                    lines.append(self.tr("{media} were not searched: install and index {encoder} (Models page) to reach them").format(media=what, encoder=note.suggest))
            for name in outcome.encoders:
                cov = library.coverage(name)
                if cov["missing"] > 0:
                    lines.append(self.tr("{encoder} has not embedded {missing} of {total} files yet: index again to find them").format(
                        encoder=name, missing=cov["missing"], total=cov["eligible"]))
        except MediaSearchError as exc:  # the notes are a help: never fail a shown search for them
            log.info("no reach notes: %s", exc)
        return [f"<span style='color:#9a5b00'>{line}</span>" for line in lines]

    def _score_scales(self, encoders: list[str]) -> str:
        """A tooltip saying how each encoder's scores read (they are not comparable)."""
        from mediasearch.reach import score_kind

        scales = {
            "cosine": self.tr("cosine similarity (-1 to 1, higher is closer)"),
            "rrf": self.tr("fused rank score (about 0.01 to 0.03): compare ranks, not scores"),
        }
        lines = [f"{name}: {scales.get(score_kind(name), score_kind(name))}" for name in encoders]
        return self.tr("Scores") + "\n" + "\n".join(lines) if lines else ""

    def _library_switched(self) -> None:
        self.clear_results(self.tr("Search by example or text to see results here."))

    def clear_results(self, message: str) -> None:
        """Forget the shown results (a new example, another library); a running search is dropped."""
        self.worker = None
        self.query.search_button.setEnabled(True)
        self.model.clear()
        self.outcome = None
        self.saved_query = None
        self.results.summary.setText(message)

    def _example_changed(self) -> None:
        if self.outcome is not None or self.worker is not None:
            self.clear_results(self.tr("A new example: press Search (Ctrl+Enter) to see its results."))

    # -- judging -------------------------------------------------------------------------
    def judge(self, row: int, grade: int | None) -> int | None:
        """Grade result ``row`` (None clears); saved at once. Returns the writer's token."""
        item = self.model.item(row)
        if item is None or self.outcome is None:
            return None
        if item.content_hash is None:
            self.ctx.error(QueryError(self.tr("{path} is not indexed any more; index again before judging it").format(path=item.hit.path)))
            return None
        previous = item.grade
        self.model.set_grade(row, grade)
        request = JudgeRequest(
            self.outcome.spec,
            item.content_hash,
            str(item.hit.path),
            grade,
            self.saved_query.id if self.saved_query is not None else None,
        )
        token = self.ctx.judge.submit(self.ctx.settings, request)
        self._pending_grades[token] = (row, previous)
        label = grade_label(grade, long=True)
        self.ctx.say(f"{Path(item.hit.path).name}: {label}", 3000)
        self._update_summary()
        return token

    def _judged(self, outcome: JudgeOutcome) -> None:
        self._pending_grades.pop(outcome.token, None)
        first = self.saved_query is None or self.saved_query.id != outcome.saved_query.id
        self.saved_query = outcome.saved_query
        if first:
            self.ctx.say(self.tr("Saved the query for evaluation as “{name}”").format(name=outcome.saved_query.name), 6000)
        self._update_summary()
        self.ctx.queries_changed.emit()
        self.judged.emit(outcome)

    def _judge_failed(self, exc: BaseException) -> None:
        for row, previous in self._pending_grades.values():
            item = self.model.item(row)
            if item is not None:
                self.model.set_grade(row, previous)
        self._pending_grades.clear()
        self.ctx.error(exc)

    # -- opening and playing ---------------------------------------------------------------
    def open_result(self, row: int) -> None:
        item = self.model.item(row)
        if item is None:
            return
        from ui.models import thumb_spec

        if thumb_spec(item).kind == "sound":
            self.play_result(row)
            return
        self.ctx.say(player.open_at(Path(item.hit.path), item.hit.start_s), 6000)

    def play_result(self, row: int) -> None:
        item = self.model.item(row)
        if item is None:
            return
        hit = item.hit
        self.audio.play(Path(hit.path), hit.start_s, hit.end_s)
        self.model.set_playing(self.audio.current if self.audio.is_playing() else None)

    def _playing_changed(self, playing: bool) -> None:
        self.model.set_playing(self.audio.current if playing else None)

    def _current_changed(self, current, _previous) -> None:  # noqa: ANN001
        self.details.show_item(self.model.item(current.row()) if current.isValid() else None)

    def _data_changed(self, top, bottom, roles=()) -> None:  # noqa: ANN001
        from ui.models import ResultRole

        row = self.results.list.current_row()
        if top.row() <= row <= bottom.row() and (not roles or ResultRole.GRADE in roles):
            self.details.show_item(self.model.item(row))

    def _open_at(self, path: Path, start_s: float | None) -> None:
        self.ctx.say(player.open_at(Path(path), start_s), 6000)

    def _search_with(self, path: Path, start_s: float | None) -> None:
        """Use a result as the next query (a video at the hit's time; a sound's stretch)."""
        from mediasearch.media import Modality
        from ui.actions import hit_is_sound

        item = self.model.item(self.results.list.current_row())
        end_s = item.hit.end_s if item is not None and hit_is_sound(item.hit) else None
        if not self.query.set_file(Path(path), start_s=start_s, end_s=end_s):
            return
        if item is not None and hit_is_sound(item.hit):
            index = self.query.use_box.findData(Modality.AUDIO.value)
            if index >= 0:
                self.query.use_box.setCurrentIndex(index)
        self.query.request_search()

    def focus_text(self) -> None:
        self.query.text.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.query.text.selectAll()
