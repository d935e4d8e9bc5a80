"""When a run counts as collapsed: its generator draws one digit, or a few, whatever its noise.

The Inception Score of ten balanced classes is about 10 and of a single class 1, so IS < 3
means a few classes at most. Within a group of runs of one spec (seeds), a run whose FID is
more than 5× the group's median has failed where its siblings trained.

A class-conditional G can also lose one class while drawing the others well (its images for
that class go blank, docs/results.md, "The lost class"): a class whose FID is more than 5× the
median over the classes is lost. In the first conditional study (hinge loss) the four runs that
lost class 0 had it at 12–33× their median; every other class of every run stayed under 5×.
"""

from __future__ import annotations

import statistics
from typing import Mapping, Sequence

IS_BELOW = 3.0
FID_ABOVE_MEDIAN = 5.0


def looks_collapsed(metrics: Mapping[str, float]) -> bool:
    """One evaluation on its own: IS below :data:`IS_BELOW`."""
    return metrics["is_mean"] < IS_BELOW


def lost_classes(metrics: Mapping[str, object]) -> list[int]:
    """The classes of one evaluation whose FID exceeds :data:`FID_ABOVE_MEDIAN` × the median
    over its classes (``metrics["class_fids"]``, from ``ganparts eval`` of a conditional G);
    empty for an unconditional one."""
    fids = metrics.get("class_fids")
    if not fids:
        return []
    median = statistics.median(fids)
    return [c for c, fid in enumerate(fids) if fid > FID_ABOVE_MEDIAN * median]


def collapsed_in_group(group: Sequence[Mapping[str, float]]) -> list[bool]:
    """For each run's evaluation in a group of seeds: IS too low, or FID > 5× the group's median."""
    median = statistics.median(m["fid"] for m in group)
    return [looks_collapsed(m) or m["fid"] > FID_ABOVE_MEDIAN * median for m in group]
