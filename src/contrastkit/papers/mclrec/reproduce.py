"""Reproduction of mclrec on MovieLens-100k; shared protocol and claims: :mod:`contrastkit.papers._seqrec`.

Settings: ``papers/mclrec/recipe.yaml``.
"""

from contrastkit.papers._seqrec import mclrec as reproduce

__all__ = ["reproduce"]
