"""rankgen reproduction with preconditions and paired claims: ``python -m contrastkit.papers.rankgen.reproduce``."""
