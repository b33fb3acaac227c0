"""Render each screen offscreen to PNG in a realistic state, with real recordings and the real engine."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QEventLoop
from PySide6.QtWidgets import QApplication, QWidget

from app.kiosk import KioskService
from app.kiosk.media import decode_file
from ui.app import MainWindow
from ui.audio_source import FileSource
from ui.launch import make_application
from ui.screens.login import set_state
from ui.workers import Workers

REPO = Path(__file__).resolve().parents[1]
SMALL_SIZES = ((1024, 600), (800, 480))  # kiosk panels: each screen is also rendered at these sizes
PEOPLE = {"1688": ("Ada Lovelace", (3, 4, 6)), "3080": ("Grace Hopper", (0, 4, 5))}


def _files(data: Path, speaker: str) -> list[Path]:
    return sorted((data / "verification" / "en" / speaker).glob("*.flac"))


def _enrol(service: KioskService, data: Path) -> None:
    for sid, (name, picks) in PEOPLE.items():
        takes = [decode_file(_files(data, sid)[i]) for i in picks]
        service.enrol(sid, name, takes, [service.check_take(t) for t in takes])


def settle(app: QApplication, window: QWidget) -> None:
    """Let layouts, deferred deletes and repaints finish before grabbing."""
    for _ in range(10):
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.02)
    window.repaint()


def _login(window: MainWindow, data: Path) -> None:
    screen = window.login
    x = decode_file(_files(data, "2414")[7])[: 16000 * 4]
    screen.panel.waveform.set_samples(x)
    screen.panel.meter.set_level(-21.0)
    screen.panel.speech.setValue(64)
    screen.panel.speak.setText(screen.panel.tr("Listening… tap to stop"))
    set_state(screen.result, "busy", screen.tr("Listening…"))


def _enrolment(window: MainWindow, service: KioskService, data: Path) -> None:
    screen = window.enrol
    screen.speaker_id.setText("2033")
    screen.name.setText("Lin Wei")
    screen.agree.setChecked(True)
    screen.start_takes()
    for i, path in enumerate(_files(data, "2033")[3:5]):
        take = decode_file(path)
        screen.takes[i] = take
        screen._checked(i, service.check_take(take))
    screen.panel.waveform.set_samples(take)


def _labeling(window: MainWindow, service: KioskService, data: Path) -> None:
    screen = window.labeling
    screen._done(service.label_file(str(data / "diarization" / "dev00.wav")))
    segs = screen.result.segments if screen.result else []
    if segs:
        pick = min(2, len(segs) - 1)
        screen.timeline.selected = pick
        summary = screen.status.text()
        screen._select(pick)  # as a click does; there is no audio output offscreen, so stop and keep the cursor
        screen.player.stop()
        screen._cursor((segs[pick].start + segs[pick].end) / 2)
        screen.status.setText(summary)


def stage_screens(window: MainWindow, service: KioskService, data: Path) -> dict[str, Callable[[], None]]:
    """Per screen, a function that shows it in a realistic state (run once each: they fill the screens)."""
    return {"login": lambda: _login(window, data), "enrol": lambda: _enrolment(window, service, data),
            "labeling": lambda: _labeling(window, service, data)}


def show_screen(window: MainWindow, name: str) -> None:
    """Bring a screen forward (the admin screen on its peers tab) without the PIN."""
    index = {"login": 0, "enrol": 1, "labeling": 2, "admin": 3}[name]
    window.stack.setCurrentIndex(index)
    window.nav.button(index).setChecked(True)
    if name == "admin":
        window.admin.tabs.setCurrentIndex(1)


def render_all(service: KioskService, out_dir: Path, *, data: Path | None = None) -> list[Path]:
    """Write login.png, enrol.png, labeling.png and admin.png of this (built, not yet loaded) service's app, then
    each again at the small kiosk sizes (login_1024x600.png, ..., admin_800x480.png)."""
    data = data or REPO.parent / "shared" / "data"
    if not (data / "verification").is_dir():
        raise FileNotFoundError(f"real recordings not found under {data}; pass --data")
    out_dir.mkdir(parents=True, exist_ok=True)
    app, _translators = make_application(service.settings)
    service.load()
    _enrol(service, data)
    window = MainWindow(service, Workers(), FileSource([]))
    window.resize(1280, 800)
    window.show()
    window.login.set_ready(True)
    window.refresh_status()
    paths = []
    for name, stage in stage_screens(window, service, data).items():
        show_screen(window, name)
        stage()
        settle(app, window)
        paths.append(_save(window, out_dir / f"{name}.png"))
    show_screen(window, "admin")
    window.admin._show_peers(service.peers())
    settle(app, window)
    paths.append(_save(window, out_dir / "admin.png"))
    for width, height in SMALL_SIZES:
        window.resize(width, height)
        for name in ("login", "enrol", "labeling", "admin"):
            show_screen(window, name)
            settle(app, window)
            paths.append(_save(window, out_dir / f"{name}_{width}x{height}.png"))
    window.workers.pool.waitForDone(60000)
    window.allow_close()
    window.close()
    return paths


def _save(window: QWidget, path: Path) -> Path:
    if not window.grab().save(str(path)):
        raise OSError(f"could not write {path}")
    return path


__all__ = ["render_all"]
