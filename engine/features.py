"""80-bin Kaldi log-mel filterbank features, as 3D-Speaker's models were trained on.

3D-Speaker (and ModelScope's CAM++ wrapper) call ``torchaudio.compliance.kaldi.fbank`` on
float samples in [-1, 1] (no 1 << 15 scaling) with the Kaldi defaults: 25 ms povey windows
every 10 ms, ``snip_edges=True``, pre-emphasis 0.97, DC removal, 512-point FFT, power
spectrum, mel bins from 20 Hz to Nyquist, log floored at float32 epsilon, no energy, and
``dither=0``. Each utterance is then mean-normalised over time. kaldi-native-fbank implements
the same computation without torchaudio (which cannot be installed here).
"""

from __future__ import annotations

from collections.abc import Sequence

import kaldi_native_fbank as knf
import numpy as np

from engine.errors import EmptyAudioError, InvalidSamplesError
from engine.waveform import SAMPLE_RATE

NUM_MEL_BINS = 80
FRAME_LENGTH_MS = 25.0
FRAME_SHIFT_MS = 10.0
FRAME_LENGTH = int(SAMPLE_RATE * FRAME_LENGTH_MS / 1000)  # 400 samples
FRAME_SHIFT = int(SAMPLE_RATE * FRAME_SHIFT_MS / 1000)  # 160 samples


def fbank_options(num_mel_bins: int = NUM_MEL_BINS, sample_rate: int = SAMPLE_RATE) -> knf.FbankOptions:
    """Kaldi fbank options equal to torchaudio's ``kaldi.fbank`` defaults with ``dither=0``.

    Parameters
    ----------
    num_mel_bins:
        Number of mel bins (80 for every 3D-Speaker model).
    sample_rate:
        Sample rate of the input in Hz.

    Returns
    -------
    knf.FbankOptions
        Options ready for ``knf.OnlineFbank``.
    """
    opts = knf.FbankOptions()
    opts.frame_opts.samp_freq = float(sample_rate)
    opts.frame_opts.frame_length_ms = FRAME_LENGTH_MS
    opts.frame_opts.frame_shift_ms = FRAME_SHIFT_MS
    opts.frame_opts.dither = 0.0  # knf's default is 3e-5; torchaudio's and 3D-Speaker's is 0
    opts.frame_opts.preemph_coeff = 0.97
    opts.frame_opts.remove_dc_offset = True
    opts.frame_opts.window_type = "povey"
    opts.frame_opts.round_to_power_of_two = True
    opts.frame_opts.snip_edges = True
    opts.mel_opts.num_bins = num_mel_bins
    opts.mel_opts.low_freq = 20.0
    opts.mel_opts.high_freq = 0.0
    opts.use_energy = False
    opts.energy_floor = 0.0
    opts.use_log_fbank = True
    opts.use_power = True
    return opts


_OPTIONS = fbank_options()


def num_frames(num_samples: int) -> int:
    """Number of fbank frames Kaldi produces for ``num_samples`` samples (``snip_edges=True``)."""
    if num_samples < FRAME_LENGTH:
        return 0
    return 1 + (num_samples - FRAME_LENGTH) // FRAME_SHIFT


def _check(samples: np.ndarray) -> np.ndarray:
    """Return the samples as contiguous 1-D float32, refusing empty or non-finite input."""
    x = np.ascontiguousarray(np.asarray(samples, dtype=np.float32).reshape(-1))
    if x.size < FRAME_LENGTH:
        raise EmptyAudioError(
            f"need at least {FRAME_LENGTH} samples ({FRAME_LENGTH_MS:g} ms) for one feature frame, got {x.size}"
        )
    if not np.isfinite(x).all():
        raise InvalidSamplesError("the samples hold NaN or infinite values")
    return x


def fbank(samples: np.ndarray, *, mean_norm: bool = True) -> np.ndarray:
    """Compute 80-bin Kaldi log-mel filterbank features of one 16 kHz utterance.

    Parameters
    ----------
    samples:
        Mono float samples in [-1, 1] at 16 kHz.
    mean_norm:
        Subtract the per-utterance mean of every bin (what 3D-Speaker's models expect).

    Returns
    -------
    np.ndarray
        ``(num_frames, 80)`` float32.

    Raises
    ------
    EmptyAudioError
        Fewer samples than one 25 ms frame.
    InvalidSamplesError
        NaN or infinite samples.
    """
    x = _check(samples)
    extractor = knf.OnlineFbank(_OPTIONS)
    extractor.accept_waveform(float(SAMPLE_RATE), x)
    extractor.input_finished()
    n = extractor.num_frames_ready
    feats = np.empty((n, NUM_MEL_BINS), dtype=np.float32)
    for i in range(n):
        feats[i] = extractor.get_frame(i)
    if mean_norm:
        feats -= feats.mean(axis=0, keepdims=True)
    return feats


def fbank_batch(waveforms: Sequence[np.ndarray], *, mean_norm: bool = True) -> list[np.ndarray]:
    """Compute :func:`fbank` for each waveform.

    Parameters
    ----------
    waveforms:
        Mono 16 kHz float waveforms, any lengths.
    mean_norm:
        Subtract each utterance's own mean.

    Returns
    -------
    list[np.ndarray]
        One ``(num_frames, 80)`` float32 array per waveform, in order.
    """
    return [fbank(w, mean_norm=mean_norm) for w in waveforms]
