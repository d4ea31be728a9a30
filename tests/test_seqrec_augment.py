"""CL4SRec augmentations: padding untouched, p = 0 is the identity, each operation checked row by row."""

import pytest
import torch

from contrastkit.seqrec.augment import CL4SRecAugment, crop, lengths, mask, reorder

MASK = 99


def batch():
    g = torch.Generator().manual_seed(1)
    n = torch.randint(1, 13, (64,), generator=g)
    seq = torch.zeros(64, 12, dtype=torch.long)
    for r in range(64):
        seq[r, 12 - n[r]:] = torch.randperm(50, generator=g)[: n[r]] + 1  # distinct items per row
    return seq


def test_identity_at_zero():
    seq = batch()
    assert torch.equal(crop(seq, 0.0), seq)
    assert torch.equal(mask(seq, 0.0, MASK), seq)
    assert torch.equal(reorder(seq, 0.0), seq)
    assert torch.equal(CL4SRecAugment(MASK, crop=0, mask=0, reorder=0)(seq), seq)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9, 1.0])
def test_crop_is_contiguous_suffix_aligned(p):
    seq = batch()
    out = crop(seq, p, torch.Generator().manual_seed(0))
    for row, new in zip(seq, out, strict=True):
        items = row[row != 0].tolist()
        kept = new[new != 0].tolist()
        assert (new[: len(new) - len(kept)] == 0).all()  # still left-padded
        n = len(items)
        assert len(kept) == max(1, n - int(p * n))
        assert any(items[s:s + len(kept)] == kept for s in range(n - len(kept) + 1))


@pytest.mark.parametrize("p", [0.3, 0.7, 1.0])
def test_mask_count_and_padding(p):
    seq = batch()
    out = mask(seq, p, MASK, torch.Generator().manual_seed(0))
    assert torch.equal(out == 0, seq == 0)
    changed = out != seq
    assert (out[changed] == MASK).all()
    assert torch.equal(changed.sum(1), (p * lengths(seq).double()).floor().long())


@pytest.mark.parametrize("p", [0.3, 0.6, 1.0])
def test_reorder_permutes_one_span(p):
    seq = batch()
    out = reorder(seq, p, torch.Generator().manual_seed(0))
    assert torch.equal(out == 0, seq == 0)
    for row, new in zip(seq, out, strict=True):
        assert sorted(row.tolist()) == sorted(new.tolist())
        diff = (row != new).nonzero().flatten()
        if len(diff):
            span = int(p * int((row != 0).sum()))
            assert int(diff.max() - diff.min()) < span


def test_mixture_uses_each_operation_and_is_seeded():
    seq = batch()
    aug = CL4SRecAugment(MASK)
    a = aug(seq, torch.Generator().manual_seed(3))
    b = aug(seq, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert (a == MASK).any(1).sum() > 0                      # some rows masked
    assert ((a == 0) & (seq != 0)).any(1).sum() > 0          # some rows cropped
    assert ((seq == 0) <= (a == 0)).all()                    # padding is never filled


def test_bad_rates():
    with pytest.raises(ValueError, match="p: expected a rate in"):
        crop(batch(), 1.5)
    with pytest.raises(ValueError, match="operations"):
        CL4SRecAugment(MASK, operations=("shuffle",))
