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
* Generalized DIANA (shift paper, eq. (10), Theorem 3) with full local gradients: its
  biased part C_m is the induced compressor (``compressor=induced``): the clients send
  ``c_m = C(v_m)`` and ``m_m = Q(v_m - c_m)`` and ``h_m <- h_m + alpha (c_m + m_m)``, which
  is DIANA with Q replaced by ``C + Q(. - C)``. With C = 0 it is eq. (11).

All shifts start at 0, as in the authors' code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..config import MethodConf, extension
from ..registry import ConfigError
from .base import METHODS, Method, stepsize_rule
from .shifts import Shifts


@dataclass
class DianaConf(MethodConf):
    #: b of Theorem 3's Lyapunov weight M = b 2 / (n alpha) (rule shift_thm3 only)
    lyapunov_b: Optional[float] = extension(None)


def diana_alpha(alpha_scale: float, omega: float) -> float:
    """DIANA's shift stepsize ``alpha = alpha_scale / (omega + 1)`` (rr spec 6.4; shift
    Theorem 3 with the induced compressor's omega = omega (1 - delta))."""
    return alpha_scale / (omega + 1.0)


@METHODS.register("diana")
class Diana(Method):
    schema, schema_name = DianaConf, "base_diana"

    @classmethod
    def check(cls, cfg: dict) -> None:
        if cfg["shifts"] not in ("client", "slot"):
            raise ConfigError(f"method {cfg['name']!r}: DIANA keeps one shift per client (method.shifts=client) "
                              "or per client and minibatch slot (slot)")
        if cfg.get("alpha_scale") is None:
            raise ConfigError(f"method {cfg['name']!r}: DIANA needs method.alpha_scale (alpha = alpha_scale / (omega + 1))")

    def __init__(self, setup):
        super().__init__(setup)
        self.alpha = diana_alpha(float(setup.cfg["alpha_scale"]), self.compressor.client_omega)
        self.per_slot = setup.cfg["shifts"] == "slot"
        self.shifts = Shifts(setup.R, self.M, self.d, setup.constants.n_steps if self.per_slot else 1)

    def round(self, X, steps):
        gamma = steps["gamma"]
        batch, slot = self.sampler.next_round()
        s = slot if self.per_slot else 0
        q, rng = self.compressor, self.rng
        if self.uses_coordinates:
            S = q.sample(rng, self.M)
            Gs = self.problem.batch_grads_at(batch, X, S)
            g_hat, delta, delta_bar, hS = self.shifts.estimate_at(Gs, S, q.scale, s)
            self.shifts.learn_at(S, hS, delta, delta_bar, self.alpha, s)
        else:
            G = self.problem.batch_grads(batch, X)
            g_hat, delta = self.shifts.estimate(G, self.send, s)
            self.shifts.learn(delta, self.alpha, s)
        X -= gamma[:, None] * g_hat
        return batch.n_rows, self.bits()

    def keep(self, mask):
        self.shifts.keep(mask)

    def info(self):
        return {"alpha": self.alpha}


@stepsize_rule("diana")
def gamma_diana(c, q, m) -> float:
    """DIANA via the unified SGD theory of Gorbunov et al. 2020 (authors' diana.py).

    ``A = A_sgd (omega+1)/M + (omega-1) max_m L_m / M + L``, ``B = 2 omega / M``,
    ``B~ = 1 - alpha/2``, ``M~ = 1.0001 B / (1 - B~)``, ``A~ = alpha (A_sgd + max_m L_m)``,
    ``gamma = min(1/mu, 1/(A + M~ A~))``.
    """
    from .dcgd import _A_sgd

    omega, alpha = q.client_omega, m.alpha
    A_sgd = _A_sgd(c)
    L_m_max = max(c.L_m)
    A = A_sgd * (omega + 1.0) / c.M + (omega - 1.0) * L_m_max / c.M + c.L
    B = 2.0 * omega / c.M
    B_tilde = 1.0 - alpha / 2.0
    M_tilde = 1.0001 * B / (1.0 - B_tilde)
    A_tilde = alpha * (A_sgd + L_m_max)
    return min(1.0 / c.mu, 1.0 / (A + M_tilde * A_tilde))


@stepsize_rule("diana_rr")
def gamma_diana_rr(c, q, m) -> float:
    """DIANA-RR, rr paper Theorem 2.2: ``min(alpha / (2 n mu), 1 / ((1 + 6 omega / M) L_max))``."""
    return min(m.alpha / (2.0 * c.n_steps * c.mu), 1.0 / (c.L_max * (1.0 + 6.0 * q.client_omega / c.M)))


@stepsize_rule("shift_thm3", requires=("lyapunov_b",))
def gamma_shift_thm3(c, q, m) -> float:
    """Generalized DIANA, shift paper Theorem 3:
    ``gamma = 1 / ((2/n) max_m(omega_m L_m) + (1 + alpha M) L_max)`` with ``M = b 2 / (n alpha)``
    (``method.lyapunov_b``; the theorem needs M > 2 / (n alpha), i.e. b > 1; spec section 3
    takes b = 2) and L_max = max_m L_m. omega_m is the variance of Q alone (the unbiased
    part of an induced compressor); alpha = 1 / (1 + omega_m (1 - delta_m)) comes from the
    method (``alpha_scale = 1``). The paper's rate prints 2 omega / (n M) where its own
    condition M > 2 / (n alpha) implies 2 / (n M) (a misprint, spec section 3); the
    stepsize does not involve it.
    """
    n, L_max = c.M, max(c.L_m)
    M_lyap = float(m.setup.cfg["lyapunov_b"]) * 2.0 / (n * m.alpha)
    omega_q, _ = q.induced_parts()
    return 1.0 / ((2.0 / n) * omega_q * L_max + (1.0 + m.alpha * M_lyap) * L_max)
