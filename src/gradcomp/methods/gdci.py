"""Distributed GDCI: gradient descent with compressed iterates (shift paper, eq. (13),
Theorem 5; Chraibi et al. 2019).

.. math::

    x^{k+1} = (1 - \\eta) x^k + \\eta \\frac1n \\sum_{m=1}^n Q_m\\big(x^k - \\gamma \\nabla f_m(x^k)\\big)

Each client sends its compressed local model after one gradient step. Two stepsizes, so
two axes: the local step gamma and the relaxation eta. Without compression it is gradient
descent with stepsize ``gamma eta``; with it the iterates stall in a neighbourhood of x*
(bound (14)) unless ``x* = gamma grad f_m(x*)`` for every m (interpolation).
"""

from __future__ import annotations

import numpy as np

from ..registry import ConfigError
from .base import METHODS, Method, stepsize_rule
from .coords import client_mean_scatter


@METHODS.register("gdci")
class GDCI(Method):
    axes = ("gamma", "eta")

    @classmethod
    def check(cls, cfg: dict) -> None:
        if cfg["shifts"] != "none":
            raise ConfigError(f"method {cfg['name']!r}: GDCI keeps no shifts (method.shifts=none)")

    def round(self, X, steps):
        gamma, eta = steps["gamma"], steps["eta"]
        batch, _ = self.sampler.next_round()
        q, rng = self.compressor, self.rng
        if self.uses_coordinates:
            S = q.sample(rng, self.M)
            Vs = X[:, S] - gamma[:, None, None] * self.problem.batch_grads_at(batch, X, S)
            mean = q.scale * client_mean_scatter(Vs, S, self.d)
        else:
            V = X[:, None, :] - gamma[:, None, None] * self.problem.batch_grads(batch, X)
            mean = self.send(V).mean(axis=1)
        X *= (1.0 - eta)[:, None]
        X += eta[:, None] * mean
        return batch.n_rows, self.bits()

    def bound(self, steps, dist0):
        """Theorem 5, bound (14): ``(1 - eta)^k`` plus
        ``eta (2 omega / n) 1/n sum_m ||x* - gamma grad f_m(x*)||^2`` (relative)."""
        if self.setup.cfg["sampling"] != "full" or self.setup.x_star is None:
            return None
        gamma, eta, n = steps["gamma"], steps["eta"], self.M
        xs = self.setup.x_star
        g_star = self.problem.client_grads(xs)                       # (M, d)
        spread = np.mean(np.sum((xs[None, None, :] - gamma[:, None, None] * g_star[None]) ** 2, axis=2), axis=1)
        omega = self.compressor.client_omega
        return 1.0 - eta, eta * (2.0 * omega / n) * spread / dist0


@stepsize_rule("shift_thm5", axes=("gamma", "eta"))
def steps_shift_thm5(c, q, m) -> tuple[float, float]:
    """Distributed GDCI, shift paper Theorem 5:
    ``eta = [L/mu + (2 omega / n)(L_max/mu - 1)]^-1`` and
    ``gamma = (1 + 2 eta omega / n) / (eta (L + 2 L_max omega / n))``, L_max = max_m L_m."""
    omega, n, L_max = q.client_omega, c.M, max(c.L_m)
    eta = 1.0 / (c.L / c.mu + (2.0 * omega / n) * (L_max / c.mu - 1.0))
    gamma = (1.0 + 2.0 * eta * omega / n) / (eta * (c.L + 2.0 * L_max * omega / n))
    return gamma, eta
