"""When a run counts as collapsed: its generator draws one digit, or a few, whatever its noise.

The Inception Score of ten balanced classes is about 10 and of a single class 1, so IS < 3
means a few classes at most. Within a group of runs of one spec (seeds), a run whose FID is
more than 5× the group's median has failed where its siblings trained.
"""

from __future__ import annotations

import statistics
from typing import Mapping, Sequence

IS_BELOW = 3.0
FID_ABOVE_MEDIAN = 5.0


def looks_collapsed(metrics: Mapping[str, float]) -> bool:
    """One evaluation on its own: IS below :data:`IS_BELOW`."""
    return metrics["is_mean"] < IS_BELOW


def collapsed_in_group(group: Sequence[Mapping[str, float]]) -> list[bool]:
    """For each run's evaluation in a group of seeds: IS too low, or FID > 5× the group's median."""
    median = statistics.median(m["fid"] for m in group)
    return [looks_collapsed(m) or m["fid"] > FID_ABOVE_MEDIAN * median for m in group]
