"""CWCL (Srinivasa et al., NeurIPS 2023) reproduction: ``python -m contrastkit.papers.cwcl.reproduce``."""
