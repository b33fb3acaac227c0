"""Loading audio: every source type, format, sample rate and bad input, on real recordings."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
import torch

from engine.audio import load_audio
from engine.errors import AudioDecodeError, AudioTooLongError, EmptyAudioError, InvalidSamplesError
from engine.waveform import Waveform
from tests.engine.encoders import PYAV_FORMATS, best_correlation, encode_pyav, encode_vorbis

UTTERANCE = "verification/en/1688/1688-142285-0000.flac"  # 15.0 s of read speech


@pytest.fixture(scope="module")
def speech_file(shared_data: Path) -> Path:
    """A real 16 kHz FLAC utterance."""
    return shared_data / UTTERANCE


@pytest.fixture(scope="module")
def speech(speech_file: Path) -> np.ndarray:
    """Its samples as libsndfile reads them."""
    x, sr = sf.read(str(speech_file), dtype="float32")
    assert sr == 16_000
    return x


def corr(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised correlation of two equally long signals."""
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


def test_flac_path_loads_as_16k_mono_float32(speech_file: Path, speech: np.ndarray) -> None:
    wav = load_audio(speech_file)
    assert wav.sample_rate == 16_000 and wav.samples.dtype == np.float32 and wav.samples.ndim == 1
    assert wav.duration == pytest.approx(15.0, abs=1e-3)
    np.testing.assert_allclose(wav.samples, speech, atol=1e-6)
    np.testing.assert_array_equal(load_audio(str(speech_file)).samples, wav.samples)


def test_bytes_give_the_same_audio_as_the_path(speech_file: Path) -> None:
    np.testing.assert_array_equal(load_audio(speech_file.read_bytes()).samples, load_audio(speech_file).samples)


@pytest.mark.parametrize(
    ("rate", "subtype", "channels", "min_corr"),
    [
        (16_000, "PCM_U8", 1, 0.98),  # 8-bit
        (16_000, "PCM_24", 1, 0.9999),  # 24-bit
        (48_000, "PCM_16", 1, 0.999),
        (44_100, "FLOAT", 2, 0.999),  # stereo float
        (22_050, "PCM_16", 6, 0.999),  # multichannel
        (8_000, "PCM_16", 1, 0.999),  # telephone band: compared with the 8 kHz version of the speech
    ],
)
def test_any_rate_depth_and_channel_count_keeps_duration_and_content(
    tmp_path: Path, speech: np.ndarray, rate: int, subtype: str, channels: int, min_corr: float
) -> None:
    x = soxr.resample(speech, 16_000, rate) if rate != 16_000 else speech
    data = np.stack([x * (1.0 - 0.1 * c) for c in range(channels)], axis=1)
    path = tmp_path / f"take_{rate}_{subtype}_{channels}.wav"
    sf.write(str(path), data, rate, subtype=subtype)
    wav = load_audio(path)
    assert wav.duration == pytest.approx(15.0, abs=0.002)
    expected = soxr.resample(x, rate, 16_000) if rate != 16_000 else speech
    assert corr(wav.samples, expected) > min_corr
    mean_gain = np.mean([1.0 - 0.1 * c for c in range(channels)])  # channels are averaged, not summed
    assert np.std(wav.samples) == pytest.approx(mean_gain * np.std(expected), rel=0.02)


@pytest.mark.parametrize("kind", sorted(PYAV_FORMATS))
def test_lossy_formats_made_with_ffmpeg_decode(tmp_path: Path, speech: np.ndarray, kind: str) -> None:
    path = encode_pyav(speech, 16_000, kind, tmp_path / f"take{PYAV_FORMATS[kind][3]}")
    wav = load_audio(path)
    assert wav.duration == pytest.approx(15.0, abs=0.08)
    assert best_correlation(speech, wav.samples) > 0.8  # lossy codecs keep the waveform only roughly (opus 0.89)
    np.testing.assert_array_equal(load_audio(path.read_bytes()).samples, wav.samples)


def test_ogg_vorbis_made_with_libsndfile_decodes(tmp_path: Path, speech: np.ndarray) -> None:
    wav = load_audio(encode_vorbis(speech, 16_000, tmp_path / "take.ogg"))
    assert wav.duration == pytest.approx(15.0, abs=0.08)
    assert best_correlation(speech, wav.samples) > 0.9


