"""`vomid label` shows how far it got on stderr, keeps stdout for the result, and is quiet with --no-progress."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _label(meeting: Path, data_dir: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VOMID_DATA_DIR": str(data_dir), "VOMID_LOG_TO_FILE": "false"}
    done = subprocess.run([sys.executable, "-m", "app.cli", "label", str(meeting), "--no-names", *flags], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done


def test_label_reports_seconds_labelled_on_stderr_only(shared_data: Path, tmp_path: Path) -> None:
    meeting = shared_data / "diarization" / "dev00.wav"  # a real 30 s meeting excerpt, two speakers
    shown = _label(meeting, tmp_path)
    assert "label dev00.wav:" in shown.stderr and "/30 [" in shown.stderr  # a bar over the excerpt's 30 s
    assert "label dev00.wav" not in shown.stdout
    assert shown.stdout.startswith("dev00: 2 speaker(s)")  # the result table, alone on stdout
    quiet = _label(meeting, tmp_path, "--no-progress")
    assert "label dev00.wav" not in quiet.stderr and "/30 [" not in quiet.stderr
    assert "dev00.wav: 2 speaker(s)" in quiet.stderr  # the one-line summary stays
    assert quiet.stdout == shown.stdout
