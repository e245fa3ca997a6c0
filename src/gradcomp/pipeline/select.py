"""Pick the best stepsize multiplier of a run by the rule written in the figure config."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class SelectionError(RuntimeError):
    pass


@dataclass
class Selection:
    index: int
    multiplier: float
    best: np.ndarray          # (R,) lowest metric reached per replica (inf if none)
    reach: np.ndarray         # (R,) data passes to reach tie_factor * level (nan if never)
    level: float              # lowest metric over all replicas


def select(trace: dict, metric: str, tie_factor: float, within=None) -> Selection:
    """Lowest ``metric`` reached; among replicas within ``tie_factor`` of it, the fastest.

    "Fastest" is the fewest data passes until the metric first drops to
    ``tie_factor * level``; remaining ties go to the smaller multiplier (the grid is
    ascending and ``argmin`` returns the first index). ``within`` (T,) bool: only these
    records count (a budget on the x axis).
    """
    from ..report.axes import y_values

    Y = y_values(trace, metric)  # (T, R)
    if within is not None:
        Y = np.where(np.asarray(within)[:, None], Y, np.nan)
    passes = np.asarray(trace["passes"], dtype=float)
    with np.errstate(invalid="ignore"):
        best = np.where(np.all(np.isnan(Y), axis=0), np.inf, np.nanmin(np.where(np.isnan(Y), np.inf, Y), axis=0))
    level = float(np.min(best))
    if not np.isfinite(level):
        raise SelectionError("every multiplier of the grid diverged: widen the grid towards smaller values")
    thr = tie_factor * level
    hit = Y <= thr  # NaN compares False
    reach = np.where(hit.any(axis=0), passes[np.argmax(hit, axis=0)], np.nan)
    cand = np.where(best <= thr, reach, np.inf)
    idx = int(np.argmin(cand))
    return Selection(idx, float(trace["multipliers"][idx]), best, reach, level)
