"""A run: its modes (transfer, texture, separate, reconstruct), the optimizer driving them,
checkpoints and channel handling."""
