"""Share a trained model: ``save_pretrained`` / ``from_pretrained`` (safetensors + JSON) and ``encode``.

::

    import contrastkit as ck
    ck.save_pretrained(model, "my-model")          # model.safetensors + config.json
    model = ck.from_pretrained("my-model")         # or a `contrastkit train` run folder
    emb = ck.encode(model, images, batch_size=256, progress=True)

Every model the library trains is covered (image encoders with their projection head, a timm
backbone, the CLIP / LiT towers, the TS2Vec encoder); a user's own class is registered with
:func:`register`, or passed to ``from_pretrained(path, encoder=MyEncoder)``.
"""

from contrastkit.pretrained.encode import encode
from contrastkit.pretrained.io import FORMAT, from_pretrained, read_config, save_pretrained
from contrastkit.pretrained.registry import register, registered_names
from contrastkit.pretrained.two_tower import ImageTextModel

__all__ = ["FORMAT", "ImageTextModel", "encode", "from_pretrained", "read_config", "register",
           "registered_names", "save_pretrained"]
