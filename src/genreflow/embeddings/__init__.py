"""Pretrained audio embeddings: models converted once into committed weights (musicnn)."""
