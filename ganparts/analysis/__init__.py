"""Looking at networks without training them: load a trained run, generate, probe attention, draw pictures."""
