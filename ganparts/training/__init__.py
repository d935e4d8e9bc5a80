"""Training: the Trainer loop, its state, callbacks, EMA, non-finite guard, acceleration, DDP and preflight."""
