"""With no sound card the microphone fails with a clear message and a retry, never a crash or a leaked stream."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.kiosk import KioskService
from ui.audio_source import MicSource
from ui.screens.login import LoginScreen
from ui.workers import Workers


def test_missing_microphone_is_a_clear_message_with_retry(qtbot, service: KioskService) -> None:
    workers = Workers()
    source = MicSource()
    screen = LoginScreen(service, workers, source)
    qtbot.addWidget(screen)
    screen.set_ready(True)
    with qtbot.waitSignal(screen.panel.failed, timeout=10_000) as failure:
        qtbot.mouseClick(screen.panel.speak, Qt.MouseButton.LeftButton)
    assert "microphone" in failure.args[0].lower() or "portaudio" in failure.args[0].lower()
    assert screen.result.text() == "Microphone problem"
    assert "retry" in screen.detail.text().lower()
    assert screen.panel.speak.isEnabled() and not screen.panel.recording and source._stream is None
    workers.shutdown()
