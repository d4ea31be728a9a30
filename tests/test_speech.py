"""contrastkit.speech: synthesis (manifest, 16 kHz mono, speaker-disjoint), wav checks, log-mel vs librosa."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from contrastkit.speech import AudioEncoder, load_wav, log_mel, pad_features, read_manifest, synthesize_corpus
from contrastkit.speech.corpus import INTENTS, fill


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("speech")
    return synthesize_corpus(intents=("set_alarm", "call"), per_voice=1, voices=4, test_fraction=0.5, seed=3,
                             cache_dir=root)


@pytest.mark.requires_speech_synthesis
def test_corpus_is_16k_mono_speaker_disjoint_and_cached(corpus):
    folder, rows = corpus
    assert len(rows) == 8 and {r.intent for r in rows} == {"set_alarm", "call"}
    train = {r.voice for r in rows if r.split == "train"}
    test = {r.voice for r in rows if r.split == "test"}
    assert train and test and not train & test  # no voice on both sides
    for r in rows:
        data, rate = sf.read(str(folder / r.path), always_2d=True)
        assert rate == 16_000 and data.shape[1] == 1 and data.shape[0] > 8000  # > 0.5 s of speech
        assert np.abs(data).max() > 0.05
    assert read_manifest(folder / "manifest.jsonl") == rows
    again_folder, again = synthesize_corpus(intents=("set_alarm", "call"), per_voice=1, voices=4,
                                            test_fraction=0.5, seed=3, cache_dir=folder.parent)
    assert again_folder == folder and again == rows  # the cache answers: same manifest


def test_templates_fill_every_slot():
    import random

    rng = random.Random(0)
    for templates in INTENTS.values():
        for t in templates:
            assert "{" not in fill(t, rng)


def test_log_mel_equals_librosa():
    import librosa

    t = torch.arange(16_000) / 16_000
    wave = (0.3 * torch.sin(2 * torch.pi * 440 * t) + 0.05 * torch.randn(16_000)).float()
    ours = log_mel(wave)
    ref = librosa.feature.melspectrogram(y=wave.numpy(), sr=16_000, n_fft=400, hop_length=160, win_length=400,
                                         n_mels=80, power=2.0, pad_mode="constant")
    assert ours.shape == (80, 101)
    np.testing.assert_allclose(ours.numpy(), np.log(ref + 1e-6), atol=2e-3)
    assert log_mel(wave[None].repeat(2, 1)).shape == (2, 80, 101)


def test_bad_audio_is_named(tmp_path):
    sf.write(tmp_path / "8k.wav", np.zeros(8000, dtype=np.float32), 8000)
    sf.write(tmp_path / "stereo.wav", np.zeros((16000, 2), dtype=np.float32), 16000)
    with pytest.raises(ValueError, match=r"^path: .*8k.wav is sampled at 8000 Hz, expected 16000 Hz"):
        load_wav(tmp_path / "8k.wav")
    with pytest.raises(ValueError, match=r"^path: .*stereo.wav has 2 channels, expected mono"):
        load_wav(tmp_path / "stereo.wav")
    with pytest.raises(ValueError, match=r"^wave: expected at least 400 samples"):
        log_mel(torch.zeros(100))
    with pytest.raises(ValueError, match=r"^wave: expected a float tensor"):
        log_mel(torch.zeros(1000, dtype=torch.long))
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(ValueError, match=r"^manifest: .* lists no utterances"):
        read_manifest(tmp_path / "empty.jsonl")
    with pytest.raises(ValueError, match=r"^intents: unknown \['order_pizza'\]"):
        synthesize_corpus(intents=("order_pizza",), cache_dir=tmp_path)
    with pytest.raises(ValueError, match=r"^test_fraction: expected a number in \(0, 1\)"):
        synthesize_corpus(test_fraction=1.0, cache_dir=tmp_path)


def test_encoder_ignores_padding():
    torch.manual_seed(0)
    enc = AudioEncoder(hidden=16, out_dim=8).eval()
    f = torch.randn(80, 37)
    padded, lengths = pad_features([f, torch.randn(80, 60)])
    alone = enc(f[None], torch.tensor([37]))
    together = enc(padded, lengths)[:1]
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match=r"^features: expected \(B, 80, T\)"):
        enc(torch.randn(2, 40, 10))
