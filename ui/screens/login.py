"""The home screen: read the phrase, speak, and see who you are (identify) or whether it is you (verify)."""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from app.kiosk import KioskService, LoginOutcome
from ui.audio_source import AudioSource
from ui.endpointer import EndpointConfig
from ui.messages import reason_text, too_short_text
from ui.screens.recorder_panel import RecorderPanel
from ui.workers import Workers

log = logging.getLogger(__name__)


def set_state(label: QLabel, state: str, text: str) -> None:
    """Show ``text`` in a result label styled for ``state`` (accepted, rejected, retry, busy, idle)."""
    label.setProperty("state", state)
    label.setText(text)
    label.style().unpolish(label)
    label.style().polish(label)


class LoginScreen(QWidget):
    """Login by voice; ``outcome`` carries each :class:`LoginOutcome` once it is shown. A result (name, id, score,
    message) clears after ``options.result_clear_s`` and when the next take starts: a shared screen forgets."""

    outcome = Signal(object)

    def __init__(self, service: KioskService, workers: Workers, source: AudioSource,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.workers = workers
        self.busy = False
        self.model_ready = False
        self.nobody_enrolled = False
        self.title = QLabel()
        self.title.setObjectName("title")
        self.claim = QLineEdit()
        self.claim.setPlaceholderText(self.tr("Your id (badge or login)"))
        self.claim.returnPressed.connect(self.speak)  # scan or type the id, Enter, then speak
        self.panel = RecorderPanel(source, self)
        self.panel.config = self._endpoint_config()
        self.result = QLabel()
        self.result.setObjectName("result")
        self.result.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.result.setWordWrap(True)
        self.detail = QLabel()
        self.detail.setObjectName("hint")
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._build()
        self.panel.take.connect(self._take)
        self.panel.failed.connect(self._source_failed)
        self.panel.started.connect(self._started)
        self.panel.may_start = self._may_start
        self._arm_timer = QTimer(self, singleShot=True, interval=2500, timeout=self.arm)
        self._clear_timer = QTimer(self, singleShot=True, timeout=self.clear_result)
        QShortcut(QKeySequence(Qt.Key.Key_Space), self, activated=self._space)
        self.set_ready(service.ready)

    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(48, 28, 48, 20)
        lay.setSpacing(12)
        lay.addWidget(self.title)
        row = QHBoxLayout()
        row.addWidget(self.claim, 1)
        lay.addLayout(row)
        lay.addWidget(self.panel, 1)
        lay.addWidget(self.result)
        lay.addWidget(self.detail)
        self.refresh_mode()

    def _endpoint_config(self) -> EndpointConfig:
        need = self.service.settings.min_speech_verify_s
        return EndpointConfig(target_speech_s=max(2.5, 2 * need), max_s=12.0)

    @property
    def verify_mode(self) -> bool:
        """True when a person claims an id before speaking."""
        return self.service.options.mode == "verify"

    def refresh_mode(self) -> None:
        """Show the id field only in verify mode."""
        self.title.setText(self.tr("Say the phrase to sign in") if self.verify_mode else self.tr("Who is speaking?"))
        self.claim.setVisible(self.verify_mode)

    def set_ready(self, ready: bool) -> None:
        """Note whether the model is loaded; speaking works before that (the check waits for the model)."""
        self.model_ready = ready
        if ready:
            self.count_enrolled()
        self.panel.speak.setEnabled(not self.busy)
        if not self.busy and not self.panel.recording and self.result.property("state") in (None, "busy", "idle"):
            set_state(self.result, "idle", self.idle_text())

    def idle_text(self) -> str:
        """What the result line says between people (that nobody can be recognised yet, on an empty store)."""
        if self.nobody_enrolled:
            return self.tr("Nobody is enrolled yet: an administrator can enrol people on the Enrol screen.")
        return self.tr("Press Speak (or the space bar) and read the phrase.")

    def count_enrolled(self) -> None:
        """Find out (in a worker) whether anybody is enrolled, for the hint between people."""
        self.workers.submit(lambda: not self.service.speakers(), on_done=self._nobody)

    def _nobody(self, nobody: bool) -> None:
        self.nobody_enrolled = bool(nobody)
        if self.result.property("state") in (None, "idle") and not self.panel.recording:
            set_state(self.result, "idle", self.idle_text())

    @property
    def hands_free(self) -> bool:
        """True when a take starts by itself on speech (identify mode only: verify needs the id first)."""
        return self.service.options.auto_listen and not self.verify_mode

    def arm(self) -> None:
        """Listen for the next person (hands-free mode), unless busy or already listening."""
        ready = self.hands_free and not self.busy and not self.panel.recording and self.isVisible()
        if ready and self.panel.arm():
            set_state(self.result, "idle", self.tr("Just start speaking: the phrase above, or anything."))

    def hideEvent(self, event: object) -> None:
        self._arm_timer.stop()
        if self.panel.recording:  # the person left this screen: drop the take
            self.panel.cancel()
        super().hideEvent(event)  # type: ignore[arg-type]

    def showEvent(self, event: object) -> None:
        super().showEvent(event)  # type: ignore[arg-type]
        if self.model_ready:
            self.count_enrolled()
        if self.hands_free:
            self._arm_timer.start()

    def reset(self) -> None:
        """Back to a fresh screen (inactivity)."""
        self.panel.cancel()
        self.panel.new_prompt()
        self.clear_result()

    def clear_result(self) -> None:
        """Forget the last person: their name, id, score and message, and the id typed (verify mode)."""
        self._clear_timer.stop()
        if self.busy or self.panel.recording:
            return
        self.claim.clear()
        self.detail.clear()
        self.panel.waveform.clear_wave()
        set_state(self.result, "idle", self.idle_text())
        if self.model_ready:
            self.count_enrolled()  # someone may have been enrolled meanwhile

    def speak(self) -> None:
        """Start (or stop) listening, as the Speak button does."""
        if self.panel.speak.isEnabled():
            self.panel.toggle()

    def _may_start(self) -> bool:
        """Verify mode checks the id before a take records."""
        if self.verify_mode and not self.claim.text().strip():
            self._clear_timer.start(int(1000 * self.service.options.result_clear_s))
            set_state(self.result, "retry", self.tr("Please enter your id first."))
            self.detail.setText(self.tr("Type or scan your id in the box above, then press Speak."))
            self.claim.setFocus()
            return False
        return True

    def _started(self) -> None:
        """A new take: the last result goes."""
        self._clear_timer.stop()
        set_state(self.result, "busy", self.tr("Listening…"))
        self.detail.clear()

    def _space(self) -> None:
        if not self.claim.hasFocus():
            self.speak()

    def _take(self, samples: np.ndarray, reason: str) -> None:
        claimed = self.claim.text().strip() if self.verify_mode else None
        if self.verify_mode and not claimed:
            set_state(self.result, "retry", self.tr("Please enter your id first."))
            return
        self.busy = True
        self.panel.speak.setEnabled(False)
        set_state(self.result, "busy", self.tr("Checking your voice…") if self.model_ready
                  else self.tr("Checking your voice (the voice model is still loading)…"))
        self.workers.submit(self.service.login, samples, claimed, on_done=self._done, on_failed=self._failed)

    def _done(self, outcome: LoginOutcome) -> None:
        self.busy = False
        self.panel.speak.setEnabled(True)
        self.panel.new_prompt()
        self.show_outcome(outcome)
        self.outcome.emit(outcome)
        if self.hands_free:
            self._arm_timer.start()

    def show_outcome(self, outcome: LoginOutcome) -> None:
        """Put an outcome on screen."""
        if outcome.decision == "accepted":
            who = outcome.name or outcome.speaker_id or ""
            set_state(self.result, "accepted", self.tr("Welcome, %1").replace("%1", who))
            self.detail.setText(self.tr("Recognised as %1 (score %2)").replace("%1", outcome.speaker_id or "")
                                .replace("%2", f"{outcome.score:.2f}"))
        elif outcome.decision == "retry":
            set_state(self.result, "retry", self.tr("Try again"))
            if outcome.code == "too_short" and outcome.speech_seconds is not None:
                self.detail.setText(too_short_text(outcome.speech_seconds, self.service.settings.min_speech_verify_s))
            else:
                self.detail.setText(reason_text(outcome.code))
        else:
            set_state(self.result, "rejected", self.tr("Not recognised"))
            text = reason_text(outcome.code)
            if outcome.retry_after_s:
                text += " " + self.tr("Try again in %1 s.").replace("%1", str(int(outcome.retry_after_s + 0.5)))
            self.detail.setText(text)
        self._clear_timer.start(int(1000 * self.service.options.result_clear_s))

    def _failed(self, exc: BaseException) -> None:
        log.warning("login failed: %r", exc)
        self._done(LoginOutcome("error", code="error", message=str(exc)))

    def _source_failed(self, message: str) -> None:
        set_state(self.result, "retry", self.tr("Microphone problem"))
        self.detail.setText(message + "  " + self.tr("Press Speak to retry."))
