"""The sparse-pair dense path equals the weight-matrix dense path (values and gradients)."""

import pytest
import torch

from contrastkit.losses import DCL, DCLW, InfoNCE

CASES = {
    "two_view": (lambda: InfoNCE(0.1), {}),
    "symmetric": (lambda: InfoNCE(0.07, mode="symmetric"), {}),
    "a_to_b_negatives": (lambda: InfoNCE(0.05, mode="a_to_b"), {"negatives": True}),
    "two_view_negatives": (lambda: InfoNCE(0.2), {"negatives": True}),
    "supcon": (lambda: InfoNCE(0.1), {"labels": True}),
    "dcl": (lambda: DCL(0.1), {}),
    "dcl_labels": (lambda: DCL(0.1), {"labels": True}),
    "dclw": (lambda: DCLW(0.1, sigma=0.5), {}),
    "symmetric_negatives": (lambda: InfoNCE(0.07, mode="symmetric"), {"negatives": True}),
    "dcl_symmetric": (lambda: DCL(0.1, mode="symmetric"), {}),
    "dclw_symmetric": (lambda: DCLW(0.1, mode="symmetric"), {}),
    "none_reduction": (lambda: InfoNCE(0.1, reduction="none"), {}),
}


def _run(loss, a, b, extra, dense: bool, monkeypatch):
    if dense:
        monkeypatch.setattr(type(loss), "_sparse_positive_pairs", lambda self, d, logits: None)
    else:
        monkeypatch.undo()
    a, b = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
    value = loss(a, b, **extra)
    grads = torch.autograd.grad(value.sum(), (a, b))
    return value.detach(), grads


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.bfloat16])
def test_pair_path_matches_weight_matrix_path(name, dtype, monkeypatch):
    make, options = CASES[name]
    g = torch.Generator().manual_seed(1)
    a = torch.randn(24, 8, generator=g, dtype=torch.float64).to(dtype)
    b = (a.double() + 0.5 * torch.randn(24, 8, generator=g, dtype=torch.float64)).to(dtype)
    extra = {}
    if options.get("labels"):
        extra["labels"] = torch.randint(0, 10, (24,), generator=g)
    if options.get("negatives"):
        extra["negatives"] = torch.randn(5, 8, generator=g, dtype=torch.float64).to(dtype)
    loss = make()
    fast_value, fast_grads = _run(loss, a, b, extra, False, monkeypatch)
    dense_value, dense_grads = _run(loss, a, b, extra, True, monkeypatch)
    monkeypatch.undo()
    tol = {torch.float64: 1e-12, torch.float32: 1e-5, torch.bfloat16: 1e-2}[dtype]
    torch.testing.assert_close(fast_value, dense_value, rtol=tol, atol=tol)
    for f, d in zip(fast_grads, dense_grads, strict=True):
        torch.testing.assert_close(f, d, rtol=tol, atol=tol)


def test_pair_path_is_taken_for_hard_positives_only():
    loss = InfoNCE(0.1)
    from contrastkit.functional.problem import build_problem

    a, b = torch.randn(6, 3), torch.randn(6, 3)
    (direction,) = build_problem(a, b, mode="two_view").directions
    logits = loss.logits(direction, 0.1)
    rows, cols = loss._sparse_positive_pairs(direction, logits)
    assert sorted(zip(rows.tolist(), cols.tolist(), strict=True)) == sorted(
        [(i, (i + 6) % 12) for i in range(12)])
    (soft,) = build_problem(a, b, mode="two_view", weights=torch.ones(6, 6)).directions
    assert loss._sparse_positive_pairs(soft, logits) is None
