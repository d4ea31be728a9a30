"""Speech: an offline synthesised spoken-intent corpus, log-mel features and a small audio encoder.

- :mod:`~contrastkit.speech.corpus`: espeak-ng / flite synthesis, sox resampling and perturbation,
  a cached manifest and a speaker-disjoint split (:func:`synthesize_corpus`).
- :mod:`~contrastkit.speech.features`: checked wav loading, 80-bin log-mel features (25 ms / 10 ms).
- :mod:`~contrastkit.speech.encoders`: :class:`AudioEncoder` (conv + GRU + masked mean pooling).
"""

from contrastkit.speech.corpus import INTENTS, Utterance, read_manifest, synthesis_available, synthesize_corpus
from contrastkit.speech.encoders import AudioEncoder
from contrastkit.speech.features import load_wav, log_mel, pad_features

__all__ = ["INTENTS", "AudioEncoder", "Utterance", "load_wav", "log_mel", "pad_features", "read_manifest",
           "synthesis_available", "synthesize_corpus"]
