"""EF21-SGD: error feedback with a contractive compressor (rr paper, Figure 8 baseline).

.. math::

    g_m \\leftarrow g_m + \\mathcal C(\\nabla f_{m,B_m}(x) - g_m), \\quad
    x \\leftarrow x - \\gamma \\frac1M \\sum_m g_m ,

with C the compressor itself when it is contractive (B(delta), e.g. Top-k), and
``C = Q / (omega + 1)`` for an unbiased Q of variance omega, which contracts with
``delta = 1 / (omega + 1)`` (for Rand-k, C keeps k coordinates unscaled). Richtarik et al.
2021 (EF21), with the stochastic gradients of Fatkhullin et al. 2021 (EF21-SGD); the rr
paper gives no code for it (spec 2.9). As FL_PyTorch's EF21, ``g_m`` starts at the first
stochastic gradient, sent uncompressed (our choice, marked in conf/method/ef21_sgd.yaml):
the first round is dense, later rounds send the compressed difference.
"""

from __future__ import annotations

import numpy as np

from ..registry import ConfigError
from .base import METHODS, Method, stepsize_rule
from .coords import client_mean_scatter


def contraction(q) -> tuple[float, float]:
    """``(c, delta)``: EF21 applies ``c Q`` (c = 1 for a contractive Q), which is in B(delta)."""
    if q.kind == "contractive":
        return 1.0, float(q.delta)
    c = 1.0 / (q.client_omega + 1.0)
    return c, c


@METHODS.register("ef21")
class EF21(Method):
    needs = "contractive"

    @classmethod
    def check(cls, cfg: dict) -> None:
        if cfg["shifts"] != "none":
            raise ConfigError(f"method {cfg['name']!r}: EF21 keeps its own estimators (method.shifts=none)")

    def __init__(self, setup):
        super().__init__(setup)
        self.c, self.delta = contraction(self.compressor)
        self.g: np.ndarray | None = None      # (R, M, d), the clients' estimators g_m
        self.g_bar: np.ndarray | None = None  # (R, d), 1/M sum_m g_m

    def round(self, X, steps):
        gamma = steps["gamma"]
        batch, _ = self.sampler.next_round()
        q, rng = self.compressor, self.rng
        if self.g is None:
            # the first round initialises g_m with a whole gradient
            self.g = self.problem.batch_grads(batch, X).copy()
            self.g_bar = self.g.mean(axis=1)
        elif self.uses_coordinates:
            S = q.sample(rng, self.M)
            Gs = self.problem.batch_grads_at(batch, X, S)
            clients = np.arange(S.shape[0])[:, None]
            gS = self.g[:, clients, S]
            delta = (self.c * q.scale) * (Gs - gS)
            self.g[:, clients, S] = gS + delta
            self.g_bar += client_mean_scatter(delta, S, X.shape[1])
        else:
            G = self.problem.batch_grads(batch, X)
            self.g += self.c * self.send(G - self.g)
            self.g_bar = self.g.mean(axis=1)
        X -= gamma[:, None] * self.g_bar
        return batch.n_rows, self.bits()

    def keep(self, mask):
        if self.g is not None:
            self.g = np.ascontiguousarray(self.g[mask])
            self.g_bar = np.ascontiguousarray(self.g_bar[mask])

    def info(self):
        return {"ef21_delta": self.delta}


@stepsize_rule("ef21")
def gamma_ef21(c, q, m) -> float:
    """EF21 (Richtarik et al. 2021) with the refined analysis of "EF21 reloaded"
    (Richtarik, Gasanov, Burlachenko 2024, arXiv 2402.10774), which the rr paper cites for
    Figure 8 without printing the formula (spec 2.9):

    ``gamma = 1 / (L + L_AM sqrt(beta / theta))``, ``theta = 1 - sqrt(1 - a)``,
    ``beta = (1 - a) / (1 - sqrt(1 - a))``, ``L_AM = 1/M sum_m L_m``, with the contraction
    ``a = delta`` of C (``1 / (omega + 1)`` for ``C = Q / (omega + 1)``). The
    stochastic-gradient terms of EF21-SGD are not in it (our choice; the paper gives none).
    ``a = 1`` gives ``1 / L``.
    """
    a = m.delta
    s = np.sqrt(1.0 - a)
    theta, beta = 1.0 - s, (1.0 - a) / (1.0 - s)
    L_am = float(np.mean(c.L_m))
    return float(1.0 / (c.L + L_am * np.sqrt(beta / theta)))
