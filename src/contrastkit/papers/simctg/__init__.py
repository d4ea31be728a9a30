"""simctg reproduction with preconditions and paired claims: ``python -m contrastkit.papers.simctg.reproduce``."""
