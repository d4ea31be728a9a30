"""contrastkit: contrastive representation learning as composable parts."""

from contrastkit import functional, losses, mining

__version__ = "0.1.0"
__all__ = ["__version__", "functional", "losses", "mining"]
