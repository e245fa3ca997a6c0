"""Compressed gradient descent with a fixed shift: QSGD, Q-RR, DCGD, DCGD-FIXED, DCGD-STAR.

.. math:: x_{t+1} = x_t - \\gamma \\frac1M \\sum_{m=1}^M \\big(h_m + Q(\\nabla f_{m,B_m}(x_t) - h_m)\\big)

* ``shift: zero`` (h_m = 0): QSGD (Alistarh et al. 2017) with with-replacement minibatches;
  Q-RR, Algorithm 1 of the rr paper (Sadiev et al. 2024), with random-reshuffling
  minibatches; DCGD (Khirirat et al. 2018) with full local gradients.
* ``shift: x0``: DCGD-FIXED (shift paper, eq. (6), Table 2 "DCGD-SHIFT"), a fixed shift
  h_m = grad f_m(x^0) (the paper leaves s_m^0 open: our choice).
* ``shift: x_star``: DCGD-STAR (shift paper, eq. (8)), h_m = grad f_m(x*). Its biased part
  C_m (eq. (8), same-iteration reading, spec 2.3) is the induced compressor: with
  ``compressor=induced`` the message is ``C(v) + Q(v - C(v))``, ``v = grad f_m - h_m``,
  exactly the estimator of eq. (5).

The samplers differ only in the rows; the loop supplies nothing else.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from ..config import MethodConf, choice, extension
from ..registry import ConfigError
from .base import METHODS, Method, stepsize_rule
from .coords import client_mean_scatter
from .shifts import Shifts


class DCGDShift(enum.Enum):
    zero = "zero"
    x0 = "x0"
    x_star = "x_star"


@dataclass
class DCGDConf(MethodConf):
    #: which fixed shift h_m = grad f_m(point): zero (none), x0 or x_star
    shift: DCGDShift = extension(DCGDShift.zero)


@METHODS.register("dcgd")
class DCGD(Method):
    schema, schema_name = DCGDConf, "base_dcgd"

    @classmethod
    def check(cls, cfg: dict) -> None:
        if cfg["shifts"] != "none":
            raise ConfigError(f"method {cfg['name']!r}: DCGD keeps no learned shifts (method.shifts=none); "
                              "its fixed shift is method.shift")

    def __init__(self, setup):
        super().__init__(setup)
        point = choice(setup.cfg["shift"]) if "shift" in setup.cfg else "zero"
        self.shifts = None                # no shift: the plain (and cheapest) step
        if point != "zero":
            at = setup.x0 if point == "x0" else setup.x_star
            self.shifts = Shifts(setup.R, self.M, self.d)
            self.shifts.h[0] = self.problem.client_grads(at)      # fixed: never learned
            self.shifts.h_bar[0] = self.shifts.h[0].mean(axis=1)

    def round(self, X, steps):
        gamma = steps["gamma"]
        batch, _ = self.sampler.next_round()
        q, rng = self.compressor, self.rng
        if self.shifts is not None:
            if self.uses_coordinates:
                S = q.sample(rng, self.M)
                g_hat = self.shifts.estimate_at(self.problem.batch_grads_at(batch, X, S), S, q.scale)[0]
            else:
                g_hat = self.shifts.estimate(self.problem.batch_grads(batch, X), self.send)[0]
            X -= gamma[:, None] * g_hat
        elif self.uses_coordinates:
            S = q.sample(rng, self.M)
            X -= (gamma * q.scale)[:, None] * client_mean_scatter(self.problem.batch_grads_at(batch, X, S), S, self.d)
        else:
            X -= gamma[:, None] * self.send(self.problem.batch_grads(batch, X)).mean(axis=1)
        return batch.n_rows, self.bits()

    def keep(self, mask):
        if self.shifts is not None:
            self.shifts.keep(mask)

    def bound(self, steps, dist0):
        """Theorem 1, bound (7), for full local gradients: ``(1 - gamma mu)^k`` plus the
        neighbourhood ``(2 gamma / mu) 1/n sum_m (omega_m / n) ||grad f_m(x*) - h_m||^2``
        (relative to ``||x^0 - x*||^2``)."""
        if self.setup.cfg["sampling"] != "full" or self.setup.x_star is None:
            return None
        gamma, mu, n = steps["gamma"], self.setup.constants.mu, self.M
        g_star = self.problem.client_grads(self.setup.x_star)
        h = 0.0 if self.shifts is None else self.shifts.h[0][0]
        spread = float(np.mean(np.sum((g_star - h) ** 2, axis=1)))
        omega = self.compressor.client_omega
        return 1.0 - gamma * mu, (2.0 * gamma / mu) * (omega / n) * spread / dist0


def _A_sgd(c) -> float:
    """``A = max_m (L_max,m / b_m + (1 - 1/b_m) L_m)``: expected smoothness of a b_m-minibatch."""
    b = np.asarray(c.b_m, dtype=float)
    return float(np.max(np.asarray(c.L_max_m) / b + (1.0 - 1.0 / b) * np.asarray(c.L_m)))


@stepsize_rule("qsgd")
def gamma_qsgd(c, q, m) -> float:
    """QSGD (Gorbunov et al. 2020 via the authors' qsgd.py): ``M / (2 A (omega + 1))``."""
    return c.M / (2.0 * _A_sgd(c) * (q.client_omega + 1.0))


@stepsize_rule("q_rr")
def gamma_q_rr(c, q, m) -> float:
    """Q-RR, rr paper Theorem 2.1: ``1 / ((1 + 2 omega / M) L_max)``."""
    return 1.0 / (c.L_max * (1.0 + 2.0 * q.client_omega / c.M))


@stepsize_rule("shift_thm1")
def gamma_shift_thm1(c, q, m) -> float:
    """DCGD with a fixed shift, shift paper Theorem 1: ``1 / (L + 2 max_m(L_m omega_m / n))``
    (n = M clients; full local gradients)."""
    return 1.0 / (c.L + 2.0 * max(c.L_m) * q.client_omega / c.M)


@stepsize_rule("shift_thm2")
def gamma_shift_thm2(c, q, m) -> float:
    """DCGD-STAR, shift paper Theorem 2, eq. (9): ``1 / (L + max_m(L_m omega_m (1 - delta_m) / n))``.

    omega (1 - delta) is the variance of the induced compressor C + Q(. - C) (footnote 1),
    the compressor's own omega; with C = 0 it is Q's omega. (The paper prints "C_i in
    U(delta_i)"; B(delta_i) is meant, spec 2.7.)
    """
    return 1.0 / (c.L + max(c.L_m) * q.client_omega / c.M)
