"""The meeting screen: right number of lanes, exports, cancel, and a GUI thread that keeps running.

The screen labels with the engine's model: these tests run on the shared ``service`` fixture, the default model
(CAM++ zh-en, whose settings the labeling pipeline was built for) over the real encrypted store, so a meeting
participant enrolled from the screen is stored, and named in the next meeting, the way production does it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QTimer

from app.kiosk import KioskService
from engine.models.registry import DEFAULT_MODEL
from ui.audio_source import FileSource
from ui.screens.consent import consent_text
from ui.screens.labeling import LabelingScreen
from ui.workers import Workers

WAIT_MS = 300_000


@pytest.fixture
def screen(qtbot, service: KioskService):
    """A labeling screen with its own workers, drained at teardown."""
    workers = Workers()
    widget = LabelingScreen(service, workers, FileSource([]))
    qtbot.addWidget(widget)
    yield widget
    widget.shutdown()
    workers.shutdown()


@pytest.fixture
def long_meeting(shared_data: Path, tmp_path: Path) -> Path:
    """About two minutes of meetings, back to back."""
    parts = [sf.read(shared_data / "diarization" / f"{u}.wav", dtype="float32")[0]
             for u in ("dev00", "dev01", "tst00", "trn00")]
    path = tmp_path / "long_meeting.wav"
    sf.write(path, np.concatenate(parts), 16000)
    return path


def test_dev00_shows_two_speaker_lanes_and_exports(qtbot, screen, shared_data, tmp_path) -> None:
    with qtbot.waitSignal(screen.labelled, timeout=WAIT_MS) as done:
        screen.open_file(shared_data / "diarization" / "dev00.wav")
    result = done.args[0]
    assert screen.timeline.lane_count == 2 == len(result.speakers)
    assert "2 speakers" in screen.status.text()
    screen.rename(result.speakers[0], "Chair")
    rttm = screen.export_to(tmp_path / "dev00.rttm").read_text().splitlines()
    assert len(rttm) == len(result.segments) and all(line.startswith("SPEAKER dev00 1 ") for line in rttm)
    assert any(" Chair " in line for line in rttm)
    data = json.loads(screen.export_to(tmp_path / "dev00.json").read_text())
    assert {s["name"] for s in data["segments"]} >= {"Chair"}
    assert "-->" in screen.export_to(tmp_path / "dev00.srt").read_text()


def test_gui_thread_keeps_running_while_a_long_file_is_labelled(qtbot, screen, long_meeting) -> None:
    ticks_while_busy = []
    timer = QTimer(interval=20)
    timer.timeout.connect(lambda: ticks_while_busy.append(1) if screen.task is not None else None)
    timer.start()
    with qtbot.waitSignal(screen.labelled, timeout=WAIT_MS) as done:
        screen.open_file(long_meeting)
    timer.stop()
    assert len(ticks_while_busy) >= 3  # the timer fired again and again during the work
    assert screen.timeline.lane_count == len(done.args[0].speakers) >= 1


def test_labelling_can_be_cancelled(qtbot, screen, long_meeting) -> None:
    with qtbot.waitSignal(screen.failed, timeout=WAIT_MS):
        screen.open_file(long_meeting)
        screen.cancel()
    assert screen.status.text() == "Cancelled."
    assert screen.result is None and screen.open_btn.isEnabled()


def test_enrol_a_meeting_speaker_then_the_next_meeting_names_them(qtbot, screen, shared_data) -> None:
    with qtbot.waitSignal(screen.labelled, timeout=WAIT_MS) as first:
        screen.open_file(shared_data / "diarization" / "dev00.wav")
    talker = first.args[0].speakers[0]
    screen.rename(talker, "Mee Nine")
    with qtbot.waitSignal(screen.speaker_enrolled, timeout=WAIT_MS) as enrolled:
        screen.enrol_speaker(talker, "MEE009", consent=consent_text())
    assert enrolled.args[0].speaker_id == "MEE009"
    listed = screen.service.speakers()
    assert [(r.speaker_id, r.name, r.models) for r in listed] == [("MEE009", "Mee Nine", (DEFAULT_MODEL,))]
    with qtbot.waitSignal(screen.labelled, timeout=WAIT_MS) as second:
        screen.open_file(shared_data / "diarization" / "dev01.wav")  # the same two people, another excerpt
    assert "MEE009" in second.args[0].speakers
    assert "Mee Nine" in screen.timeline.display.values()


def test_record_the_room_from_the_file_source_and_label_it(qtbot, service, shared_data) -> None:
    workers = Workers()
    source = FileSource([shared_data / "diarization" / "dev00.wav"], speed=3.0)  # 30 s played in 10 s
    widget = LabelingScreen(service, workers, source)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.labelled, timeout=WAIT_MS) as done:
        widget.toggle_record()  # plays until the file ends, then labels what was recorded
    assert done.args[0].uri == "room" and round(done.args[0].duration) == 30
    assert widget.timeline.lane_count == 2
    widget.shutdown()
    workers.shutdown()


def test_a_rename_changes_the_caption_of_the_selected_segment(qtbot, screen, shared_data) -> None:
    with qtbot.waitSignal(screen.labelled, timeout=WAIT_MS) as done:
        screen.open_file(shared_data / "diarization" / "dev00.wav")
    segments = done.args[0].segments
    screen.timeline.selected = 0  # as a click on the first segment does
    screen._select(0)
    screen.player.stop()
    assert screen.selection.text().startswith("Speaker ")
    screen.rename(segments[0].label, "Chair")
    assert screen.selection.text() == f"Chair, {segments[0].start:.1f}–{segments[0].end:.1f} s"
    with qtbot.waitSignal(screen.labelled, timeout=WAIT_MS):
        screen.open_file(shared_data / "diarization" / "dev01.wav")
    assert screen.selection.text() == "Click a segment to play it."  # nothing of the last meeting's selection


def test_the_summary_counts_one_speaker_and_one_segment_in_the_singular(qtbot, screen) -> None:
    from app.kiosk.types import MeetingResult, Segment

    samples = np.zeros(16000 * 20, np.float32)
    screen._done(MeetingResult("solo", samples, 20.0, [Segment(1.0, 9.0, "Speaker 1")]))
    assert screen.status.text() == "solo: 1 speaker, 1 segment, 20 s."
    screen._done(MeetingResult("solo", samples, 20.0, [Segment(1.0, 9.0, "Speaker 1"), Segment(11.0, 19.0, "Speaker 1")]))
    assert screen.status.text() == "solo: 1 speaker, 2 segments, 20 s."
    screen._done(MeetingResult("pair", samples, 20.0, [Segment(1.0, 9.0, "Speaker 1"), Segment(11.0, 19.0, "Speaker 2")]))
    assert screen.status.text() == "pair: 2 speakers, 2 segments, 20 s."
