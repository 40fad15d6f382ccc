"""Training of the registered models: data, device, loop, checkpoints, artifacts."""
