"""Waveform loading (checked) and log-mel features: 80 mel bins, 25 ms windows, 10 ms hop at 16 kHz.

The mel filter bank is librosa's (Slaney mel scale, area-normalised filters, as in Whisper and most SLU
front-ends); the STFT is ``torch.stft`` with a Hann window, so features are computed batched in torch.
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

SAMPLE_RATE = 16_000
N_FFT, WIN, HOP, N_MELS = 400, 400, 160, 80  # 25 ms / 10 ms at 16 kHz


def load_wav(path: str | os.PathLike[str], *, sample_rate: int = SAMPLE_RATE) -> Tensor:
    """A mono wav file as a float32 ``(samples,)`` tensor in [-1, 1].

    Raises:
        ValueError: the file's sample rate is not ``sample_rate`` or it has more than one channel
            (resample / downmix first, e.g. ``sox in.wav -r 16000 -c 1 out.wav``); an empty file.
    """
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    if rate != sample_rate:
        raise ValueError(f"path: {path} is sampled at {rate} Hz, expected {sample_rate} Hz "
                         f"(sox in.wav -r {sample_rate} out.wav)")
    if data.shape[1] != 1:
        raise ValueError(f"path: {path} has {data.shape[1]} channels, expected mono (sox in.wav -c 1 out.wav)")
    if data.shape[0] == 0:
        raise ValueError(f"path: {path} holds no samples")
    return torch.from_numpy(np.ascontiguousarray(data[:, 0]))


@lru_cache(maxsize=4)
def _mel_bank(sample_rate: int, n_fft: int, n_mels: int) -> Tensor:
    import librosa

    return torch.from_numpy(librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels)).float()


def log_mel(wave: Tensor, *, sample_rate: int = SAMPLE_RATE, n_mels: int = N_MELS) -> Tensor:
    """Log-mel spectrogram ``log(mel power + 1e-6)``: ``(samples,)`` -> ``(n_mels, frames)``, or batched
    ``(B, samples)`` -> ``(B, n_mels, frames)``; frames = ``1 + samples // 160`` (centred STFT).

    Raises:
        ValueError: ``wave`` is not a 1-D / 2-D floating tensor, or holds fewer than 400 samples (25 ms).
    """
    if not isinstance(wave, Tensor) or not wave.is_floating_point() or wave.dim() not in (1, 2):
        raise ValueError(f"wave: expected a float tensor (samples,) or (B, samples), got "
                         f"{getattr(wave, 'dtype', type(wave).__name__)} {tuple(getattr(wave, 'shape', ()))}")
    if wave.shape[-1] < WIN:
        raise ValueError(f"wave: expected at least {WIN} samples (25 ms), got {wave.shape[-1]}")
    # centred frames with zero padding, as librosa's default (torch's default would reflect the edges)
    spec = torch.stft(wave.float(), N_FFT, HOP, WIN, window=torch.hann_window(WIN, device=wave.device),
                      center=True, pad_mode="constant", return_complex=True)
    power = spec.abs().pow(2)
    mel = _mel_bank(sample_rate, N_FFT, n_mels).to(wave.device) @ power
    return torch.log(mel + 1e-6)


def pad_features(features: list[Tensor], max_frames: int | None = None) -> tuple[Tensor, Tensor]:
    """Stack ``(n_mels, T_i)`` features into ``(B, n_mels, T)`` (zero-padded / cut at ``max_frames``) and
    their lengths ``(B,)``."""
    if not features:
        raise ValueError("features: expected at least one utterance")
    frames = [min(f.shape[1], max_frames) if max_frames else f.shape[1] for f in features]
    out = torch.zeros(len(features), features[0].shape[0], max(frames))
    for i, (f, t) in enumerate(zip(features, frames, strict=True)):
        out[i, :, :t] = f[:, :t]
    return out, torch.tensor(frames)


__all__ = ["HOP", "N_MELS", "SAMPLE_RATE", "WIN", "load_wav", "log_mel", "pad_features"]
