"""Data sources: registered datasets as in-memory image tensors with labels, and their image geometry."""
