"""Our CAM++ (and ERes2NetV2) compute exactly what ModelScope's copies compute, for the same weights.

Both networks get ONE random state dict (strict loading in both) and real fbank features of a
real recording; the embeddings must agree to 1e-4. This is what lets the official ModelScope
checkpoints run in our implementation without ModelScope's model code (which needs torchaudio).
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch

from engine.features import fbank
from engine.models.campplus import CAMPPlus
from engine.models.checkpoint import load_state_dict_strict
from engine.models.eres2netv2 import ERes2NetV2

_TORCHAUDIO_NAMES = ("torchaudio", "torchaudio.compliance", "torchaudio.compliance.kaldi")


class _Unusable(types.ModuleType):
    """A torchaudio stand-in whose every attribute access fails loudly."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # introspection (inspect, pickle) probes dunders: plain "absent"
            raise AttributeError(name)
        raise RuntimeError(f"the torchaudio stand-in was used ({self.__name__}.{name})")


def _import_modelscope(module: str) -> Any:
    """Import one of ModelScope's speaker-model modules with a stand-in torchaudio, then restore sys.modules.

    ModelScope's DTDNN.py and ERes2NetV2.py import ``torchaudio.compliance.kaldi`` at module level
    for their feature wrapper classes only; the network classes tested here never touch it (the
    stand-in raises if they did). torchaudio cannot be installed beside the CPU torch used here.
    """
    saved = {name: sys.modules.get(name) for name in _TORCHAUDIO_NAMES}
    root, compliance, kaldi = (_Unusable(name) for name in _TORCHAUDIO_NAMES)
    object.__setattr__(root, "compliance", compliance)
    object.__setattr__(compliance, "kaldi", kaldi)
    try:
        sys.modules.update(dict(zip(_TORCHAUDIO_NAMES, (root, compliance, kaldi))))
        return importlib.import_module(f"modelscope.models.audio.sv.{module}")
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous


def _random_state(template: dict[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
    """Random values for every key: scaled weights, positive variances, non-trivial batch-norm stats."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in template.items():
        if not value.dtype.is_floating_point:
            state[key] = value.clone()
        elif key.endswith("running_var"):
            state[key] = torch.rand(value.shape, generator=gen) + 0.5
        elif key.endswith(("running_mean", "bias")):
            state[key] = torch.randn(value.shape, generator=gen) * 0.1
        elif value.dim() == 1:  # batch-norm scale
            state[key] = torch.rand(value.shape, generator=gen) + 0.5
        else:
            fan_in = value[0].numel()
            state[key] = torch.randn(value.shape, generator=gen) * (2.0 / fan_in) ** 0.5
    return state


@pytest.fixture(scope="module")
def modelscope_dtdnn() -> Iterator[Any]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # correctness only; one thread is quickest on a shared machine
    yield _import_modelscope("DTDNN")
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def features(shared_data: Path) -> tuple[np.ndarray, np.ndarray]:
    folder = shared_data / "verification" / "zh" / "S0913"
    a, _ = sf.read(folder / "BAC009S0913W0300.wav", dtype="float32")
    b, _ = sf.read(folder / "BAC009S0913W0302.wav", dtype="float32")
    return fbank(a), fbank(b)


def test_same_embedding_as_modelscope_campplus(modelscope_dtdnn: Any, features: tuple[np.ndarray, np.ndarray]) -> None:
    theirs = modelscope_dtdnn.CAMPPlus(feat_dim=80, embedding_size=192).eval()
    ours = CAMPPlus(feat_dim=80, embedding_size=192).eval()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    state = _random_state(theirs.state_dict(), seed=7)
    theirs.load_state_dict(state, strict=True)
    ours.load_state_dict(state, strict=True)
    embeddings = []
    with torch.inference_mode():
        for feats in features:
            x = torch.from_numpy(feats).unsqueeze(0)
            want, got = theirs(x), ours(x)
            assert got.shape == (1, 192)
            np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-4, rtol=0)
            embeddings.append(got[0])
    # the comparison means something: different recordings give clearly different embeddings
    assert (embeddings[0] - embeddings[1]).abs().max() > 1e-2


def test_batched_forward_equals_modelscope_too(modelscope_dtdnn: Any, features: tuple[np.ndarray, np.ndarray]) -> None:
    theirs = modelscope_dtdnn.CAMPPlus(feat_dim=80, embedding_size=192).eval()
    ours = CAMPPlus(feat_dim=80, embedding_size=192).eval()
    state = _random_state(theirs.state_dict(), seed=11)
    theirs.load_state_dict(state, strict=True)
    ours.load_state_dict(state, strict=True)
    n = 250  # 2.5 s crops; 250 frames exercise the partial last 100-frame segment of CAM pooling
    x = torch.from_numpy(np.stack([features[0][:n], features[1][:n], features[0][-n:]]))
    with torch.inference_mode():
        np.testing.assert_allclose(ours(x).numpy(), theirs(x).numpy(), atol=1e-4, rtol=0)


def test_missing_or_extra_key_is_refused_by_name() -> None:
    net = CAMPPlus(feat_dim=80, embedding_size=192)
    state = _random_state(net.state_dict(), seed=3)
    missing = dict(state)
    del missing["xvector.block2.tdnnd5.cam_layer.linear_local.weight"]
    with pytest.raises(ValueError, match=r"missing keys: xvector\.block2\.tdnnd5\.cam_layer\.linear_local\.weight"):
        load_state_dict_strict(net, missing)
    extra = dict(state, **{"head.conv9.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match=r"unexpected keys: head\.conv9\.weight"):
        load_state_dict_strict(net, extra)
    wrong = dict(state, **{"head.conv1.weight": torch.zeros(3, 3)})
    with pytest.raises(ValueError, match=r"shape mismatches: head\.conv1\.weight"):
        load_state_dict_strict(net, wrong)


def test_same_embedding_as_modelscope_eres2netv2(modelscope_dtdnn: Any,
                                                 features: tuple[np.ndarray, np.ndarray]) -> None:
    module = _import_modelscope("ERes2NetV2")  # modelscope_dtdnn: one thread, restored afterwards
    theirs = module.ERes2NetV2(feat_dim=80, embed_dim=192, baseWidth=26, scale=2, expansion=2).eval()
    ours = ERes2NetV2(feat_dim=80, embedding_size=192, baseWidth=26, scale=2, expansion=2).eval()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    state = _random_state(theirs.state_dict(), seed=5)
    theirs.load_state_dict(state, strict=True)
    ours.load_state_dict(state, strict=True)
    x = torch.from_numpy(np.stack([features[0][:300], features[1][:300]]))
    with torch.inference_mode():
        want, got = theirs(x.clone()), ours(x.clone())  # theirs unsqueezes its input in place
    assert got.shape == (2, 192)
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-4, rtol=0)
    assert (got[0] - got[1]).abs().max() > 1e-2
