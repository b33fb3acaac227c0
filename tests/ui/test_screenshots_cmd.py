"""`vomid gui` / `vomid screenshots` parse, and the screenshots command renders the four screens."""

from __future__ import annotations

import argparse
from pathlib import Path

from PySide6.QtGui import QImage

from app.commands import gui
from app.settings import Settings


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vomid")
    gui.add_parser(p.add_subparsers())
    return p


def test_gui_options_parse() -> None:
    args = parser().parse_args(["gui", "--kiosk", "--audio-source", "a.flac", "--model", "ge2e"])
    assert (args.kiosk, args.audio_source, args.model, args.func) == (True, Path("a.flac"), "ge2e", gui.run_gui)


def test_screenshots_render_each_screen(qapp, kiosk_settings: Settings, shared_data: Path, tmp_path: Path) -> None:
    from app.wiring import kiosk_service
    from ui.screenshots import render_all

    service = kiosk_service(kiosk_settings, model_id="ge2e", memory=True)
    paths = render_all(service, tmp_path, data=shared_data)
    screens = ["login", "enrol", "labeling", "admin"]
    assert [p.name for p in paths] == [f"{s}.png" for s in screens] + [
        f"{s}_{w}x{h}.png" for w, h in ((1024, 600), (800, 480)) for s in screens]
    for path in paths[:4]:
        image = QImage(str(path))
        assert image.width() >= 1200 and image.height() >= 700
    for path in paths[4:]:  # the small kiosk panels: the window is exactly the panel's size
        image = QImage(str(path))
        size = path.stem.rsplit("_", 1)[1]
        assert f"{image.width()}x{image.height()}" == size


def test_the_screenshots_command_renders_the_model_users_run(monkeypatch, tmp_path: Path) -> None:
    """README's pictures show the default model (CAM++ zh-en), not the small fallback, unless --model says so."""
    import ui.screenshots
    from engine.models.registry import DEFAULT_MODEL

    rendered: list[str] = []
    monkeypatch.setattr(ui.screenshots, "render_all",
                        lambda service, out_dir, data=None: rendered.append(service._model_id) or [])
    for argv, model in ((["screenshots", str(tmp_path)], DEFAULT_MODEL),
                        (["screenshots", str(tmp_path), "--model", "ge2e"], "ge2e")):
        args = parser().parse_args([*argv, "--data-dir", str(tmp_path / "data")])
        assert args.func(args) == 0
        assert rendered.pop() == model
