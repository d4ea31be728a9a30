"""``first_order_only``: a backward that is not itself differentiable, refused loudly when asked.

``torch.autograd.function.once_differentiable`` raises on double backward only when an incoming
gradient requires grad; the gradient of a scalar loss usually does not (it is a constant ``1``),
so a second derivative through such a backward silently treats its result as a constant and is
wrong. This decorator runs backward without recording, and under ``create_graph=True`` routes its
outputs through a node whose own backward raises, whatever the incoming gradients.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

SECOND_ORDER_MESSAGE = (
    "contrastkit's fused loss kernels have no second derivative: a gradient taken with "
    "create_graph=True through them is exact but cannot be differentiated again (double backward)"
)


class _RefuseSecondOrder(torch.autograd.Function):
    """Identity on the first ``n`` tensors (the first-order gradients); the rest only connect the
    node to the graph of the function's inputs. Its backward (a second derivative) raises."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, n: int, *tensors: Tensor) -> tuple[Tensor, ...]:  # type: ignore[override]
        return tuple(t.clone() for t in tensors[:n])

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, *_: Tensor) -> tuple[Tensor, ...]:  # type: ignore[override]
        raise RuntimeError(SECOND_ORDER_MESSAGE)


def first_order_only(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate an ``autograd.Function.backward``, computed under ``no_grad``.

    With ``create_graph=True`` the returned gradients are exact but non-differentiable: they
    require grad through a node that raises ``RuntimeError`` (naming the second derivative) when
    a later backward reaches it. That node hangs on the saved tensors that require grad (the
    function's inputs); a function that saves none (its saved buffers are its own, e.g. the dense
    softmax) cannot be linked to its inputs' graph, so it raises at once instead.

    Raises:
        RuntimeError: under ``create_graph=True`` when nothing saved links to the inputs, and on
            any later backward through the first-order gradients otherwise."""

    @functools.wraps(fn)
    def wrapper(ctx: Any, *args: Any) -> Any:
        with torch.no_grad():
            outputs = fn(ctx, *args)
        if not torch.is_grad_enabled():  # no create_graph: nothing can differentiate the outputs
            return outputs
        single = not isinstance(outputs, tuple)
        items = (outputs,) if single else outputs
        where = [i for i, o in enumerate(items) if isinstance(o, Tensor) and o.is_floating_point()]
        if not where:
            return outputs
        links = [t for t in (*ctx.saved_tensors, *args) if isinstance(t, Tensor) and t.requires_grad]
        if not links:
            raise RuntimeError(f"{SECOND_ORDER_MESSAGE}; this kernel refuses create_graph=True")
        grads = [items[i].detach() for i in where]
        # The clone keeps the refusing node's outputs apart from any buffer the backward reuses.
        wrapped = _RefuseSecondOrder.apply(len(grads), *grads, *links)
        result = list(items)
        for i, tensor in zip(where, wrapped, strict=True):
            result[i] = tensor
        return result[0] if single else tuple(result)

    return wrapper


__all__ = ["SECOND_ORDER_MESSAGE", "first_order_only"]
