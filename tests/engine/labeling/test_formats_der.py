"""Output formats and the DER command's figures (pyannote.metrics)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from app.commands import label as label_cmd
from engine.labeling import LabelResult
from engine.labeling.der import score_dirs, score_pairs
from engine.labeling.errors import LabelFormatError
from engine.labeling.formats import format_of, read_rttm, render, to_srt, write
from engine.labeling.types import SpeakerInfo, Turn
from tests.engine.labeling.conftest import reference


def _result() -> LabelResult:
    turns = [Turn(0.5, 2.25, "alice", "Alice Doe", 0.9), Turn(2.25, 3661.5, "Speaker 1", None, 0.4)]
    speakers = [SpeakerInfo("alice", 1.75, "Alice Doe", "alice", 0.81), SpeakerInfo("Speaker 1", 3659.25)]
    return LabelResult("room 1", 3662.0, turns, speakers, "ge2e")


def test_rttm_names_named_turns_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "x.rttm"
    write(_result(), path)
    lines = path.read_text().splitlines()
    assert lines[0].split()[:5] == ["SPEAKER", "room_1", "1", "0.500", "1.750"]
    assert read_rttm(path) == {"room_1": [(0.5, 2.25, "Alice_Doe"), (2.25, 3661.5, "Speaker_1")]}


def test_srt_shows_who_speaks_with_hour_times() -> None:
    srt = to_srt(_result())
    assert "00:00:00,500 --> 00:00:02,250\nAlice Doe" in srt
    assert "00:00:02,250 --> 01:01:01,500\nSpeaker 1" in srt


def test_json_has_segments_with_name_and_confidence() -> None:
    data = json.loads(render(_result(), "json"))
    assert data["segments"][0] == {"start": 0.5, "end": 2.25, "speaker": "alice", "name": "Alice Doe",
                                   "confidence": 0.9}
    assert data["segments"][1]["name"] is None


def test_unknown_extension_is_refused() -> None:
    with pytest.raises(LabelFormatError):
        format_of(Path("out.txt"))


def test_der_of_reference_against_itself_is_zero_and_one_speaker_is_not(meetings: Path) -> None:
    ref, uem = reference(meetings, "dev00")
    same = score_pairs({"dev00": (ref, ref, uem)})
    assert same.der == 0.0 and same.der_skip_overlap == 0.0
    merged = [(a, b, "x") for a, b, _ in ref]
    single = score_pairs({"dev00": (ref, merged, uem)})
    assert 0.2 < single.der < 0.5
    assert single.files["dev00"]["parts"]["confusion"] > 5.0


def test_eval_labels_command_writes_json(meetings: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hyp = tmp_path / "hyp"
    hyp.mkdir()
    (hyp / "dev00.rttm").write_text((meetings / "dev00.rttm").read_text())
    parser = argparse.ArgumentParser()
    label_cmd.add_parser(parser.add_subparsers())
    out = tmp_path / "der.json"
    args = parser.parse_args(["eval-labels", str(meetings), str(hyp), "--json", str(out)])
    assert args.func(args) == 0
    data = json.loads(out.read_text())
    assert set(data) >= {"der", "der_skip_overlap", "files"}
    assert data["files"]["dev00"]["der"] == 0.0
    assert data["files"]["dev01"]["parts"]["missed_detection"] > 0  # no hypothesis: all missed
    assert data["counts_right"] == {"right": 1, "files": 6}  # dev00 exact; the others found nobody
    pooled = [line for line in capsys.readouterr().out.splitlines() if line.startswith("POOLED")]
    assert pooled and pooled[0].endswith("1 of 6 counts right")
    assert score_dirs(meetings, hyp).der == data["der"]


def test_label_command_writes_rttm_named_after_the_file(meetings: Path, tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    label_cmd.add_parser(parser.add_subparsers())
    out = tmp_path / "out" / "meeting.rttm"
    args = parser.parse_args(["label", str(meetings / "sample.wav"), "--no-names", "--speakers", "2",
                              "--out", str(out)])
    assert args.func(args) == 0
    turns = read_rttm(out)
    assert list(turns) == ["sample"]
    assert {who for _, _, who in turns["sample"]} == {"Speaker_1", "Speaker_2"}
    srt = tmp_path / "meeting.srt"
    args = parser.parse_args(["label", str(meetings / "sample.wav"), "--no-names", "--out", str(srt)])
    assert args.func(args) == 0
    assert "-->" in srt.read_text()


def test_bench_labels_writes_offline_and_live_figures_of_the_default_models(meetings: Path, tmp_path: Path) -> None:
    from app.commands import bench_labels

    parser = argparse.ArgumentParser()
    bench_labels.add_bench_labels(parser.add_subparsers())
    out = tmp_path / "bench.json"
    args = parser.parse_args(["labels", str(meetings / "dev00.wav"), "--repeat", "1", "--json", str(out)])
    assert args.func(args) == 0
    data = json.loads(out.read_text())
    assert data["offline"]["model"] == "campplus-zh-en" and data["offline"]["segmentation"] == "segmentation-3.0"
    assert data["offline"]["threads"] == 1 and data["offline"]["audio_s"] == 30.0 and data["offline"]["rtf"] > 0
    assert data["live"]["random_weights"] is False and isinstance(data["live"]["keeps_up"], bool)
    assert len(data["load_average_1_5_15"]["before"]) == 3
