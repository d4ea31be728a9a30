"""``encode``: embeddings of a whole data set in batches, in eval mode, with an optional progress bar."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset


def _embed_fn(model: nn.Module) -> Callable[[Tensor], Tensor]:
    """What "the embedding" means for each model kind: the features downstream tasks use."""
    name = type(model).__name__
    if name == "EncoderWithHead":
        return model.encoder  # SimCLR evaluates the encoder, not the projection head
    if name == "TSEncoder":
        from contrastkit.timeseries.encoder import instance_pool

        return lambda x: instance_pool(model(x, mask="all_true"))  # TS2Vec's instance embedding
    if name == "ImageTextModel":
        return model.encode_image
    return model


def _first(batch: Any) -> Tensor:
    if isinstance(batch, (tuple, list)):
        batch = batch[0]  # (x, label) pairs from a Dataset
    if not isinstance(batch, Tensor):
        raise TypeError(f"x: expected the data set to yield tensors or (tensor, ...) pairs, got {type(batch).__name__}")
    return batch


@torch.no_grad()
def encode(model: nn.Module, x: Tensor | np.ndarray | Dataset | Any, *, batch_size: int = 256,
           progress: bool = False, device: str | torch.device | None = None,
           fn: Callable[[Tensor], Tensor] | None = None) -> Tensor:
    """Embeddings ``(n, d)`` of ``x`` on the CPU, computed in batches of ``batch_size`` without gradients.

    ``x``: a tensor or array ``(n, ...)`` (images ``(n, C, H, W)``, series ``(n, C, T)``), an
    object with ``.images`` (an ``ImageSplit``), or a ``torch.utils.data.Dataset`` yielding
    samples or ``(sample, label)`` pairs. The model runs in eval mode on ``device`` (default: where
    its weights are) and its training flag is restored. The embedding is the encoder output for
    an encoder + head, the max-pooled instance embedding for a TS2Vec encoder, the image tower
    for an image-text model, else ``model(x)`` (the first element of a tuple output); ``fn``
    overrides it. ``progress=True`` shows a tqdm bar counting samples. A
    :class:`contrastkit.text.TextEncoder` takes a list of strings and returns its L2-normalised
    sentence embeddings (:meth:`~contrastkit.text.TextEncoder.encode`).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected an nn.Module, got {type(model).__name__}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected an integer >= 1, got {batch_size!r}")
    if type(model).__name__ == "TextEncoder" and type(model).__module__.startswith("contrastkit.text"):
        if fn is not None or device is not None:
            raise ValueError("fn: a TextEncoder encodes texts itself (TextEncoder.encode); leave fn and device unset")
        return model.encode(x, batch_size=batch_size, progress=progress)  # type: ignore[operator]
    if hasattr(x, "images") and isinstance(x.images, Tensor):
        x = x.images
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if isinstance(x, Tensor):
        if x.dim() == 0 or x.shape[0] == 0:
            raise ValueError(f"x: expected a non-empty batch of samples, got shape {tuple(x.shape)}")
        n = x.shape[0]
        batches: Any = (x[i:i + batch_size] for i in range(0, n, batch_size))
    elif isinstance(x, Dataset):
        n = len(x)  # type: ignore[arg-type]
        if n == 0:
            raise ValueError("x: the data set has no samples")
        batches = DataLoader(x, batch_size=batch_size, shuffle=False)
    else:
        raise TypeError(f"x: expected a tensor, an array, an ImageSplit or a Dataset, got {type(x).__name__}")
    if device is None:
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
    embed = fn or _embed_fn(model)
    from tqdm.auto import tqdm

    was_training = model.training
    model.eval()
    out = []
    try:
        with tqdm(total=n, disable=not progress, unit="sample", desc="encode") as bar:
            for batch in batches:
                b = _first(batch)
                z = embed(b.to(device))
                z = z[0] if isinstance(z, (tuple, list)) else z
                out.append(z.detach().float().cpu())
                bar.update(b.shape[0])
    finally:
        model.train(was_training)
    return torch.cat(out)
