"""Evaluation of a trial list through the facade with the offline model on real speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.config import EngineConfig, ModelConfig
from engine.evaluation import evaluate
from engine.facade import Engine
from engine.models import load_model
from engine.trials import parse_trials

SPEAKERS = ["1688", "1998", "2033"]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(EngineConfig(model=ModelConfig(model_id="ge2e")), model=load_model(ModelConfig(model_id="ge2e")))


class CountingEngine:
    """The facade, counting how often each file is embedded."""

    def __init__(self, inner: Engine) -> None:
        self.inner = inner
        self.calls: dict[str, int] = {}
        self.model_id = inner.model_id

    def embed(self, audio, sample_rate=None, *, purpose="verify"):
        self.calls[Path(audio).name] = self.calls.get(Path(audio).name, 0) + 1
        return self.inner.embed(audio, sample_rate, purpose=purpose)

    def score(self, enrol, test):
        return self.inner.score(enrol, test)


CHAPTERS = {"1688": "142285", "1998": "15444", "2033": "164914"}


def _utt(spk: str, i: int) -> str:
    return f"verification/en/{spk}/{spk}-{CHAPTERS[spk]}-{i:04d}.flac"


@pytest.fixture(scope="module")
def root(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with links to a few real utterances and one file of silence."""
    base = tmp_path_factory.mktemp("root")
    for spk in SPEAKERS:
        for i in range(4):
            src = shared_data / _utt(spk, i)
            dst = base / _utt(spk, i)
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.symlink_to(src)
    sf.write(base / "silence.wav", np.zeros(16000 * 4, np.float32), 16000)
    return base


def _lines() -> str:
    out = []
    for spk in SPEAKERS:
        enrol = ",".join(_utt(spk, i) for i in range(3))
        for other in SPEAKERS:
            out.append(f"{int(other == spk)} {enrol} {_utt(other, 3)}")
        out.append(f"1 {_utt(spk, 0)} silence.wav")
    out.append(f"0 silence.wav {_utt('1688', 3)}")
    return "\n".join(out) + "\n"


def test_evaluation_separates_real_speakers_and_counts_rejections(engine: Engine, root: Path) -> None:
    counting = CountingEngine(engine)
    steps: list[tuple[str, int, int]] = []
    trials = parse_trials(_lines())
    result = evaluate(counting, trials, root, threshold=engine.threshold_for(False),
                      progress=lambda s, c, t: steps.append((s, c, t)))
    assert max(counting.calls.values()) == 1  # every file embedded once
    assert len(counting.calls) == 3 * 4 + 1
    # the three silent tests and the silent enrolment are rejected, never accepted
    assert result.n_rejected == 4
    assert result.rejected_by_code == {"enrol_no_speech": 1, "no_speech": 3}
    assert result.rejected_files == {"silence.wav": "no_speech"}
    assert np.isneginf(result.scores[[3, 7, 11, 12]]).all()
    assert result.summary.n_trials == 13 and result.summary.n_target == 6
    # the nine real trials are separated: the only errors are the three rejected genuine trials
    real = np.isfinite(result.scores)
    assert result.scores[real & (result.labels == 1)].min() > result.scores[real & (result.labels == 0)].max()
    # half the targets are rejected, so FRR stays 0.5 until FAR reaches 0.5: EER 0.5
    assert result.summary.eer == pytest.approx(0.5)
    assert result.frr is not None and result.frr >= 0.5
    assert steps[-1] == ("score", 13, 13) and ("embed", 13, 13) in steps
    data = result.as_dict()
    assert {"model", "eer", "min_dcf", "n_trials", "n_target", "n_rejected", "far", "frr"} <= data.keys()
    assert data["model"] == "ge2e"


def test_unreadable_files_are_rejections_and_leave_the_other_trials_alone(engine: Engine, root: Path) -> None:
    (root / "empty.wav").write_bytes(b"")
    (root / "noise.flac").write_bytes(np.random.default_rng(0).bytes(20_000))
    (root / "notes.wav").write_text("this is not audio\n" * 50)
    clean = [f"{int(o == s)} {_utt(s, 0)},{_utt(s, 1)} {_utt(o, 3)}" for s in SPEAKERS[:2] for o in SPEAKERS]
    bad = [
        f"1 {_utt('1688', 0)} empty.wav",  # unreadable test
        f"0 noise.flac {_utt('1998', 3)}",  # unreadable (only) enrolment take
        f"1 notes.wav,{_utt('2033', 1)} {_utt('2033', 3)}",  # one unreadable take of two: the other is used
    ]
    before = evaluate(engine, parse_trials("\n".join(clean)), root)
    mixed = [clean[0], bad[0], *clean[1:3], bad[1], *clean[3:], bad[2]]
    after = evaluate(engine, parse_trials("\n".join(mixed)), root)
    kept = [mixed.index(line) for line in clean]
    np.testing.assert_array_equal(after.scores[kept], before.scores)
    assert np.isneginf(after.scores[[1, 4]]).all() and np.isfinite(after.scores[-1])
    assert after.n_rejected == 2
    assert after.rejected_by_code == {"empty_audio": 1, "enrol_undecodable_audio": 1}
    assert set(after.unreadable_files) == {"empty.wav", "noise.flac", "notes.wav"}
    assert after.unreadable_files["empty.wav"].startswith("empty_audio: ")
    assert after.unreadable_files["noise.flac"].startswith("undecodable_audio: ")
    assert after.as_dict()["unreadable_files"] == after.unreadable_files
