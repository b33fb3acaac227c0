"""The identity floor (`vomid eval-labels REF --floor`): the DER no speaker assignment can go below."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from app.commands import label as label_cmd
from engine.labeling import Labeler, LabelResult
from engine.labeling.der import score_pairs
from engine.labeling.errors import LabelingError
from engine.labeling.floor import EXTRA, floor_turns, score_floor

from .conftest import hyp_turns, reference


def _cli(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    label_cmd.add_parser(parser.add_subparsers())
    return parser.parse_args(argv)


def test_the_floor_has_no_confusion_and_no_pipeline_result_beats_it(
    labeler: Labeler, meetings: Path, offline: dict[str, LabelResult]
) -> None:
    floor = score_floor(meetings, labeler.segmentation, labeler.config)
    pipeline = score_pairs({uri: (*reference(meetings, uri)[:1], hyp_turns(r), reference(meetings, uri)[1])
                            for uri, r in offline.items()})
    assert floor.pooled["overlap_scored"]["confusion"] == 0.0
    assert all(f["hyp_speakers"] <= f["ref_speakers"] for f in floor.files.values())  # the extra one not counted
    assert floor.pooled["overlap_skipped"]["confusion"] == 0.0
    for uri, f in floor.files.items():
        # the pipeline labels the same speech frames with 1..count speakers: it can only add errors
        assert f["der"] <= pipeline.files[uri]["der"] + 1e-3, uri
        assert f["der_skip_overlap"] <= pipeline.files[uri]["der_skip_overlap"] + 1e-3, uri
    # what is left is the segmentation's: two people with little overlap are almost free of it
    assert floor.files["sample"]["der"] < 0.03
    # tst00 has four people, three or four at once for 8.9 s: segmentation-3.0 marks at most two
    assert floor.files["tst00"]["parts"]["missed_detection"] > 0.25 * floor.files["tst00"]["parts"]["total"]


def test_floor_turns_take_only_reference_speakers_and_an_extra_where_nobody_speaks(
    labeler: Labeler, meetings: Path
) -> None:
    ref, _ = reference(meetings, "dev01")
    turns = floor_turns(labeler.segmentation, labeler.config, meetings / "dev01.wav", ref)
    assert {who for _, _, who in turns} <= {who for _, _, who in ref} | {EXTRA}
    assert {who for _, _, who in ref} <= {who for _, _, who in turns}
    extra = [(a, b) for a, b, who in turns if who == EXTRA]
    for a, b in extra:  # only where no reference turn covers the middle of it
        mid = (a + b) / 2
        assert not any(s <= mid < e for s, e, _ in ref), (a, b)


def test_eval_labels_floor_command_prints_and_writes_json(meetings: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "floor.json"

    def no_embedding_model(*_a: object, **_k: object) -> None:
        raise AssertionError("--floor loaded an embedding model it never uses")

    monkeypatch.setattr("engine.models.load_model", no_embedding_model)
    args = _cli(["eval-labels", str(meetings), "--floor", "--no-progress", "--json", str(out)])
    assert args.func(args) == 0
    data = json.loads(out.read_text())
    assert data["pooled"]["overlap_scored"]["confusion"] == 0.0
    assert set(data["files"]) == {p.stem for p in meetings.glob("*.rttm")}
    assert data["notes"][0].startswith("identity floor")
    assert "counts_right" not in data  # the floor takes the reference's speakers: no count to get right
    assert "POOLED" in capsys.readouterr().out


def test_eval_labels_wants_a_hypothesis_folder_or_the_floor_not_both(meetings: Path, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["eval-labels", str(meetings)], ["eval-labels", str(meetings), str(tmp_path), "--floor"]):
        args = _cli(argv)
        assert args.func(args) == 2
        assert "give HYP_DIR or --floor" in capsys.readouterr().err


def test_the_floor_names_the_reference_whose_audio_is_missing(labeler: Labeler, meetings: Path, tmp_path: Path) -> None:
    (tmp_path / "dev00.rttm").write_text((meetings / "dev00.rttm").read_text())
    with pytest.raises(LabelingError, match=r"no audio for dev00 .*<uri>\.wav"):
        score_floor(tmp_path, labeler.segmentation, labeler.config)


def test_the_floor_runs_the_segmentation_alone(labeler: Labeler, meetings: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Speech and speaker count come from segmentation-3.0 only: the floor never asks for an embedding."""
    def refuse(waveforms: object) -> None:
        raise AssertionError("the floor embedded speech it never uses")

    monkeypatch.setattr(labeler.model, "embed_batch", refuse)
    ref, _ = reference(meetings, "sample")
    turns = floor_turns(labeler.segmentation, labeler.config, meetings / "sample.wav", ref)
    assert {who for _, _, who in ref} <= {who for _, _, who in turns}
