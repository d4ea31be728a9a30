"""timm backbone without timm: one line naming the extra (the with-timm test is tests/peer/test_peer_timm.py)."""

from __future__ import annotations

import sys

import pytest

from contrastkit.vision import timm_backbone


def test_missing_timm_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", None)
    with pytest.raises(ImportError, match=r"contrastkit\[timm\]"):
        timm_backbone("resnet18")
