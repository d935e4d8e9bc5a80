"""Run directories on disk: layout, atomic writes, checkpoints, listing and background jobs."""
