"""Compressed gradient descent: QSGD and Q-RR.

.. math:: x_{t+1} = x_t - \\gamma \\frac1M \\sum_{m=1}^M Q\\big(\\nabla f_{m,B_m}(x_t)\\big)

QSGD (Alistarh et al. 2017) samples B_m with replacement; Q-RR is Algorithm 1 of the rr
paper (Sadiev et al. 2024), with B_m the random-reshuffling minibatches. The two differ
only in the sampler, which the loop supplies.
"""

from __future__ import annotations

import numpy as np

from .coords import client_mean_scatter


class DCGD:
    def __init__(self, R: int, M: int, d: int):
        pass

    def step(self, X: np.ndarray, G: np.ndarray, compress, gamma: np.ndarray, slot: int) -> int:
        """Update ``X`` (R, d) in place from the gradients ``G`` (R, M, d)."""
        X -= gamma[:, None] * compress(G).mean(axis=1)

    def step_coords(self, X: np.ndarray, Gs: np.ndarray, S: np.ndarray, scale: float,
                    gamma: np.ndarray, slot: int) -> None:
        """The same update from the sparsifier's coordinates: ``Q(g_m) = scale * g_m[S_m]``."""
        X -= (gamma * scale)[:, None] * client_mean_scatter(Gs, S, X.shape[1])

    def keep(self, mask: np.ndarray) -> None:
        """Drop the replicas where ``mask`` is False (no state to compact)."""
