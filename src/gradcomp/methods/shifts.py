"""Shifts: the state of every DCGD-SHIFT method (shift paper, Algorithm 1 and Table 2).

Client m compresses the difference between its vector ``v_m`` (a gradient, or a local
method's message) and its shift ``h_m``, and the server adds the shifts back:

.. math:: \\Delta_m = Q(v_m - h_m), \\qquad \\hat g = \\frac1M \\sum_m (h_m + \\Delta_m).

How ``h_m`` evolves is the method: fixed (DCGD-FIXED, DCGD-STAR), learned with a step alpha
on the compressed difference (DIANA, DIANA-RR, DIANA-NASTYA:
``h_m <- h_m + alpha Delta_m``), or refreshed with the uncompressed vector at random rounds
(Rand-DIANA). :class:`Shifts` holds them, one per client, or one per client and minibatch
slot (DIANA-RR), for every replica: shape (slots, R, M, d); ``h_bar`` is their client mean,
kept up to date by the coordinate path (which never forms ``h.mean``).

With a sparsifier (``compressor.sparse_path``), ``Delta_m`` lives on the k coordinates
``S_m`` the client sends: :meth:`Shifts.estimate_at` touches O(R M k) entries of the state
besides the gradient.
"""

from __future__ import annotations

import numpy as np

from .coords import client_mean_scatter


class Shifts:
    """``h`` (slots, R, M, d), zero at the start, and ``h_bar`` (slots, R, d)."""

    def __init__(self, R: int, M: int, d: int, slots: int = 1):
        self.h = np.zeros((slots, R, M, d))
        self.h_bar = np.zeros((slots, R, d))
        self.clients = np.arange(M)[:, None]   # row m of an (M, k) index array is client m

    def estimate(self, V: np.ndarray, compress, slot: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``(g_hat (R, d), Delta (R, M, d))`` for the vectors ``V`` (R, M, d)."""
        h = self.h[slot]
        delta = compress(V - h)
        g_hat = h.mean(axis=1)
        g_hat += delta.mean(axis=1)
        return g_hat, delta

    def learn(self, delta: np.ndarray, alpha: float, slot: int = 0) -> None:
        """``h_m <- h_m + alpha Delta_m`` (DIANA)."""
        self.h[slot] += alpha * delta

    def estimate_at(self, Vs: np.ndarray, S: np.ndarray, scale: float, slot: int = 0):
        """:meth:`estimate` for a sparsifier: ``Vs`` (R, M, k) holds ``v_m[S_m]``.

        Returns ``(g_hat (R, d), delta (R, M, k), delta_bar (R, d), h_S (R, M, k))``:
        the nonzeros of ``Delta_m = scale (v_m - h_m)`` on ``S_m``, their client mean, and
        the shifts there.
        """
        h, h_bar = self.h[slot], self.h_bar[slot]
        hS = h[:, self.clients, S]
        delta = scale * (Vs - hS)                       # nonzeros of Q(v_m - h_m)
        delta_bar = client_mean_scatter(delta, S, h.shape[2])
        g_hat = h_bar + delta_bar
        return g_hat, delta, delta_bar, hS

    def learn_at(self, S: np.ndarray, hS: np.ndarray, delta: np.ndarray, delta_bar: np.ndarray,
                 alpha: float, slot: int = 0) -> None:
        """:meth:`learn` on the coordinates ``S`` only."""
        self.h[slot][:, self.clients, S] = hS + alpha * delta
        self.h_bar[slot] += alpha * delta_bar

    def keep(self, mask: np.ndarray) -> None:
        """Drop the shifts of replicas where ``mask`` is False (frozen replicas)."""
        self.h = np.ascontiguousarray(self.h[:, mask])
        self.h_bar = np.ascontiguousarray(self.h_bar[:, mask])
