"""Reproduction of sra_cl on MovieLens-100k; shared protocol and claims: :mod:`contrastkit.papers._seqrec`.

Settings: ``papers/sra_cl/recipe.yaml``.
"""

from contrastkit.papers._seqrec import sra_cl as reproduce

__all__ = ["reproduce"]
