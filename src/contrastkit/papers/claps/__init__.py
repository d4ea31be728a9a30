"""CLAPS (Lee, Lee & Hwang, ICLR 2021) reproduction: ``python -m contrastkit.papers.claps.reproduce``."""
