"""When the configured model cannot load, the app says why and offers the offline model explicitly.

On ``MemoryDirectory`` on purpose: the test is about the model's load failure and the prompt; it enrols, signs
in, lists, deletes and audits nothing.
"""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from app.kiosk import KioskOptions, KioskService, MemoryDirectory
from app.settings import load_settings
from ui.app import MainWindow
from ui.audio_source import FileSource
from ui.workers import Workers


def test_unavailable_model_offers_the_offline_one(qtbot, tmp_path):
    settings = load_settings(model="campplus", allow_download=False, data_dir=tmp_path)
    service = KioskService(settings, options=KioskOptions(admin_pin="2468"), directory=MemoryDirectory())
    win = MainWindow(service, Workers(), FileSource([]))
    qtbot.addWidget(win)
    try:
        with qtbot.waitSignal(win.load_failed, timeout=60_000) as failed:
            win.start()
        assert "campplus" in failed.args[0] and "vomid models install campplus" in failed.args[0]
        qtbot.waitUntil(lambda: win.offline_prompt is not None and win.offline_prompt.isVisible(), timeout=10_000)
        prompt = win.offline_prompt
        assert "offline model" in prompt.text()
        use = next(b for b in prompt.buttons() if prompt.buttonRole(b) == QMessageBox.ButtonRole.AcceptRole)
        with qtbot.waitSignal(win.ready, timeout=60_000) as ready:
            use.click()
        assert ready.args[0] == "ge2e"
    finally:
        win.allow_close()
        win.close()
        service.close()
