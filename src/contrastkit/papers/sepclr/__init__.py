"""SepCLR (Louiset et al., ICLR 2024) reproduction: ``python -m contrastkit.papers.sepclr.reproduce``."""
