"""hydra reproduction with preconditions and paired claims: ``python -m contrastkit.papers.hydra.reproduce``."""
