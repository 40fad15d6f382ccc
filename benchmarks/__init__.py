"""Benchmarks of the workflow's stages (run as ``python -m benchmarks.<stage>``)."""
