"""SupReMix (Wu et al., 2023) reproduction: ``python -m contrastkit.papers.supremix.reproduce``."""
