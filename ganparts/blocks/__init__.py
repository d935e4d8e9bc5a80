"""Interchangeable building blocks: attention, normalisation."""
