"""Zero-shot classification and image<->text retrieval on embeddings, via :mod:`contrastkit.evaluate`."""

from __future__ import annotations

from torch import Tensor

from contrastkit import evaluate as ev


def image_text_metrics(
    image_emb: Tensor,
    labels: Tensor,
    caption_emb: Tensor,
    caption_labels: Tensor,
    prompt_emb: Tensor,
    *,
    ks: tuple[int, ...] = (1, 5, 10),
    prefix: str = "",
) -> dict[str, float]:
    """Zero-shot accuracy and class-level retrieval R@k in both directions.

    - ``zero_shot``: :func:`contrastkit.evaluate.zero_shot_accuracy` of images against one prompt
      embedding per class (``prompt_emb``, ``(C, d)``).
    - ``i2t_recall@k``: each image queries the gallery of distinct captions (``caption_emb``); the
      relevant captions are those of the image's class (template captions are shared by every image
      of a class, so a caption identifies a class, not an instance).
    - ``t2i_recall@k``: each distinct caption queries the images; relevant = images of its class.

    Retrieval uses :func:`contrastkit.evaluate.class_retrieval` (cosine, pessimistic ties).
    """
    labels = labels.long().cpu()
    caption_labels = caption_labels.long().cpu()
    out = {f"{prefix}zero_shot": ev.zero_shot_accuracy(image_emb, prompt_emb, labels)}
    rel = labels[:, None] == caption_labels[None, :]
    i2t = ev.retrieval_metrics(image_emb, caption_emb, rel, ks=ks)
    t2i = ev.retrieval_metrics(caption_emb, image_emb, rel.T.contiguous(), ks=ks)
    for k in ks:
        out[f"{prefix}i2t_recall@{k}"] = i2t[f"recall@{k}"]
        out[f"{prefix}t2i_recall@{k}"] = t2i[f"recall@{k}"]
    out[f"{prefix}i2t_mrr"] = i2t["mrr"]
    out[f"{prefix}t2i_mrr"] = t2i["mrr"]
    return out


__all__ = ["image_text_metrics"]