def test_common_voice_mp3_at_48k_loads(shared_data: Path) -> None:
    path = min((shared_data / "verification" / "zh-cv").glob("*/*.mp3"))
    wav = load_audio(path)
    info = sf.info(str(path))
    assert info.samplerate == 48_000
    assert wav.duration == pytest.approx(info.duration, abs=0.06)
    assert np.sqrt(np.mean(wav.samples**2)) > 1e-3


@pytest.mark.parametrize(
    ("dtype", "scale"),
    [(np.int16, 32767), (np.int32, 2**31 - 1), (np.int8, 127), (np.float64, 1.0), (np.float32, 1.0)],
)
def test_arrays_are_scaled_to_full_scale_one(speech: np.ndarray, dtype: type, scale: float) -> None:
    arr = np.round(speech * scale).astype(dtype) if scale != 1.0 else speech.astype(dtype)
    wav = load_audio(arr, 16_000)
    assert np.max(np.abs(wav.samples - speech)) < 2.5 / scale + 1e-6


def test_uint8_array_is_offset_binary(speech: np.ndarray) -> None:
    arr = np.clip(np.round(speech * 127) + 128, 0, 255).astype(np.uint8)
    assert np.max(np.abs(load_audio(arr, 16_000).samples - speech)) < 2.5 / 127


def test_stereo_array_and_resampling(speech: np.ndarray) -> None:
    x = soxr.resample(speech, 16_000, 44_100)
    wav = load_audio(np.stack([x, 0.5 * x], axis=1), 44_100)
    assert wav.duration == pytest.approx(15.0, abs=1e-3)
    assert corr(wav.samples, speech) > 0.999
    assert np.std(wav.samples) == pytest.approx(0.75 * np.std(speech), rel=0.01)


def test_array_needs_its_sample_rate(speech: np.ndarray) -> None:
    with pytest.raises(TypeError, match="sample_rate"):
        load_audio(speech)


def test_pyannote_mapping_with_a_torch_tensor(speech: np.ndarray) -> None:
    x = soxr.resample(speech, 16_000, 48_000)
    tensor = torch.from_numpy(np.stack([x, x]))  # (channels, n)
    wav = load_audio({"waveform": tensor, "sample_rate": 48_000})
    assert wav.duration == pytest.approx(15.0, abs=1e-3)
    assert corr(wav.samples, speech) > 0.999
    one = load_audio({"waveform": torch.from_numpy(speech)[None, :], "sample_rate": 16_000})
    np.testing.assert_allclose(one.samples, speech, atol=1e-7)


def test_waveform_passes_through(speech: np.ndarray) -> None:
    wav = load_audio(Waveform(speech))
    np.testing.assert_array_equal(wav.samples, speech)
    assert load_audio(Waveform(soxr.resample(speech, 16_000, 8_000), 8_000)).duration == pytest.approx(15.0, abs=1e-3)


# ---- bad input ---------------------------------------------------------------------------------------


