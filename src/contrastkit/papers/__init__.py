"""One folder per paper reproduction: ``reproduce.py`` (the miniature), ``recipe.yaml`` (every setting,
seed and claim threshold) and ``README.md`` (the protocol and the measured outcome)."""
