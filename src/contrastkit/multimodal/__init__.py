"""Image-text pairs offline: captioned image splits, text towers (bag-of-words from scratch, frozen
MiniLM with cached embeddings), EDA-style text augmentation, zero-shot and retrieval metrics."""

from contrastkit.multimodal.data import (
    DIGIT_PROMPT,
    DIGIT_TEMPLATES,
    DIGIT_TEMPLATES_8,
    FASHION_DESCRIPTIONS,
    ImageTextSplit,
    caption_images,
    digits_image_text,
    fashion_image_text,
    template_captions,
)
from contrastkit.multimodal.evaluate import image_text_metrics
from contrastkit.multimodal.text import (
    BagOfWordsEncoder,
    SimpleTokenizer,
    TokenAugment,
    frozen_text_embeddings,
    load_minilm,
    minilm_path,
)

__all__ = [
    "DIGIT_PROMPT",
    "DIGIT_TEMPLATES",
    "DIGIT_TEMPLATES_8",
    "FASHION_DESCRIPTIONS",
    "BagOfWordsEncoder",
    "ImageTextSplit",
    "SimpleTokenizer",
    "TokenAugment",
    "caption_images",
    "digits_image_text",
    "fashion_image_text",
    "frozen_text_embeddings",
    "image_text_metrics",
    "load_minilm",
    "minilm_path",
    "template_captions",
]