def test_empty_file_and_empty_bytes(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(EmptyAudioError):
        load_audio(path)
    with pytest.raises(EmptyAudioError):
        load_audio(b"")


def test_wav_with_no_frames_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "noframes.wav"
    sf.write(str(path), np.zeros(0, np.float32), 16_000, subtype="PCM_16")
    with pytest.raises(EmptyAudioError):
        load_audio(path)


@pytest.mark.parametrize("shape", [(0,), (0, 2)])
def test_zero_length_array_is_empty(shape: tuple[int, ...]) -> None:
    with pytest.raises(EmptyAudioError):
        load_audio(np.zeros(shape, np.float32), 16_000)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_samples_are_refused(speech: np.ndarray, bad: float) -> None:
    x = speech.copy()
    x[1000] = bad
    with pytest.raises(InvalidSamplesError):
        load_audio(x, 16_000)
    with pytest.raises(InvalidSamplesError):
        load_audio({"waveform": x[None, :], "sample_rate": 16_000})


def test_float_wav_file_holding_nan_is_refused(tmp_path: Path, speech: np.ndarray) -> None:
    x = speech.copy()
    x[5000:5010] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(str(path), x, 16_000, subtype="FLOAT")
    with pytest.raises(InvalidSamplesError):
        load_audio(path)


def test_flac_cut_inside_its_header_is_undecodable(tmp_path: Path, speech_file: Path) -> None:
    path = tmp_path / "cut.flac"
    path.write_bytes(speech_file.read_bytes()[:100])
    with pytest.raises(AudioDecodeError, match="cut.flac"):
        load_audio(path)


@pytest.mark.parametrize("fmt", ["FLAC", "WAV"])
def test_file_cut_halfway_keeps_the_audio_before_the_cut(
    tmp_path: Path, speech: np.ndarray, fmt: str
) -> None:
    buf = io.BytesIO()
    sf.write(buf, speech, 16_000, format=fmt, subtype="PCM_16")
    data = buf.getvalue()
    wav = load_audio(data[: len(data) // 2])
    assert 0.3 * 15.0 < wav.duration < 0.65 * 15.0
    n = len(wav.samples) - 1600  # the last decoded frame may be partial
    assert corr(wav.samples[:n], speech[:n]) > 0.999


def test_random_bytes_are_undecodable(tmp_path: Path) -> None:
    path = tmp_path / "noise.flac"
    path.write_bytes(np.random.default_rng(7).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    with pytest.raises(AudioDecodeError, match="noise.flac"):
        load_audio(path)


@pytest.mark.parametrize(
    "content",
    [b"this is a text file, not a recording\n" * 40, b"\x89PNG\r\n\x1a\n" + bytes(64) + b"IEND\xaeB`\x82"],
    ids=["text", "png"],
)
def test_wrong_container_names_the_file_and_the_formats_that_work(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "voice.wav"
    path.write_bytes(content)
    with pytest.raises(AudioDecodeError) as info:
        load_audio(path)
    message = str(info.value)
    assert "voice.wav" in message and "WAV" in message and "FLAC" in message and "MP3" in message


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError, match="no such file"):
        load_audio(tmp_path / "missing.flac")


def test_url_like_path_is_never_fetched(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError):
        load_audio("http://127.0.0.1:9/voice.wav")


# ---- long input ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ten_minute_file(tmp_path_factory: pytest.TempPathFactory, speech: np.ndarray) -> Path:
    """Real speech tiled to 10 minutes, 48 kHz stereo 16-bit WAV (230 MB if decoded whole as float32)."""
    x = soxr.resample(speech, 16_000, 48_000)  # 15 s
    path = tmp_path_factory.mktemp("long") / "ten_minutes.wav"
    with sf.SoundFile(str(path), "w", 48_000, 2, subtype="PCM_16") as f:
        for _ in range(40):
            f.write(np.stack([x, x], axis=1))
    return path


@pytest.mark.slow
def test_ten_minute_file_streams_in_bounded_memory(ten_minute_file: Path, speech: np.ndarray) -> None:
    tracemalloc.start()
    try:
        wav = load_audio(ten_minute_file, max_duration_s=600.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert wav.duration == pytest.approx(600.0, abs=0.01)
    assert peak < 110e6  # the result alone is 38 MB; decoding it whole would take 230 MB or more
    middle = wav.samples[16_000 * 300 : 16_000 * 315]  # the 21st copy of the utterance
    assert corr(middle, speech) > 0.999


def test_too_long_file_is_refused_from_its_header(ten_minute_file: Path) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(AudioTooLongError) as info:
            load_audio(ten_minute_file, max_duration_s=60.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "600" in str(info.value) and "60" in str(info.value)
    assert peak < 5e6  # refused before decoding anything


def test_too_long_compressed_stream_and_array_are_refused(tmp_path: Path, speech: np.ndarray) -> None:
    path = encode_pyav(speech, 16_000, "m4a", tmp_path / "take.m4a")
    with pytest.raises(AudioTooLongError):
        load_audio(path, max_duration_s=10.0)
    with pytest.raises(AudioTooLongError):
        load_audio(speech, 16_000, max_duration_s=10.0)
    assert load_audio(speech, 16_000, max_duration_s=15.0).duration == pytest.approx(15.0)
