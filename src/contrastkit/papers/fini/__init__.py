"""fini reproduction with preconditions and paired claims: ``python -m contrastkit.papers.fini.reproduce``."""
