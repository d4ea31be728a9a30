"""timm backbone against timm itself (timm pulls torchvision: runs in the peer environment, make peer-parity)."""

from __future__ import annotations

import pytest
import torch

from contrastkit.vision.encoders import timm_backbone

pytestmark = pytest.mark.peer


def test_timm_backbone_features():
    pytest.importorskip("timm", reason="timm pulls torchvision; it is installed in the peer environment only")
    import timm

    net = timm_backbone("resnet18", in_channels=1).eval()
    x = torch.rand(2, 1, 32, 32)
    out = net(x)
    assert out.shape == (2, net.feature_dim) == (2, 512)
    ref = timm.create_model("resnet18", pretrained=False, num_classes=0, in_chans=1)
    ref.load_state_dict(net.model.state_dict())
    torch.testing.assert_close(out, ref.eval()(x))
    with pytest.raises(ValueError, match="name:"):
        timm_backbone("no_such_model_xyz")
    with pytest.raises(ValueError, match="x:"):
        net(torch.rand(2, 3, 32, 32))
