"""An offline spoken-intent corpus, synthesised reproducibly with espeak-ng and flite.

No real spoken-language-understanding corpus (FSC, SLURP, Speech Commands) ships offline, so utterances
are synthesised from intent phrase templates with the Debian text-to-speech engines: several espeak-ng
accents and voice variants and the flite voices, at several speaking rates, optionally perturbed with sox
(speed, added noise), resampled to 16 kHz mono with sox and cached on disk with a manifest
(``manifest.jsonl``: text, intent, voice, rate, seed, path). The split is **speaker-disjoint**: a voice's
utterances are all in train or all in test.

:func:`synthesize_corpus` needs the binaries ``espeak-ng``, ``flite`` and ``sox`` (``make data`` installs
them; :func:`synthesis_available` says whether they are present). Everything is seeded: the same
arguments give the same phrases, voices, rates and perturbations, so the cache key is their hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from contrastkit._optional_data import optional_data_hidden

SAMPLE_RATE = 16_000

# Intent -> phrase templates; ``{x}`` slots are filled from SLOTS. Words are shared across intents on
# purpose (``set``, ``the``, ``turn``, ``up``/``down``) so that the intent is not one keyword.
INTENTS: dict[str, tuple[str, ...]] = {
    "set_alarm": ("set an alarm for {time}", "wake me up at {time}", "please set my alarm to {time}"),
    "set_timer": ("set a timer for {minutes} minutes", "start a {minutes} minute timer", "time {minutes} minutes"),
    "play_music": ("play some {genre}", "put on {genre} music", "i want to hear some {genre}"),
    "stop_music": ("stop the music", "pause the song", "turn the music off"),
    "volume_up": ("turn the volume up", "make it louder", "increase the volume please"),
    "volume_down": ("turn the volume down", "make it quieter", "lower the volume please"),
    "lights_on": ("turn on the lights in the {room}", "switch the {room} lights on", "lights on in the {room}"),
    "lights_off": ("turn off the lights in the {room}", "switch the {room} lights off", "lights off in the {room}"),
    "weather": ("what is the weather like {day}", "will it rain {day}", "how cold is it {day}"),
    "call": ("call {name}", "phone {name} for me", "give {name} a ring"),
    "news": ("read me the news", "what are the headlines {day}", "tell me the latest news"),
    "taxi": ("book a taxi to the {place}", "order a cab to the {place}", "i need a ride to the {place}"),
}
SLOTS: dict[str, tuple[str, ...]] = {
    "time": ("six", "seven thirty", "noon", "nine in the morning", "five fifteen"),
    "minutes": ("five", "ten", "twenty", "three", "forty"),
    "genre": ("jazz", "rock", "classical", "pop", "blues"),
    "room": ("kitchen", "bedroom", "hall", "office", "garage"),
    "day": ("today", "tomorrow", "this evening", "on monday", "tonight"),
    "name": ("alice", "bob", "my mother", "doctor smith", "the office"),
    "place": ("airport", "station", "hospital", "city centre", "museum"),
}
# espeak-ng accents x variants, and flite's 16 kHz voices (kal is 8 kHz: resampled like the rest).
ESPEAK_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc", "en-gb-x-gbclan",
                  "en-gb-x-gbcwmd")
ESPEAK_VARIANTS = ("m1", "m3", "m5", "f1", "f3", "f5")
FLITE_VOICES = ("slt", "rms", "awb", "kal16")
RATES = (140, 170, 200)  # espeak-ng words per minute; flite gets the matching duration stretch


@dataclass(frozen=True)
class Utterance:
    """One manifest row: ``path`` is relative to the corpus folder."""

    text: str
    intent: str
    voice: str
    rate: int
    seed: int
    path: str
    split: str


def synthesis_available() -> bool:
    """Whether ``espeak-ng``, ``flite`` and ``sox`` are on the PATH (and optional data is not hidden)."""
    return not optional_data_hidden() and all(shutil.which(b) for b in ("espeak-ng", "flite", "sox"))


def all_voices() -> list[str]:
    """Every voice name: ``espeak:<accent>+<variant>`` and ``flite:<voice>``."""
    return [f"espeak:{a}+{v}" for a in ESPEAK_ACCENTS for v in ESPEAK_VARIANTS] + [f"flite:{v}" for v in FLITE_VOICES]


def fill(template: str, rng: random.Random) -> str:
    """``template`` with each ``{slot}`` replaced by a value drawn from :data:`SLOTS`."""
    out = template
    for slot, values in SLOTS.items():
        while "{" + slot + "}" in out:
            out = out.replace("{" + slot + "}", rng.choice(values), 1)
    return out


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({done.returncode}): {done.stderr.strip()[:300]}")


def _synthesize(text: str, voice: str, rate: int, out: Path, *, speed: float, noise: float) -> None:
    engine, _, name = voice.partition(":")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        if engine == "espeak":
            _run(["espeak-ng", "-v", name, "-s", str(rate), "-w", str(raw), text])
        elif engine == "flite":
            stretch = f"{170 / rate:.3f}"  # duration_stretch > 1 is slower speech
            _run(["flite", "-voice", name, "--setf", f"duration_stretch={stretch}", "-t", text, "-o", str(raw)])
        else:
            raise ValueError(f"voice: expected 'espeak:<voice>' or 'flite:<voice>', got {voice!r}")
        effects = ["speed", f"{speed:.3f}"] if speed != 1.0 else []
        if noise > 0:
            # white noise at the drawn amplitude; sox -R makes its generator repeatable (the same noise
            # sequence for every utterance, scaled by the seeded amplitude), so the corpus is reproducible
            noisy = Path(tmp) / "noise.wav"
            _run(["sox", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", str(noisy), *effects])
            mix = Path(tmp) / "mix.wav"
            _run(["sox", "-R", str(noisy), str(mix), "synth", "whitenoise", "vol", f"{noise:.4f}"])
            _run(["sox", "-m", str(noisy), str(mix), "-b", "16", str(out)])
        else:
            _run(["sox", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(out), *effects])


def _check_fraction(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"{name}: expected a number in (0, 1), got {value!r}")
    return float(value)


def default_cache() -> Path:
    """``$CONTRASTKIT_DATA/speech`` or ``~/.cache/contrastkit/speech``."""
    base = os.environ.get("CONTRASTKIT_DATA")
    return Path(base) / "speech" if base else Path.home() / ".cache" / "contrastkit" / "speech"


def synthesize_corpus(*, intents: tuple[str, ...] | None = None, per_voice: int = 2, voices: int = 24,
                      test_fraction: float = 0.25, perturb: bool = True, seed: int = 0,
                      cache_dir: str | os.PathLike[str] | None = None) -> tuple[Path, list[Utterance]]:
    """Synthesise (or load from the cache) the spoken-intent corpus.

    Args:
        intents: names from :data:`INTENTS` (default: all 12).
        per_voice: utterances per intent and voice (each a freshly filled template at a drawn rate).
        voices: how many voices (drawn from :func:`all_voices`, espeak-ng and flite mixed).
        test_fraction: share of the voices held out for test (speaker-disjoint split), in (0, 1).
        perturb: sox speed (0.9-1.1) and white-noise perturbation on half of the utterances.
        seed: seeds every draw (templates, slots, voices, rates, perturbations).
        cache_dir: root of the cache (default :func:`default_cache`); the corpus folder is a hash of the
            arguments, holding ``manifest.jsonl`` and ``wav/*.wav`` (16 kHz, mono, 16-bit).

    Returns:
        ``(folder, utterances)``.

    Raises:
        ValueError: an unknown intent, ``voices`` / ``per_voice`` < 1, ``test_fraction`` outside (0, 1).
        RuntimeError: the synthesis binaries are absent (``make data`` installs them) or fail.
    """
    names = tuple(INTENTS) if intents is None else tuple(intents)
    unknown = [n for n in names if n not in INTENTS]
    if unknown or not names:
        raise ValueError(f"intents: unknown {unknown or 'empty'}; expected names from {sorted(INTENTS)}")
    pool = all_voices()
    for name, value, low in (("per_voice", per_voice, 1), ("voices", voices, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name}: expected an integer >= {low}, got {value!r}")
    if voices > len(pool):
        raise ValueError(f"voices: at most {len(pool)} voices exist, got {voices}")
    _check_fraction(test_fraction, "test_fraction")
    settings = {"intents": names, "per_voice": per_voice, "voices": voices, "test_fraction": test_fraction,
                "perturb": perturb, "seed": seed, "version": 1}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    folder = Path(cache_dir) if cache_dir is not None else default_cache()
    folder = folder / f"intents-{key}"
    manifest = folder / "manifest.jsonl"
    if manifest.is_file():
        return folder, read_manifest(manifest)
    if not synthesis_available():
        raise RuntimeError("speech: espeak-ng, flite and sox are needed to synthesise the corpus "
                           "(apt-get install espeak-ng flite sox, or `make data`)")
    rng = random.Random(seed)
    chosen = rng.sample(pool, voices)
    n_test = max(1, round(voices * test_fraction))
    test_voices = set(chosen[:n_test])
    (folder / "wav").mkdir(parents=True, exist_ok=True)
    rows: list[Utterance] = []
    for v_index, voice in enumerate(chosen):
        for intent in names:
            for k in range(per_voice):
                u_seed = rng.randrange(2**31)
                local = random.Random(u_seed)
                text = fill(local.choice(INTENTS[intent]), local)
                rate = local.choice(RATES)
                speed = local.uniform(0.9, 1.1) if perturb and local.random() < 0.5 else 1.0
                noise = local.uniform(0.002, 0.01) if perturb and local.random() < 0.5 else 0.0
                rel = f"wav/{v_index:03d}-{intent}-{k}.wav"
                _synthesize(text, voice, rate, folder / rel, speed=speed, noise=noise)
                rows.append(Utterance(text, intent, voice, rate, u_seed, rel,
                                      "test" if voice in test_voices else "train"))
    tmp = manifest.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(asdict(r)) + "\n" for r in rows))
    tmp.replace(manifest)  # atomic: a manifest exists only for a complete corpus
    return folder, rows


def read_manifest(path: str | os.PathLike[str]) -> list[Utterance]:
    """The utterances of a ``manifest.jsonl``; an empty or malformed manifest is a ``ValueError``."""
    rows = []
    for i, line in enumerate(Path(path).read_text().splitlines()):
        if not line.strip():
            continue
        try:
            rows.append(Utterance(**json.loads(line)))
        except (TypeError, json.JSONDecodeError) as err:
            raise ValueError(f"manifest: line {i + 1} of {path} is not an utterance record ({err})") from None
    if not rows:
        raise ValueError(f"manifest: {path} lists no utterances")
    return rows


__all__ = ["INTENTS", "SAMPLE_RATE", "SLOTS", "Utterance", "all_voices", "default_cache", "read_manifest",
           "synthesis_available", "synthesize_corpus"]
