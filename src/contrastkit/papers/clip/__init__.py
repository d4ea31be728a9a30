"""clip reproduction with preconditions and paired claims: ``python -m contrastkit.papers.clip.reproduce``."""
