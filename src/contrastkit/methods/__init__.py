"""Training schemes built from the parts, as Lightning modules."""

from contrastkit.methods.view_contrastive import SimCLR, SupCon, ViewContrastive

__all__ = ["SimCLR", "SupCon", "ViewContrastive"]
