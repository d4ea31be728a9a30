"""Backdoor audit of a saved image encoder or CLIP-style two-tower model (``contrastkit audit``).

The audit is InverTune's detection half (:mod:`contrastkit.backdoor.inversion`) run on a clean labelled
image set the auditor holds:

1. a cosine head over the model's image embeddings — the zero-shot class-prompt embeddings when the folder
   stores its class prompts (``metadata.class_prompt_tokens`` of a two-tower model), else the class
   prototypes (mean normalised embedding per class) of the clean set;
2. target identification with an untargeted universal adversarial patch (the suspected target = the class
   whose predicted share grows most);
3. trigger inversion (mask + pattern, the four-term loss) for the suspect and, as references, for the two
   next classes of that ranking;
4. the verdict. Any model can be pushed to any class by a large enough mask, so a high inverted-trigger ASR
   alone proves nothing; a backdoor is a *shortcut*: the suspect's trigger reaches ASR >= ``min_asr`` on
   the held-out test images with a mask much smaller than the references need
   (``mask_ratio = mask(suspect) / median mask(references) <= max_mask_ratio``).

Default thresholds (``min_asr = 0.7``, ``max_mask_ratio = 0.6``) were set on one poisoned and one clean
mini-CLIP (seed 0) and the false-positive rate is measured on other seeds (docs/security.md).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit._validation import check_positive_float, check_positive_int
from contrastkit.backdoor._checks import check_fraction
from contrastkit.backdoor.inversion import (
    InversionWeights,
    InvertedTrigger,
    class_prototypes,
    identify_target,
    invert_trigger,
    paste_patch,
    predict,
    universal_patch,
)
from contrastkit.backdoor.metrics import attack_success_rate, clean_accuracy

REPORT_JSON, REPORT_MD, REPORT_PNG = "audit.json", "audit.md", "inverted_trigger.png"
#: the largest clean + test image set (float32 bytes) an audit will upsample to
MAX_AUDIT_BYTES = 2 * 2**30


@dataclass
class AuditConfig:
    """Settings of an audit (every one is in the report)."""

    clean_images: int = 400       # the auditor's clean set, drawn from the train split
    patch_fraction: float = 0.03  # UAP side = sqrt(fraction * H * W) (InverTune: 3 % of the image area)
    uap_steps: int = 100
    uap_lr: float = 0.05
    inversion_steps: int = 300
    inversion_lr: float = 0.05
    references: int = 2
    min_asr: float = 0.7
    max_mask_ratio: float = 0.6
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("clean_images", "uap_steps", "inversion_steps", "references"):
            check_positive_int(getattr(self, name), name)
        for name in ("uap_lr", "inversion_lr", "max_mask_ratio"):
            check_positive_float(getattr(self, name), name)
        check_fraction(self.patch_fraction, "patch_fraction")
        check_fraction(self.min_asr, "min_asr")
        # torch.Generator.manual_seed takes a 64-bit seed; a larger one failed deep inside without a name
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise ValueError(f"seed: expected an integer in [0, 2**63), got {self.seed!r}")


@dataclass
class AuditReport:
    """The verdict and its evidence. ``backdoor`` is ``True`` when a backdoor is suspected."""

    backdoor: bool
    suspected_target: int
    inverted_asr: float
    mask_fraction: float
    reference_targets: list[int]
    reference_mask_fractions: list[float]
    reference_asr: list[float]
    mask_ratio: float
    uap_share_increase: list[float]
    head: str
    clean_accuracy: float
    source: str
    data: dict[str, Any]
    config: dict[str, Any]
    trigger: InvertedTrigger | None = field(default=None, repr=False)

    def verdict(self) -> str:
        word = "BACKDOOR SUSPECTED" if self.backdoor else "no backdoor found"
        ref = statistics.median(self.reference_mask_fractions)
        return (f"{word}: suspected target class {self.suspected_target}; inverted trigger ASR "
                f"{self.inverted_asr:.1%} with a mask of {self.mask_fraction:.1%} of the image "
                f"({self.mask_ratio:.2f} x the reference classes' {ref:.1%}; "
                f"flagged when ASR >= {self.config['min_asr']:.0%} and ratio <= {self.config['max_mask_ratio']})")

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in (
            "backdoor", "suspected_target", "inverted_asr", "mask_fraction", "reference_targets",
            "reference_mask_fractions", "reference_asr", "mask_ratio", "uap_share_increase", "head",
            "clean_accuracy", "source", "data", "config")}
        return out | {"verdict": self.verdict()}


def shortcut_verdict(asr: float, mask_fraction: float, reference_mask_fractions: list[float],
                     min_asr: float = AuditConfig.min_asr, max_mask_ratio: float = AuditConfig.max_mask_ratio
                     ) -> tuple[bool, float]:
    """``(flagged, mask_ratio)``: flagged when the suspect's inverted trigger reaches ``asr >= min_asr`` with
    ``mask_ratio = mask_fraction / median(reference_mask_fractions) <= max_mask_ratio`` (both inclusive)."""
    if not reference_mask_fractions:
        raise ValueError("reference_mask_fractions: expected at least one reference inversion")
    ratio = mask_fraction / max(statistics.median(reference_mask_fractions), 1e-12)
    return bool(asr >= min_asr and ratio <= max_mask_ratio), ratio


def audit_encoder(embed: nn.Module, clean_images: Tensor, clean_labels: Tensor, test_images: Tensor,
                  test_labels: Tensor, *, class_emb: Tensor | None = None, config: AuditConfig | None = None,
                  source: str = "", data: dict[str, Any] | None = None) -> AuditReport:
    """Audit ``embed`` (images ``(B, C, H, W)`` in ``[0, 1]`` -> ``(B, d)``) with a clean labelled set.

    ``class_emb`` ``(K, d)``: zero-shot class embeddings; ``None`` uses the class prototypes of the clean
    set. The inverted triggers' ASR is measured on ``test_images`` (rows of the target class excluded).
    """
    cfg = config or AuditConfig()
    embed.eval()
    head = "zero-shot prompts" if class_emb is not None else "class prototypes of the clean set"
    t = class_prototypes(embed, clean_images, clean_labels) if class_emb is None else class_emb.detach().float()
    k = t.shape[0]
    acc = clean_accuracy(predict(embed, t, test_images), test_labels)
    h, w = clean_images.shape[-2:]
    size = max(1, round((cfg.patch_fraction * h * w) ** 0.5))
    patch, box = universal_patch(embed, t, clean_images, clean_labels, size=size, location="bottom-right",
                                 margin=max(0, round(h / 16)), steps=cfg.uap_steps, lr=cfg.uap_lr, seed=cfg.seed)
    rep = identify_target(predict(embed, t, clean_images), predict(embed, t, paste_patch(clean_images, patch, box)),
                          k, top=1 + cfg.references)

    def invert(target: int) -> tuple[InvertedTrigger, float]:
        keep = clean_labels != target
        trig = invert_trigger(embed, t, clean_images[keep], target, clean_images[~keep], steps=cfg.inversion_steps,
                              lr=cfg.inversion_lr, weights=InversionWeights(), seed=cfg.seed)
        return trig, attack_success_rate(predict(embed, t, trig(test_images)), test_labels, target)

    suspect, asr = invert(rep.target)
    refs = [invert(c) for c in rep.top[1:]]
    ref_masks = [r.mask_fraction for r, _ in refs]
    flagged, ratio = shortcut_verdict(asr, suspect.mask_fraction, ref_masks, cfg.min_asr, cfg.max_mask_ratio)
    return AuditReport(flagged, rep.target, asr, suspect.mask_fraction, rep.top[1:], ref_masks,
                       [a for _, a in refs], ratio, rep.increase, head, acc, source, data or {},
                       {k2: getattr(cfg, k2) for k2 in cfg.__dataclass_fields__}, suspect)


# ---------------------------------------------------------------------------------------------- loading


def _upsample(x: Tensor, factor: int) -> Tensor:
    return F.interpolate(x, scale_factor=factor, mode="nearest") if factor > 1 else x


def audit_data(dataset: str, upsample: int = 1, clean_images: int = 400, seed: int = 0
               ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(clean images, labels, test images, labels)`` of a bundled image dataset
    (:data:`contrastkit.vision.data.IMAGE_DATASETS`), nearest-upsampled by ``upsample``: the auditor's
    clean set is ``clean_images`` rows of the train split (seeded), the test split measures ASR."""
    from contrastkit.vision.data import get_image_dataset

    factor = check_positive_int(upsample, "upsample")
    tr, te = get_image_dataset(dataset, "train"), get_image_dataset(dataset, "test")
    n = check_positive_int(clean_images, "clean_images")
    if n > len(tr.labels):
        raise ValueError(f"clean_images: {dataset}'s train split has {len(tr.labels)} images, got {n}")
    idx = torch.randperm(len(tr.labels), generator=torch.Generator().manual_seed(seed))[:clean_images]
    # refuse before allocating: a large factor otherwise died in the allocator (a traceback, exit status 1)
    need = (len(idx) + len(te.labels)) * te.images[0].numel() * factor**2 * 4
    if need > MAX_AUDIT_BYTES:
        h, w = te.images.shape[-2:]
        raise ValueError(f"upsample: {factor} makes {h * factor} x {w * factor} images, {need / 2**30:.3g} GiB for "
                         f"the clean and test sets (at most {MAX_AUDIT_BYTES / 2**30:.0f} GiB)")
    return _upsample(tr.images[idx], factor), tr.labels[idx], _upsample(te.images, factor), te.labels


