"""EF21-SGD: error feedback with a contractive compressor (rr paper, Figure 8 baseline).

.. math::

    g_m \\leftarrow g_m + \\mathcal C(\\nabla f_{m,B_m}(x) - g_m), \\quad
    x \\leftarrow x - \\gamma \\frac1M \\sum_m g_m ,

with ``C = Q / (omega + 1)``, which contracts with ``a = 1 / (omega + 1)`` for an unbiased
``Q`` of variance omega (for Rand-k, C keeps k coordinates unscaled). Richtarik et al.
2021 (EF21), with the stochastic gradients of Fatkhullin et al. 2021 (EF21-SGD); the rr
paper gives no code for it (spec 2.9). As FL_PyTorch's EF21, ``g_m`` starts at the first
stochastic gradient, sent uncompressed (our choice, marked in conf/method/ef21_sgd.yaml):
the first round is dense, later rounds send the compressed difference.
"""

from __future__ import annotations

import numpy as np

from .coords import client_mean_scatter


class EF21:
    def __init__(self, R: int, M: int, d: int, omega: float):
        self.c = 1.0 / (omega + 1.0)
        self.g: np.ndarray | None = None      # (R, M, d), the clients' estimators g_m
        self.g_bar: np.ndarray | None = None  # (R, d), 1/M sum_m g_m

    @property
    def needs_dense_step(self) -> bool:
        """The first round initialises ``g_m`` with a whole gradient (no coordinate path)."""
        return self.g is None

    def step(self, X: np.ndarray, G: np.ndarray, compress, gamma: np.ndarray, slot: int) -> None:
        """Update ``X`` (R, d) in place from the gradients ``G`` (R, M, d)."""
        if self.g is None:
            self.g = G.copy()
        else:
            self.g += self.c * compress(G - self.g)
        self.g_bar = self.g.mean(axis=1)
        X -= gamma[:, None] * self.g_bar

    def step_coords(self, X: np.ndarray, Gs: np.ndarray, S: np.ndarray, scale: float,
                    gamma: np.ndarray, slot: int) -> None:
        """The same update for a sparsifier: ``C(v)_m = c * scale * v_m`` on ``S_m`` only."""
        clients = np.arange(S.shape[0])[:, None]
        gS = self.g[:, clients, S]
        delta = (self.c * scale) * (Gs - gS)
        self.g[:, clients, S] = gS + delta
        self.g_bar += client_mean_scatter(delta, S, X.shape[1])
        X -= gamma[:, None] * self.g_bar

    def keep(self, mask: np.ndarray) -> None:
        """Drop the estimators of replicas where ``mask`` is False (frozen replicas)."""
        if self.g is not None:
            self.g = np.ascontiguousarray(self.g[mask])
            self.g_bar = np.ascontiguousarray(self.g_bar[mask])
