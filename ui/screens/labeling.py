"""Meeting-room labeling: open a file or record the room, see who spoke when, play, rename, enrol, export."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.kiosk import EnrolFromMeetingError, EnrolRefused, KioskService, MeetingResult, Segment
from app.kiosk.media import MediaError, export
from ui.audio_source import AudioSource
from ui.capture import Capture
from ui.endpointer import EndpointConfig
from ui.messages import reason_text, recording_reason_text, speaker_label
from ui.player import Player
from ui.screens.consent import MeetingEnrolDialog
from ui.widgets.overview import Overview
from ui.widgets.timeline import LABEL_W, Timeline
from ui.workers import Cancelled, Task, Workers

log = logging.getLogger(__name__)
ROOM = EndpointConfig(target_speech_s=1e9, end_silence_s=1e9, give_up_silence_s=1e9, no_speech_s=1e9, max_s=3600)


class LabelingScreen(QWidget):
    """Labels meetings in a worker; ``labelled(MeetingResult)`` when done, ``failed(str)`` otherwise."""

    labelled = Signal(object)
    failed = Signal(str)
    speaker_enrolled = Signal(object)

    def __init__(self, service: KioskService, workers: Workers, source: AudioSource,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.workers = workers
        self.result: MeetingResult | None = None
        self.names: dict[str, str] = {}
        self.task: Task | None = None
        self.authorise: Callable[[], bool] = lambda: False  # the admin PIN: the main window gives its ask_pin
        self.enrol_dialog: MeetingEnrolDialog | None = None
        self.capture = Capture(source, self)
        self.player = Player(self)
        self.timeline = Timeline()
        self.overview = Overview(left_margin=LABEL_W)
        self._build()
        self.capture.finished.connect(self._recorded)
        self.capture.failed.connect(self._show_error)
        self.timeline.segment_clicked.connect(self._select)
        self.player.position.connect(self._cursor)
        self.player.stopped.connect(lambda: self._cursor(None))
        self._set_busy(False)

    def _button(self, text: str, slot: object) -> QPushButton:
        b = QPushButton(text)
        b.clicked.connect(slot)
        return b

    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(48, 28, 48, 20)
        title = QLabel(self.tr("Meeting room: who spoke when"))
        title.setObjectName("title")
        lay.addWidget(title)
        self.bar = QBoxLayout(QBoxLayout.Direction.LeftToRight)  # two rows on a narrow screen (see resizeEvent)
        bar = QHBoxLayout()
        self.open_btn = self._button(self.tr("Open audio file…"), self.choose_file)
        self.record_btn = self._button(self.tr("Record the room"), self.toggle_record)
        self.cancel_btn = self._button(self.tr("Cancel"), self.cancel)
        for b in (self.open_btn, self.record_btn, self.cancel_btn):
            bar.addWidget(b)
        bar.addStretch(1)
        self.bar.addLayout(bar, 1)
        exports = QHBoxLayout()
        self.export_btns = [self._button(self.tr("Export %1").replace("%1", fmt.upper()),
                                         lambda _=False, f=fmt: self.choose_export(f)) for fmt in ("rttm", "srt", "json")]
        for b in self.export_btns:
            exports.addWidget(b)
        self.bar.addLayout(exports)
        lay.addLayout(self.bar)
        self.progress = QProgressBar()
        self.status = QLabel(self.tr("Open a recording or record the room to see who spoke when."))
        self.status.setObjectName("hint")
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.timeline)
        self._fit_timeline()
        lay.addWidget(self.scroll)
        lay.addWidget(self.overview)
        sel = QHBoxLayout()
        self.selection = QLabel(self.tr("Click a segment to play it."))
        sel.addWidget(self.selection, 1)
        self.play_btn = self._button(self.tr("Play"), self.play_selected)
        self.rename_btn = self._button(self.tr("Rename speaker…"), self.rename_selected)
        self.enrol_btn = self._button(self.tr("Enrol this speaker…"), self.enrol_selected)
        for b in (self.play_btn, self.rename_btn, self.enrol_btn):
            sel.addWidget(b)
        lay.addLayout(sel)
        lay.addStretch(1)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        narrow = self.width() < 980
        self.bar.setDirection(QBoxLayout.Direction.TopToBottom if narrow else QBoxLayout.Direction.LeftToRight)

    def _fit_timeline(self) -> None:
        height = min(420, self.timeline.minimumHeight() + 4)
        self.scroll.setMinimumHeight(height)
        self.scroll.setMaximumHeight(height)

    def _cursor(self, seconds: float | None) -> None:
        self.timeline.set_cursor(seconds)
        self.overview.set_cursor(seconds)

    # -- labelling -----------------------------------------------------------------------------
    def choose_file(self) -> None:
        """Ask for a recording and label it."""
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Open a meeting recording"), "",
                                              self.tr("Audio (*.wav *.flac *.mp3 *.m4a *.ogg)"))
        if path:
            self.open_file(path)

    def open_file(self, path: str | Path) -> Task:
        """Label a recording in a worker (progress shown, cancellable)."""
        self._set_busy(True, self.tr("Labelling %1…").replace("%1", Path(path).name))
        self.task = self.workers.submit(self.service.label_file, str(path), on_done=self._done,
                                        on_failed=self._failed, on_progress=self._progress)
        return self.task

    def toggle_record(self) -> None:
        """Start recording the room, or stop and label what was recorded."""
        if self.capture.running:
            self.capture.stop("stopped")
        elif self.capture.start(ROOM):
            self.record_btn.setText(self.tr("Stop and label"))
            self.status.setText(self.tr("Recording the room…"))

    def _recorded(self, samples: np.ndarray, reason: str) -> None:
        self.record_btn.setText(self.tr("Record the room"))
        self._set_busy(True, self.tr("Labelling the recording…"))
        self.task = self.workers.submit(self.service.label_samples, samples, "room", on_done=self._done,
                                        on_failed=self._failed, on_progress=self._progress)

    def cancel(self) -> None:
        """Stop the running labelling."""
        if self.task is not None:
            self.task.cancel()
            self.status.setText(self.tr("Cancelling…"))

    def _progress(self, step: str, done: int, total: int) -> None:
        if total > 0:  # steps without a known total leave the bar as it is
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))

    def _done(self, result: MeetingResult) -> None:
        self.task = None
        self.result, self.names = result, {}
        self.selection.setText(self.tr("Click a segment to play it."))
        self.timeline.set_segments(result.segments, result.duration)
        self.overview.set_samples(result.samples)
        self._fit_timeline()
        n, turns = len(result.speakers), len(result.segments)
        if n == 1:  # two or more speakers have two or more segments
            summary = self.tr("%1: 1 speaker, 1 segment, %4 s.") if turns == 1 else self.tr("%1: 1 speaker, %3 segments, %4 s.")
        else:
            summary = self.tr("%1: %2 speakers, %3 segments, %4 s.")
        self._set_busy(False, summary.replace("%1", result.uri).replace("%2", str(n)).replace("%3", str(turns))
                       .replace("%4", f"{result.duration:.0f}"))
        self.labelled.emit(result)

    def _failed(self, exc: BaseException) -> None:
        self.task = None
        if isinstance(exc, Cancelled):
            self._set_busy(False, self.tr("Cancelled."))
        elif isinstance(exc, MediaError):
            self._set_busy(False, self.tr("Cannot open this file: %1").replace("%1", str(exc)))
        else:
            log.warning("labelling failed: %r", exc)
            self._set_busy(False, reason_text("error"))
        self.failed.emit(str(exc) or type(exc).__name__)

    def _set_busy(self, busy: bool, text: str | None = None) -> None:
        self.progress.setVisible(busy)
        self.progress.setRange(0, 0)
        self.cancel_btn.setEnabled(busy)
        self.open_btn.setEnabled(not busy)
        self.record_btn.setEnabled(not busy)
        has = self.result is not None and not busy
        for b in self.export_btns:
            b.setEnabled(has)
        for b in (self.play_btn, self.rename_btn, self.enrol_btn):
            b.setEnabled(has and self.timeline.selected is not None)
        if text:
            self.status.setText(text)

    def _show_error(self, message: str) -> None:
        self.status.setText(message)

    # -- the selected segment ------------------------------------------------------------------
    def selected_segment(self) -> Segment | None:
        """The clicked segment, if any."""
        i = self.timeline.selected
        return self.result.segments[i] if self.result is not None and i is not None else None

    def _select(self, index: int) -> None:
        seg = self.result.segments[index] if self.result else None
        if seg is None:
            return
        self._caption(seg)
        self._set_busy(False)
        self.play_selected()

    def play_selected(self) -> None:
        """Play the selected segment and move the cursor over it."""
        seg = self.selected_segment()
        if seg is not None and self.result is not None:
            self.player.play(self.result.samples, seg.start, seg.end)
            if self.player.note:
                self.status.setText(self.tr("No audio output here: showing the position only."))

    def rename_selected(self) -> None:
        """Give the selected segment's speaker a name."""
        seg = self.selected_segment()
        if seg is None:
            return
        name, ok = QInputDialog.getText(self, self.tr("Rename speaker"), self.tr("Name:"),
                                        text=self.names.get(seg.label) or seg.name or speaker_label(seg.label))
        if ok and name.strip():
            self.rename(seg.label, name.strip())

    def rename(self, label: str, name: str) -> None:
        """Show and export ``name`` for every segment of ``label`` (the caption of a selected one too)."""
        self.names[label] = name
        self.timeline.rename(label, name)
        seg = self.selected_segment()
        if seg is not None and seg.label == label:
            self._caption(seg)

    def _caption(self, seg: Segment) -> None:
        who = self.names.get(seg.label) or seg.name or speaker_label(seg.label)
        self.selection.setText(self.tr("%1, %2–%3 s").replace("%1", who).replace("%2", f"{seg.start:.1f}")
                               .replace("%3", f"{seg.end:.1f}"))

    def named_segments(self) -> list[Segment]:
        """Segments with the renamed speakers' names."""
        segs = self.result.segments if self.result else []
        return [replace(s, name=self.names.get(s.label, s.name)) for s in segs]

    def enrol_selected(self) -> None:
        """Enrol the selected speaker from all their segments: the admin PIN, then id, name and consent, as the
        Enrol screen asks them."""
        seg = self.selected_segment()
        if seg is None or self.result is None:
            return
        if not self.authorise():
            self.status.setText(self.tr("Enrolling needs the admin PIN."))
            return
        self.enrol_dialog = MeetingEnrolDialog(self._name_of(seg.label), self)
        self.enrol_dialog.accepted.connect(lambda d=self.enrol_dialog, label=seg.label: self.enrol_speaker(
            label, d.speaker_id.text().strip(), d.name.text().strip() or None, consent=d.consent.text.text()))
        self.enrol_dialog.open()

    def _name_of(self, label: str) -> str | None:
        segs = self.result.segments if self.result is not None else []
        return self.names.get(label) or next((s.name for s in segs if s.label == label), None)

    def enrol_speaker(self, label: str, speaker_id: str, name: str | None = None, *, consent: str) -> None:
        """Enrol the speaker of ``label`` as ``speaker_id`` from all their segments (write pool), once they agreed
        to ``consent`` (recorded in the audit log, as on the Enrol screen)."""
        if self.result is None:
            return
        name = name or self._name_of(label)
        segs = [s for s in self.result.segments if s.label == label]
        self.status.setText(self.tr("Enrolling %1…").replace("%1", speaker_id))
        enrol = partial(self.service.enrol_from_segments, consent=consent)
        self.workers.submit(enrol, speaker_id, name, self.result.samples, segs,
                            on_done=self._enrolled, on_failed=self._enrol_failed, write=True)

    def _enrolled(self, outcome: object) -> None:
        self.status.setText(self.tr("%1 is enrolled.").replace("%1", getattr(outcome, "speaker_id", "")))
        self.speaker_enrolled.emit(outcome)

    def _enrol_failed(self, exc: BaseException) -> None:
        if isinstance(exc, EnrolFromMeetingError):
            why = recording_reason_text(exc.code, exc.speech_s, exc.needed_s)
        else:
            why = reason_text(exc.code if isinstance(exc, EnrolRefused) else "error")
        self.status.setText(self.tr("Could not enrol from this recording: %1").replace("%1", why))
        self.speaker_enrolled.emit(exc)

    # -- export --------------------------------------------------------------------------------
    def choose_export(self, fmt: str) -> None:
        """Ask where to save, then export."""
        if self.result is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export"), f"{self.result.uri}.{fmt}", f"*.{fmt}")
        if path:
            self.export_to(path)

    def export_to(self, path: str | Path) -> Path:
        """Write the labelled segments (RTTM, SRT or JSON by suffix)."""
        out = export(self.named_segments(), path)
        self.status.setText(self.tr("Saved %1").replace("%1", str(out)))
        return out

    def shutdown(self) -> None:
        """Stop recording, playback and the running labelling."""
        self.capture.cancel()
        self.player.stop()
        self.cancel()
