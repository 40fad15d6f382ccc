"""Benchmarks of the workflow's stages (run as ``python -m genreflow.benchmarks.<stage>``)."""
