"""Start the kiosk app: Qt first (the window shows at once), the model and the node load behind it."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

from app.settings import Settings
from app.wiring import kiosk_service
from ui import style
from ui.app import MainWindow
from ui.audio_source import AudioSource, FileSource, MicSource
from ui.i18n import install_translators, pick_language
from ui.workers import Workers

log = logging.getLogger(__name__)


def seconds_since_process_start() -> float | None:
    """Seconds since this process started (Linux), or None elsewhere."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        start = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - start
    except (OSError, ValueError, IndexError):
        return None


def make_application(settings: Settings) -> tuple[QApplication, list[object]]:
    """The QApplication with our style and the chosen language."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Edge-VoMID")
    app.setStyleSheet(style.STYLE_SHEET + style.arrow_sheet())
    translators = install_translators(app, pick_language(settings.language))
    return app, translators  # type: ignore[return-value]


def make_source(audio_source: Path | None) -> AudioSource:
    """A file source for ``--audio-source``, else the microphone."""
    return FileSource.from_path(audio_source) if audio_source else MicSource()


def run_gui(settings: Settings, *, kiosk: bool | None = None, audio_source: Path | None = None,
            model_id: str | None = None, memory: bool = False, exit_when_ready: bool = False,
            control: bool = False) -> int:
    """Run the app until its window closes; returns the exit status."""
    t0 = time.perf_counter()
    app, _translators = make_application(settings)
    flags = {} if kiosk is None else {"kiosk_mode": kiosk}  # so the admin screen can say --kiosk wins
    service = kiosk_service(settings, model_id=model_id, memory=memory, flags=flags)
    window = MainWindow(service, Workers(), make_source(audio_source),
                        kiosk=service.options.kiosk_mode if kiosk is None else kiosk)
    window.start()
    app.processEvents()
    shown = time.perf_counter() - t0
    base = seconds_since_process_start()

    def ready(model: str) -> None:
        loaded = time.perf_counter() - t0
        since = "" if base is None else (f"; since process start: login screen shown {base:.2f} s, "
                                         f"model ready {base - shown + loaded:.2f} s")
        print(f"startup: login screen shown (Speak enabled) {shown:.2f} s, model {model} ready {loaded:.2f} s "
              f"after run_gui began{since}", file=sys.stderr, flush=True)
        node = service.node
        print(f"node: {node.url or 'local only'}; fault: {service.status().fault or 'none'}",
              file=sys.stderr, flush=True)
        if exit_when_ready:
            window.allow_close()
            window.close()

    window.ready.connect(ready)
    if control:  # JSON commands on stdin (benchmarks, process tests): see ui/control.py
        from ui.control import Controller

        controller = Controller(service, window.workers)
        controller.quit_requested.connect(lambda: (window.allow_close(), window.close()))
        started = []  # once: after the model loaded, or failed to (a cluster member may offload then)

        def start_control(_message: str) -> None:
            if not started:
                started.append(True)
                controller.start()

        window.ready.connect(start_control)
        window.load_failed.connect(start_control)
    window.load_failed.connect(lambda _m: exit_when_ready and (window.allow_close(), window.close()))
    return int(app.exec())
