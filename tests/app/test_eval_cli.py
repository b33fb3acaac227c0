"""`vomid eval` on a small real trial list: printed figures, JSON, DET plot, calibration, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main

SPEAKERS = {"1688": "142285", "1998": "15444", "2414": "128291"}


def _utt(shared_data: Path, spk: str, i: int) -> str:
    name = sorted((shared_data / "verification" / "en" / spk).glob("*.flac"))[i]
    return str(name.relative_to(shared_data))


@pytest.fixture()
def trial_list(shared_data: Path, tmp_path: Path) -> Path:
    lines = []
    for spk in SPEAKERS:
        enrol = ",".join(_utt(shared_data, spk, i) for i in range(3))
        for other in SPEAKERS:
            for i in (4, 5):
                lines.append(f"{int(other == spk)} {enrol} {_utt(shared_data, other, i)}")
    path = tmp_path / "small.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOMID_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("VOMID_THRESHOLD", raising=False)
    monkeypatch.delenv("VOMID_SNORM_THRESHOLD", raising=False)


def test_eval_prints_figures_and_writes_json_and_det(
    trial_list: Path, shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, det, thr = tmp_path / "out.json", tmp_path / "det.png", tmp_path / "thresholds.json"
    rc = main(["eval", str(trial_list), "--root", str(shared_data), "--model", "ge2e", "--json", str(out),
               "--det", str(det), "--calibrate-far", "0.0", "--threshold-file", str(thr)])
    printed = capsys.readouterr()
    assert rc == 0
    assert "EER        0.00 %" in printed.out
    assert "trials     18 (6 target, 12 non-target)" in printed.out
    assert "rejected   0 trials" in printed.out
    assert "FAR" in printed.out and "FRR" in printed.out
    assert "score" in printed.err  # the progress bar went to stderr
    data = json.loads(out.read_text())
    assert data["model"] == "ge2e" and data["eer"] == 0.0 and 0.0 <= data["min_dcf"] <= 1.0
    assert (data["n_trials"], data["n_target"], data["n_rejected"]) == (18, 6, 0)
    assert det.read_bytes()[:4] == b"\x89PNG"
    # the calibrated threshold is written for ge2e on the cosine scale and used by the next run
    stored = json.loads(thr.read_text())["models"]["ge2e"]["cosine"]
    assert stored["far"] == 0.0 and stored["source"] == str(trial_list)
    rc = main(["eval", str(trial_list), "--root", str(shared_data), "--model", "ge2e", "--threshold-file",
               str(thr), "--json", "-", "--no-progress"])
    printed = capsys.readouterr()
    again = json.loads(printed.out)  # stdout holds the document alone; the report went to stderr
    assert "EER        0.00 %" in printed.err
    assert rc == 0 and again["threshold"] == pytest.approx(stored["threshold"])
    assert again["threshold_source"] == str(thr) and again["far"] == 0.0


def test_eval_names_the_line_of_a_missing_file(
    trial_list: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trial_list.write_text(trial_list.read_text() + "0 verification/en/1688/missing.flac verification/en/x.flac\n")
    rc = main(["eval", str(trial_list), "--root", str(shared_data), "--model", "ge2e", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "small.txt line 19: file not found: verification/en/1688/missing.flac" in err


def test_eval_calibration_needs_a_file(trial_list: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["eval", str(trial_list), "--root", str(shared_data), "--calibrate-far", "0.01"])
    assert rc == 2 and "--threshold-file" in capsys.readouterr().err


def test_eval_counts_unreadable_audio_as_rejections_and_names_the_files(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    for folder in ("verification", "cohort"):
        (root / folder).symlink_to(shared_data / folder)  # real audio, not copied
    (root / "empty.flac").write_bytes(b"")
    (root / "random.flac").write_bytes(bytes(range(256)) * 64)
    en = (shared_data / "trials" / "en.txt").read_text().splitlines()
    real = [*en[:4], *en[-4:]]  # 4 target and 4 non-target trials of the shipped list
    enrol, test = real[0].split()[1:]
    lines = [*real, f"1 {enrol} empty.flac", f"1 random.flac {test}"]
    trials = tmp_path / "mixed.txt"
    trials.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.json"
    rc = main(["eval", str(trials), "--root", str(root), "--model", "ge2e", "--json", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert rc == 0
    assert "trials     10 (6 target, 4 non-target)" in printed
    assert "rejected   2 trials (empty_audio 1, enrol_undecodable_audio 1)" in printed
    assert "unreadable 2 files (rejected like quality-gate failures):\n  empty.flac: empty_audio: " in printed
    assert "\n  random.flac: undecodable_audio: could not decode" in printed
    data = json.loads(out.read_text())
    assert (data["n_trials"], data["n_rejected"]) == (10, 2)
    assert data["rejected_by_code"] == {"empty_audio": 1, "enrol_undecodable_audio": 1}
    assert sorted(data["unreadable_files"]) == ["empty.flac", "random.flac"]
    assert "is an empty file" in data["unreadable_files"]["empty.flac"]
    # the eight real trials are scored: all their files embedded, none rejected
    assert data["files_rejected_by_code"] == {"empty_audio": 1, "undecodable_audio": 1}
