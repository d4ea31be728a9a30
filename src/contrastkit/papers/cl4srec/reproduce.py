"""Reproduction of cl4srec on MovieLens-100k; shared protocol and claims: :mod:`contrastkit.papers._seqrec`.

Settings: ``papers/cl4srec/recipe.yaml``.
"""

from contrastkit.papers._seqrec import cl4srec as reproduce

__all__ = ["reproduce"]