def load_for_audit(path: str | Path) -> tuple[nn.Module, Tensor | None, dict[str, Any]]:
    """``(image embedder, zero-shot class embeddings or None, data spec)`` of a model or run folder.

    A run folder of ``contrastkit train`` or a ``save_pretrained`` folder (safetensors + config.json; never
    pickle). The data spec (``{"dataset": ..., "upsample": ...}``) comes from the run's recipe or the folder's
    ``metadata.data``; it may be empty (the caller then needs ``--data``). Errors: ``FileNotFoundError``
    for a missing path, ``ValueError`` for a folder that is not a contrastkit model with an image tower.
    """
    from contrastkit.pretrained import from_pretrained, read_config
    from contrastkit.pretrained.two_tower import ImageTextModel

    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"path: {folder} does not exist")
    config = read_config(folder)
    meta = config.get("metadata") or {}
    model = from_pretrained(folder)
    data: dict[str, Any] = {}
    if config.get("format") == "contrastkit-run/1":
        recipe = config.get("recipe") or {}
        ds = (recipe.get("data") or {}).get("dataset") if isinstance(recipe, dict) else None
        if isinstance(ds, str):
            data = {"dataset": ds, "upsample": 1}
    elif isinstance(meta.get("data"), dict):
        data = dict(meta["data"])
        up = data.get("upsample", 1)
        if not isinstance(data.get("dataset"), str) or isinstance(up, bool) or not isinstance(up, int) or up < 1:
            raise ValueError(f"path: {folder}'s metadata.data must be {{'dataset': name, 'upsample': integer >= 1}}, "
                             f"got {data}")
    elif (folder / "recipe.json").is_file():  # a `contrastkit train` run of a fit-based recipe (clip-digits, ...)
        try:
            recipe = json.loads((folder / "recipe.json").read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            recipe = None
        ds = (recipe.get("data") or {}).get("dataset") if isinstance(recipe, dict) else None
        if isinstance(ds, str):
            data = {"dataset": ds, "upsample": 1}
    class_emb = None
    if isinstance(model, ImageTextModel):
        embed: nn.Module = nn.Sequential(model.image_encoder, model.image_head)
        tokens = meta.get("class_prompt_tokens")
        if tokens is not None and model.text_encoder is not None:
            try:
                ids = torch.tensor(tokens, dtype=torch.long)
            except (TypeError, ValueError):
                raise ValueError("path: metadata.class_prompt_tokens must be a list of equal-length token id "
                                 "lists") from None
            with torch.no_grad():
                class_emb = model.encode_text(ids)
    elif isinstance(getattr(model, "encoder", None), nn.Module) and hasattr(model, "projector"):
        embed = model.encoder  # an EncoderWithHead: audit the backbone (what a linear probe would read)
    elif isinstance(model, nn.Module) and not type(model).__module__.startswith("contrastkit.text"):
        embed = model
    else:
        raise ValueError(f"path: {folder} holds a {type(model).__name__}, not an image encoder")
    return embed, class_emb, data


def audit_path(path: str | Path, *, dataset: str | None = None, upsample: int | None = None,
               config: AuditConfig | None = None) -> AuditReport:
    """Load ``path`` (:func:`load_for_audit`) and audit it on its dataset (or ``dataset`` / ``upsample``)."""
    cfg = config or AuditConfig()
    embed, class_emb, data = load_for_audit(path)
    if dataset is not None:
        data = {"dataset": dataset, "upsample": 1}
    if upsample is not None:
        data["upsample"] = upsample
    if not data.get("dataset"):
        raise ValueError(f"data: {path} does not name its image dataset; pass --data (e.g. digits)")
    x, y, xt, yt = audit_data(str(data["dataset"]), int(data.get("upsample", 1)), cfg.clean_images, cfg.seed)
    missing = sorted(set(range(int(yt.max()) + 1)) - set(y.tolist()))
    if missing:
        raise ValueError(f"clean_images: {len(y)} clean images of {data['dataset']} miss classes {missing}; "
                         f"draw more (--clean-images)")
    try:
        with torch.no_grad():
            out = embed(x[:2])
    except (RuntimeError, ValueError, TypeError) as err:  # e.g. a time-series encoder refusing (B, C, H, W)
        raise ValueError(f"path: the model in {path} does not take {data} images of shape {tuple(x.shape[1:])} "
                         f"({(str(err).splitlines() or [type(err).__name__])[0]})") from None
    if not isinstance(out, Tensor) or out.dim() != 2:
        got = f"shape {tuple(out.shape)}" if isinstance(out, Tensor) else f"a {type(out).__name__}"
        raise ValueError(f"path: the image tower returns {got}, expected (B, d) embeddings")
    if class_emb is not None and class_emb.shape[0] != int(y.max()) + 1:
        raise ValueError(f"path: the folder has {class_emb.shape[0]} class prompts but {data['dataset']} has "
                         f"{int(y.max()) + 1} classes")
    return audit_encoder(embed, x, y, xt, yt, class_emb=class_emb, config=cfg, source=str(path), data=data)


def check_report_folder(folder: str | Path, name: str = "out") -> Path:
    """``folder`` if a report can be written there (an existing writable folder, or a path whose nearest
    existing parent is one); checked before an audit so a bad ``--out`` does not fail after minutes."""
    import os

    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{name}: {out} exists and is not a folder")
    parent = out
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{name}: {out} lies under {parent}, which is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{name}: {parent} is not writable")
    return out


def write_report(report: AuditReport, folder: str | Path) -> Path:
    """Write ``audit.json``, ``audit.md`` and ``inverted_trigger.png`` (mask, pattern, mask x pattern of the
    suspected target's inverted trigger) into ``folder`` (created). Returns the folder."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = check_report_folder(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / REPORT_JSON).write_text(json.dumps(report.to_dict(), indent=2, default=float) + "\n")
    if report.trigger is not None:
        m, p = report.trigger.mask.mean(0), report.trigger.pattern.mean(0)
        fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.8))
        for ax, img, title in zip(axes, (m, p, m * p), ("mask m", "pattern delta", "m * delta"), strict=True):
            ax.imshow(img.numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(title)
            ax.axis("off")
        fig.suptitle(f"inverted trigger for class {report.suspected_target}")
        fig.tight_layout()
        fig.savefig(out / REPORT_PNG, dpi=80)
        plt.close(fig)
    refs = ", ".join(f"class {c}: mask {f:.1%}, ASR {a:.1%}" for c, f, a in zip(
        report.reference_targets, report.reference_mask_fractions, report.reference_asr, strict=True))
    inc = ", ".join(f"{i}: {v:+.2f}" for i, v in enumerate(report.uap_share_increase))
    lines = [
        f"# Backdoor audit of `{report.source}`", "",
        f"**Verdict:** {report.verdict()}", "",
        f"- data: {report.data}; head: {report.head}; clean accuracy of the head {report.clean_accuracy:.1%}",
        f"- universal patch: predicted-share change per class {inc}",
        f"- suspected target {report.suspected_target}: inverted trigger ASR {report.inverted_asr:.1%}, mask "
        f"{report.mask_fraction:.1%} of the image",
        f"- reference inversions: {refs}",
        f"- mask ratio {report.mask_ratio:.2f}", "",
        f"![inverted trigger]({REPORT_PNG})", "",
        f"Settings: {report.config}",
    ]
    (out / REPORT_MD).write_text("\n".join(lines) + "\n")
    return out


__all__ = ["AuditConfig", "AuditReport", "audit_data", "audit_encoder", "audit_path", "check_report_folder",
           "load_for_audit", "shortcut_verdict", "write_report"]
