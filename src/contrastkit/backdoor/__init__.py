"""Backdoor attacks on contrastive models: triggers, poisoning, attack success rate.

Modality level: images as ``(B, C, H, W)`` tensors in ``[0, 1]``, captions as strings; imports
only the layers below (``_validation``, ``evaluate``). Shared by the attack and defence papers.

- triggers: :class:`PatchTrigger`, :class:`BlendTrigger`, :class:`NoiseTrigger`,
  :class:`WarpTrigger`, :class:`LearnedTrigger` (+ :class:`ConvTriggerGenerator`);
- poisoning: :func:`poison_images` (SSL set), :func:`poison_image_text` (image-caption set);
- metrics: :func:`attack_success_rate`, :func:`clean_accuracy`, :func:`linear_probe_backdoor`,
  :func:`zero_shot_backdoor`;
- detection (InverTune stages 1-2, :mod:`contrastkit.backdoor.inversion`): :func:`universal_patch`,
  :func:`identify_target`, :func:`invert_trigger`, :func:`class_prototypes`;
- the audit of a saved model (``contrastkit audit``): :mod:`contrastkit.backdoor.audit`.
"""

from contrastkit.backdoor._checks import check_budget, check_images, check_rate, check_target
from contrastkit.backdoor.inversion import (
    InversionWeights,
    InvertedTrigger,
    TargetReport,
    class_prototypes,
    identify_target,
    invert_trigger,
    universal_patch,
)
from contrastkit.backdoor.metrics import (
    attack_success_rate,
    clean_accuracy,
    linear_probe_backdoor,
    zero_shot_backdoor,
)
from contrastkit.backdoor.poison import (
    PoisonedImages,
    PoisonedPairs,
    choose_poison_rows,
    poison_count,
    poison_image_text,
    poison_images,
    target_captions,
)
from contrastkit.backdoor.triggers import (
    BlendTrigger,
    ConvTriggerGenerator,
    LearnedTrigger,
    NoiseTrigger,
    PatchTrigger,
    Trigger,
    WarpTrigger,
)

__all__ = [
    "BlendTrigger",
    "ConvTriggerGenerator",
    "InversionWeights",
    "InvertedTrigger",
    "LearnedTrigger",
    "NoiseTrigger",
    "PatchTrigger",
    "PoisonedImages",
    "PoisonedPairs",
    "TargetReport",
    "Trigger",
    "WarpTrigger",
    "attack_success_rate",
    "check_budget",
    "check_images",
    "check_rate",
    "check_target",
    "choose_poison_rows",
    "class_prototypes",
    "clean_accuracy",
    "identify_target",
    "invert_trigger",
    "linear_probe_backdoor",
    "poison_count",
    "poison_image_text",
    "poison_images",
    "target_captions",
    "universal_patch",
    "zero_shot_backdoor",
]
