"""Image-caption pairs built offline from labelled images and caption templates.

The images come from any labelled image split (e.g. :func:`contrastkit.vision.load_digits_canvas`
or :func:`contrastkit.vision.load_fashion_mnist`; a modality package never imports another, so the
caller passes ``images`` and ``labels``). Each image gets one caption drawn, with a fixed seed, from
the captions of its class. Two caption sets are documented here (see docs/multimodal.md):

- **digits**: templates x number words, e.g. ``"handwritten seven"``. :data:`DIGIT_TEMPLATES` are the
  4 templates described in docs/data.md; :data:`DIGIT_TEMPLATES_8` adds 4 more (the CWCL miniature's 80
  captions). Zero-shot prompt :data:`DIGIT_PROMPT`; :data:`DIGIT_NUMERAL_PROMPT` uses the numeral
  (``"the digit 7"``), a word form never seen in training (a transfer probe for locked towers).
- **fashion**: Fashion-MNIST classes with 3 hand-written descriptions each
  (:data:`FASHION_DESCRIPTIONS`), zero-shot prompt ``"a photo of a {name}"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
DIGIT_TEMPLATES = ("a photo of the digit {w}", "handwritten {w}", "the number {w}", "{w}")
DIGIT_TEMPLATES_8 = DIGIT_TEMPLATES + ("a picture of a {w}", "the handwritten digit {w}",
                                       "an image of the number {w}", "a scanned {w}")
DIGIT_PROMPT = "a photo of the digit {w}"
DIGIT_NUMERAL_PROMPT = "the digit {d}"

FASHION_NAMES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
                 "ankle boot")
FASHION_DESCRIPTIONS: tuple[tuple[str, ...], ...] = (
    ("a t-shirt", "a short sleeved top", "a casual cotton tee"),
    ("a pair of trousers", "long pants", "slacks with two legs"),
    ("a pullover", "a warm knitted sweater", "a long sleeved jumper"),
    ("a dress", "a one piece gown", "a summer dress for women"),
    ("a coat", "a heavy winter jacket", "an outer coat with buttons"),
    ("a sandal", "an open summer shoe", "a strappy flat sandal"),
    ("a shirt", "a button up shirt", "a collared blouse"),
    ("a sneaker", "a sports shoe", "a low running trainer"),
    ("a bag", "a handbag", "a leather purse with a strap"),
    ("an ankle boot", "a short leather boot", "a heeled bootie"),
)
FASHION_PROMPT = "a photo of a {name}"


@dataclass
class ImageTextSplit:
    """Paired images and captions.

    Attributes:
        images: float32 ``(n, C, H, W)``.
        labels: int64 ``(n,)`` class ids.
        caption_ids: int64 ``(n,)``: image ``i``'s caption is ``captions[caption_ids[i]]``.
        captions: the distinct captions (the text gallery).
        caption_labels: int64 ``(len(captions),)`` class of each caption.
        class_prompts: one zero-shot prompt per class.
        name: dataset and split.
    """

    images: Tensor
    labels: Tensor
    caption_ids: Tensor
    captions: list[str]
    caption_labels: Tensor
    class_prompts: list[str]
    name: str = ""
    extra: dict[str, list[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.class_prompts)

    def texts(self) -> list[str]:
        """The caption of every image, in image order."""
        return [self.captions[int(i)] for i in self.caption_ids]

    def subset(self, index: Tensor) -> ImageTextSplit:
        """The pairs at ``index`` (captions and prompts unchanged)."""
        return ImageTextSplit(self.images[index], self.labels[index], self.caption_ids[index], self.captions,
                              self.caption_labels, self.class_prompts, self.name, self.extra)


def template_captions(words: Sequence[str], templates: Sequence[str]) -> list[list[str]]:
    """``captions[c] = [t.format(w=words[c]) for t in templates]``."""
    if not templates or any("{w}" not in t for t in templates):
        raise ValueError("templates: expected a non-empty list of strings containing '{w}'")
    return [[t.format(w=w) for t in templates] for w in words]


def caption_images(
    images: Tensor,
    labels: Tensor,
    class_captions: Sequence[Sequence[str]],
    class_prompts: Sequence[str],
    *,
    seed: int = 0,
    name: str = "",
) -> ImageTextSplit:
    """Give image ``i`` a caption drawn uniformly (``torch.Generator().manual_seed(seed)``) from
    ``class_captions[labels[i]]``."""
    if not isinstance(images, Tensor) or images.dim() != 4:
        raise ValueError(f"images: expected an (n, C, H, W) tensor, got {getattr(images, 'shape', type(images))}")
    if not isinstance(labels, Tensor) or labels.shape != (images.shape[0],) or labels.dtype.is_floating_point:
        raise ValueError(f"labels: expected ({images.shape[0]},) integer class ids")
    n_cls = len(class_captions)
    if len(class_prompts) != n_cls:
        raise ValueError(f"class_prompts: expected {n_cls} prompts (one per class), got {len(class_prompts)}")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= n_cls):
        raise ValueError(f"labels: class ids must lie in [0, {n_cls})")
    captions: list[str] = []
    caption_labels: list[int] = []
    offsets = []
    for c, caps in enumerate(class_captions):
        if not caps:
            raise ValueError(f"class_captions: class {c} has no caption")
        offsets.append(len(captions))
        captions += list(caps)
        caption_labels += [c] * len(caps)
    counts = torch.tensor([len(c) for c in class_captions])
    g = torch.Generator().manual_seed(int(seed))
    draw = (torch.rand(labels.shape[0], generator=g) * counts[labels]).long()
    caption_ids = torch.tensor(offsets)[labels] + draw
    return ImageTextSplit(images, labels.long(), caption_ids, captions, torch.tensor(caption_labels),
                          list(class_prompts), name)


def digits_image_text(images: Tensor, labels: Tensor, *, templates: Sequence[str] = DIGIT_TEMPLATES,
                      seed: int = 0, name: str = "digits_captions") -> ImageTextSplit:
    """Digit images with template captions (``"handwritten seven"``); prompts :data:`DIGIT_PROMPT`.

    ``extra["numeral_prompts"]`` holds the held-out numeral prompts ``"the digit 7"``.
    """
    split = caption_images(images, labels, template_captions(DIGIT_WORDS, templates),
                           [DIGIT_PROMPT.format(w=w) for w in DIGIT_WORDS], seed=seed, name=name)
    split.extra["numeral_prompts"] = [DIGIT_NUMERAL_PROMPT.format(d=d) for d in range(10)]
    return split


def fashion_image_text(images: Tensor, labels: Tensor, *, seed: int = 0,
                       name: str = "fashion_captions") -> ImageTextSplit:
    """Fashion-MNIST images with class descriptions (:data:`FASHION_DESCRIPTIONS`)."""
    return caption_images(images, labels, FASHION_DESCRIPTIONS,
                          [FASHION_PROMPT.format(name=n) for n in FASHION_NAMES], seed=seed, name=name)


__all__ = ["DIGIT_NUMERAL_PROMPT", "DIGIT_PROMPT", "DIGIT_TEMPLATES", "DIGIT_TEMPLATES_8", "DIGIT_WORDS",
           "FASHION_DESCRIPTIONS", "FASHION_NAMES", "FASHION_PROMPT", "ImageTextSplit", "caption_images",
           "digits_image_text", "fashion_image_text", "template_captions"]
