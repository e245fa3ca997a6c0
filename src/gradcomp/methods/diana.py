"""DIANA-type methods: compress gradient *differences* to learned shifts.

.. math::

    \\Delta_m = Q(g_m - h_m), \\quad \\hat g_m = h_m + \\Delta_m, \\quad
    h_m \\leftarrow h_m + \\alpha \\Delta_m, \\quad
    x \\leftarrow x - \\gamma \\frac1M \\sum_m \\hat g_m .

* DIANA (Mishchenko et al. 2019): with-replacement minibatches, one shift per client.
* DIANA-RR (rr paper, Algorithm 2): reshuffled minibatches and one shift per minibatch
  slot j, ``h_m^j``. As the authors ran it, the permutation is drawn once, so slot j
  always holds the same rows and ``h_m^j`` learns ``grad f_{m,B_j}(x*)`` (spec 6.2).
* DIANA-RR-1S: DIANA-RR with a single shift per client.

All shifts start at 0, as in the authors' code.
"""

from __future__ import annotations

import numpy as np

from .coords import client_mean_scatter


class Diana:
    def __init__(self, R: int, M: int, d: int, alpha: float, n_shifts: int):
        self.alpha = alpha
        self.per_slot = n_shifts > 1
        self.h = np.zeros((n_shifts, R, M, d))
        # 1/M sum_m h_m, kept up to date by the coordinate path (which never forms h.mean).
        self.h_bar = np.zeros((n_shifts, R, d))

    def step(self, X: np.ndarray, G: np.ndarray, compress, gamma: np.ndarray, slot: int) -> None:
        h = self.h[slot if self.per_slot else 0]
        delta = compress(G - h)
        g_hat = h.mean(axis=1)
        g_hat += delta.mean(axis=1)
        h += self.alpha * delta
        X -= gamma[:, None] * g_hat

    def step_coords(self, X: np.ndarray, Gs: np.ndarray, S: np.ndarray, scale: float,
                    gamma: np.ndarray, slot: int) -> None:
        """The same update when Q is a sparsifier: ``Delta_m`` lives on the coordinates ``S_m``.

        ``Gs`` (R, M, k) holds ``g_m[S_m]``; only those coordinates of ``h_m`` change, so
        a round costs O(R M k) besides the gradient (instead of O(R M d)).
        """
        s = slot if self.per_slot else 0
        h, h_bar = self.h[s], self.h_bar[s]
        clients = np.arange(S.shape[0])[:, None]
        hS = h[:, clients, S]
        delta = scale * (Gs - hS)                       # nonzeros of Q(g_m - h_m)
        delta_bar = client_mean_scatter(delta, S, X.shape[1])
        g_hat = h_bar + delta_bar
        h[:, clients, S] = hS + self.alpha * delta
        h_bar += self.alpha * delta_bar
        X -= gamma[:, None] * g_hat

    def keep(self, mask: np.ndarray) -> None:
        """Drop the shifts of replicas where ``mask`` is False (frozen replicas)."""
        self.h = np.ascontiguousarray(self.h[:, mask])
        self.h_bar = np.ascontiguousarray(self.h_bar[:, mask])
