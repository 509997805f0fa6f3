"""Batch runs: a CSV manifest of single commands (manifest), run here or on Dask (runner)."""
