"""Recipes -> trained, evaluated, saved runs. The layer the CLI calls."""
