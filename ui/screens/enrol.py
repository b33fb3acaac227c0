"""Enrolment: id and name, consent, three or more checked takes with retry, then a confirmation check."""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.kiosk import EnrolOutcome, KioskService, TakeCheck
from ui.audio_source import AudioSource
from ui.endpointer import EndpointConfig
from ui.messages import reason_text, too_short_text
from ui.screens.consent import ConsentCard
from ui.screens.login import set_state
from ui.screens.recorder_panel import RecorderPanel
from ui.widgets.buttons import EnterButton
from ui.widgets.page_stack import PageStack
from ui.workers import Workers

log = logging.getLogger(__name__)


class EnrolScreen(QWidget):
    """Guides one enrolment; ``take_checked(index, TakeCheck)`` and ``enrolled(EnrolOutcome)`` for tests."""

    take_checked = Signal(int, object)
    enrolled = Signal(object)
    failed = Signal(str)

    def __init__(self, service: KioskService, workers: Workers, source: AudioSource,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.workers = workers
        self.takes: list[np.ndarray | None] = []
        self.checks: list[TakeCheck | None] = []
        self.current = 0
        self.pages = PageStack()
        self.pages.addWidget(self._details_page())
        self.panel = RecorderPanel(source, self)
        self.pages.addWidget(self._takes_page())
        self.pages.addWidget(self._done_page())
        lay = QVBoxLayout(self)
        lay.setContentsMargins(48, 28, 48, 20)
        title = QLabel(self.tr("Enrol a new person"))
        title.setObjectName("title")
        lay.addWidget(title)
        lay.addWidget(self.pages, 1)
        self.panel.take.connect(self._take)
        self.panel.started.connect(self._take_started)
        self._clear_timer = QTimer(self, singleShot=True, timeout=self.reset)  # the done page forgets the person
        self.reset()

    # -- pages ---------------------------------------------------------------------------------
    def _details_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        grid = QGridLayout()
        self.speaker_id = QLineEdit()
        self.speaker_id.setPlaceholderText(self.tr("Badge number or login (scan or type)"))
        self.name = QLineEdit()
        self.name.setPlaceholderText(self.tr("Full name"))
        self.speaker_id.returnPressed.connect(self.name.setFocus)  # a badge scanner types the id, then Enter
        self.name.returnPressed.connect(self.start_takes)
        self.id_error = QLabel()  # form errors stand next to their field
        self.id_error.setObjectName("error")
        grid.addWidget(QLabel(self.tr("Id")), 0, 0)
        grid.addWidget(self.speaker_id, 0, 1)
        grid.addWidget(self.id_error, 1, 1)
        grid.addWidget(QLabel(self.tr("Name")), 2, 0)
        grid.addWidget(self.name, 2, 1)
        lay.addLayout(grid)
        card = ConsentCard()  # the same consent step as the meeting room's "Enrol this speaker…"
        self.consent, self.agree, self.consent_error = card.text, card.agree, card.error
        self.consent_card = card
        lay.addWidget(card)
        lay.addStretch(1)
        self.begin = EnterButton(self.tr("Start recording"))
        self.begin.setObjectName("primary")
        self.begin.clicked.connect(self.start_takes)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.begin)
        lay.addLayout(row)
        return page

    def _takes_page(self) -> QWidget:
        page = QWidget()
        lay = self.takes_layout = QBoxLayout(QBoxLayout.Direction.LeftToRight, page)  # stacked when narrow
        left = QVBoxLayout()
        self.take_title = QLabel()
        self.take_title.setStyleSheet("font-size: 22px; font-weight: 700;")  # 600 has no CJK face: zh_CN lost it
        left.addWidget(self.take_title)
        left.addWidget(self.panel, 1)
        self.take_result = QLabel()
        self.take_result.setObjectName("result")
        self.take_result.setWordWrap(True)
        left.addWidget(self.take_result)
        lay.addLayout(left, 3)
        right = QVBoxLayout()
        right.addWidget(QLabel(self.tr("Takes")))
        self.rows_box = QVBoxLayout()
        right.addLayout(self.rows_box)
        right.addStretch(1)
        self.overall = QProgressBar()
        self.overall.setFormat(self.tr("%v of %m good takes"))
        right.addWidget(self.overall)
        self.finish = EnterButton(self.tr("Finish enrolment"))
        self.finish.setObjectName("primary")
        self.finish.clicked.connect(self.finish_enrolment)
        right.addWidget(self.finish)
        lay.addLayout(right, 2)
        return page

    def _done_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        self.done_result = QLabel()
        self.done_result.setObjectName("result")
        self.done_result.setWordWrap(True)
        self.done_detail = QLabel()
        self.done_detail.setWordWrap(True)
        again = QPushButton(self.tr("Enrol someone else"))
        again.clicked.connect(self.reset)
        lay.addStretch(1)
        lay.addWidget(self.done_result)
        lay.addWidget(self.done_detail)
        lay.addWidget(again, 0, Qt.AlignmentFlag.AlignCenter)
        lay.addStretch(2)
        return page

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        narrow = self.width() < 760  # portrait: the takes list goes under the recorder
        self.takes_layout.setDirection(QBoxLayout.Direction.TopToBottom if narrow else QBoxLayout.Direction.LeftToRight)

    # -- flow ----------------------------------------------------------------------------------
    @property
    def needed(self) -> int:
        """Good takes needed."""
        return self.service.settings.min_enrol_takes

    def reset(self) -> None:
        """Back to an empty form."""
        self.panel.cancel()
        self.speaker_id.clear()
        self.name.clear()
        self._clear_timer.stop()
        self.agree.setChecked(False)
        self.id_error.clear()
        self.consent_error.clear()
        self.take_result.clear()
        set_state(self.done_result, "idle", "")
        self.done_detail.clear()
        self.panel.waveform.clear_wave()
        self.takes, self.checks, self.current = [None] * self.needed, [None] * self.needed, 0
        self.pages.setCurrentIndex(0)

    def start_takes(self) -> None:
        """Validate the form, record consent, and go to the takes."""
        self.id_error.clear()
        self.consent_error.clear()
        if not self.speaker_id.text().strip():
            self.id_error.setText(self.tr("Please enter the person's id."))
            self.speaker_id.setFocus()
            return
        if not self.consent_card.check():
            return
        sid = self.speaker_id.text().strip()
        self.workers.submit(self.service.record_consent, sid, self.consent.text(), write=True)
        need = self.service.settings.min_speech_enrol_s
        self.panel.config = EndpointConfig(target_speech_s=need * 1.4, max_s=20.0, give_up_silence_s=2.5)
        self.pages.setCurrentIndex(1)
        self._refresh()

    def retry(self, index: int) -> None:
        """Record take ``index`` again."""
        self.takes[index], self.checks[index] = None, None
        self.current = index
        self._refresh()

    def _take_started(self) -> None:
        """A take is recording: the last take's message goes."""
        set_state(self.take_result, "busy", self.tr("Recording take %1…").replace("%1", str(self.current + 1)))

    def _take(self, samples: np.ndarray, reason: str) -> None:
        index = self.current
        self.panel.speak.setEnabled(False)
        set_state(self.take_result, "busy", self.tr("Checking take %1…").replace("%1", str(index + 1)))
        self.takes[index] = samples
        self.workers.submit(self.service.check_take, samples, on_done=lambda c: self._checked(index, c),
                            on_failed=lambda e: self._check_failed(index, e))

    def _checked(self, index: int, check: TakeCheck) -> None:
        self.checks[index] = check
        if check.ok:
            set_state(self.take_result, "accepted", self.tr("Take %1 is good (%2 s of speech).")
                      .replace("%1", str(index + 1)).replace("%2", f"{check.speech_seconds:.1f}"))
            empty = [i for i, c in enumerate(self.checks) if c is None or not c.ok]
            self.current = empty[0] if empty else index
            if not empty:
                set_state(self.take_result, "accepted", self.tr("All takes are good: press Finish enrolment."))
        else:
            why = (too_short_text(check.speech_seconds, self.service.settings.min_speech_enrol_s)
                   if check.code == "too_short" else reason_text(check.code))
            set_state(self.take_result, "retry", self.tr("Take %1: %2").replace("%1", str(index + 1))
                      .replace("%2", why))
        self.panel.new_prompt()
        self._refresh()
        self.take_checked.emit(index, check)

    def _refresh(self) -> None:
        while self.rows_box.count():
            item = self.rows_box.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        good = 0
        for i, check in enumerate(self.checks):
            row = QWidget()
            rl = QHBoxLayout(row)
            rl.setContentsMargins(0, 0, 0, 0)
            if check is None:
                text = self.tr("Take %1: to do").replace("%1", str(i + 1))
            elif check.ok:
                good += 1
                text = self.tr("Take %1: good, %2 s").replace("%1", str(i + 1)).replace("%2", f"{check.speech_seconds:.1f}")
            else:
                text = self.tr("Take %1: retry needed").replace("%1", str(i + 1))
            mark = "▶ " if i == self.current and not self._all_good() else ""
            rl.addWidget(QLabel(mark + text), 1)
            if check is not None:
                btn = QPushButton(self.tr("Retry"))
                btn.clicked.connect(lambda _=False, i=i: self.retry(i))
                rl.addWidget(btn)
            self.rows_box.addWidget(row)
        self.overall.setRange(0, self.needed)
        self.overall.setValue(good)
        self.finish.setEnabled(self._all_good())
        self.panel.speak.setEnabled(not self._all_good())
        self.panel.show_prompt(not self._all_good())  # nothing left to read aloud
        self.take_title.setText(self.tr("All takes recorded") if self._all_good()
                                else self.tr("Take %1 of %2").replace("%1", str(self.current + 1))
                                .replace("%2", str(self.needed)))

    def _all_good(self) -> bool:
        return all(c is not None and c.ok for c in self.checks)

    def finish_enrolment(self) -> None:
        """Store the voiceprint (write pool) and show the confirmation check."""
        self.finish.setEnabled(False)
        set_state(self.take_result, "busy", self.tr("Saving the voiceprint…"))
        sid, name = self.speaker_id.text().strip(), self.name.text().strip() or None
        self.workers.submit(self.service.enrol, sid, name, list(self.takes), list(self.checks),
                            on_done=self._enrolled, on_failed=self._failed, write=True)

    def _enrolled(self, outcome: EnrolOutcome) -> None:
        who = outcome.name or outcome.speaker_id
        if outcome.passed:
            set_state(self.done_result, "accepted", self.tr("%1 is enrolled").replace("%1", who))
        else:
            set_state(self.done_result, "retry", self.tr("%1 is enrolled, but the check is weak").replace("%1", who))
        self.done_detail.setText(
            self.tr("Verification against the new voiceprint: score %1, threshold %2 (%3 takes, %4 s of speech).")
            .replace("%1", f"{outcome.check_score:.2f}").replace("%2", f"{outcome.threshold:.2f}")
            .replace("%3", str(outcome.takes)).replace("%4", f"{outcome.speech_seconds:.1f}"))
        self.pages.setCurrentIndex(2)
        self._clear_timer.start(int(1000 * self.service.options.result_clear_s))
        self.enrolled.emit(outcome)

    def _check_failed(self, index: int, exc: BaseException) -> None:
        log.warning("take check failed: %r", exc)
        self._checked(index, TakeCheck(False, 0.0, "error", str(exc)))

    def _failed(self, exc: BaseException) -> None:
        log.warning("enrolment step failed: %r", exc)
        set_state(self.take_result, "retry", reason_text(getattr(exc, "code", None) or "error"))
        self.panel.speak.setEnabled(True)
        self._refresh()
        self.failed.emit(str(exc))
