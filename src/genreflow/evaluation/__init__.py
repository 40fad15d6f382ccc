"""Evaluation: test predictions of one trained fold model, metrics, and the aggregated report."""
