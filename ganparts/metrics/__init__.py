"""Metrics of generated digits: a trained MNIST feature network, FID, KID, IS, precision/recall."""
