"""Theoretical stepsizes of the rr paper's methods, as the authors' code computes them.

Every rule takes the problem constants, the compressor variance ``omega`` (and DIANA's
``alpha``). :data:`RULES` (one stepsize) return ``gamma_theory``; :data:`LOCAL_RULES`
(local methods) return ``(gamma_theory, eta_theory)``, the client and the server
stepsize. Experiments use ``multiplier * theory`` (spec section 3).
``n`` is the number of minibatch steps per epoch (10), not n_m (spec 6.3); local
methods take n local steps per round.
"""

from __future__ import annotations

import numpy as np

from ..problems.constants import Constants


def diana_alpha(alpha_scale: float, omega: float) -> float:
    """DIANA's shift stepsize ``alpha = alpha_scale / (omega + 1)`` (spec 6.4)."""
    return alpha_scale / (omega + 1.0)


def _A_sgd(c: Constants) -> float:
    """``A = max_m (L_max,m / b_m + (1 - 1/b_m) L_m)``: expected smoothness of a b_m-minibatch."""
    b = np.asarray(c.b_m, dtype=float)
    return float(np.max(np.asarray(c.L_max_m) / b + (1.0 - 1.0 / b) * np.asarray(c.L_m)))


def gamma_qsgd(c: Constants, omega: float, alpha: float | None = None) -> float:
    """QSGD (Gorbunov et al. 2020 via the authors' qsgd.py): ``M / (2 A (omega + 1))``."""
    return c.M / (2.0 * _A_sgd(c) * (omega + 1.0))


def gamma_q_rr(c: Constants, omega: float, alpha: float | None = None) -> float:
    """Q-RR, rr paper Theorem 2.1: ``1 / ((1 + 2 omega / M) L_max)``."""
    return 1.0 / (c.L_max * (1.0 + 2.0 * omega / c.M))


def gamma_diana(c: Constants, omega: float, alpha: float) -> float:
    """DIANA via the unified SGD theory of Gorbunov et al. 2020 (authors' diana.py).

    ``A = A_sgd (omega+1)/M + (omega-1) max_m L_m / M + L``, ``B = 2 omega / M``,
    ``B~ = 1 - alpha/2``, ``M~ = 1.0001 B / (1 - B~)``, ``A~ = alpha (A_sgd + max_m L_m)``,
    ``gamma = min(1/mu, 1/(A + M~ A~))``.
    """
    A_sgd = _A_sgd(c)
    L_m_max = max(c.L_m)
    A = A_sgd * (omega + 1.0) / c.M + (omega - 1.0) * L_m_max / c.M + c.L
    B = 2.0 * omega / c.M
    B_tilde = 1.0 - alpha / 2.0
    M_tilde = 1.0001 * B / (1.0 - B_tilde)
    A_tilde = alpha * (A_sgd + L_m_max)
    return min(1.0 / c.mu, 1.0 / (A + M_tilde * A_tilde))


def gamma_diana_rr(c: Constants, omega: float, alpha: float) -> float:
    """DIANA-RR, rr paper Theorem 2.2: ``min(alpha / (2 n mu), 1 / ((1 + 6 omega / M) L_max))``."""
    return min(alpha / (2.0 * c.n_steps * c.mu), 1.0 / (c.L_max * (1.0 + 6.0 * omega / c.M)))


def gamma_ef21(c: Constants, omega: float, alpha: float | None = None) -> float:
    """EF21 (Richtarik et al. 2021) with the refined analysis of "EF21 reloaded"
    (Richtarik, Gasanov, Burlachenko 2024, arXiv 2402.10774), which the rr paper cites for
    Figure 8 without printing the formula (spec 2.9):

    ``gamma = 1 / (L + L_AM sqrt(beta / theta))``, ``theta = 1 - sqrt(1 - a)``,
    ``beta = (1 - a) / (1 - sqrt(1 - a))``, ``L_AM = 1/M sum_m L_m``, with the contraction
    ``a = 1 / (omega + 1)`` of ``C = Q / (omega + 1)``. The stochastic-gradient terms of
    EF21-SGD are not in it (our choice; the paper gives none). ``a = 1`` gives ``1 / L``.
    """
    a = 1.0 / (omega + 1.0)
    s = np.sqrt(1.0 - a)
    theta, beta = 1.0 - s, (1.0 - a) / (1.0 - s)
    L_am = float(np.mean(c.L_m))
    return float(1.0 / (c.L + L_am * np.sqrt(beta / theta)))


RULES = {
    "qsgd": gamma_qsgd,
    "q_rr": gamma_q_rr,
    "diana": gamma_diana,
    "diana_rr": gamma_diana_rr,
    "ef21": gamma_ef21,
}


# ---- local methods: (client gamma, server eta) ----------------------------------------

def steps_q_nastya(c: Constants, omega: float, alpha: float | None = None) -> tuple[float, float]:
    """Q-NASTYA, rr paper Theorem 2.3 (E.1) and the authors' q-nastya.py:
    ``gamma = 1 / (5 n L_max)``, ``eta = 1 / (16 L_max (1 + omega / M))``."""
    return (1.0 / (5.0 * c.n_steps * c.L_max),
            1.0 / (16.0 * c.L_max * (1.0 + omega / c.M)))


def steps_diana_nastya(c: Constants, omega: float, alpha: float) -> tuple[float, float]:
    """DIANA-NASTYA, rr paper Theorem 2.4 (E.2) and the authors' diana-nastya.py:
    ``gamma = 1 / (16 n L_max)``, ``eta = min(alpha / (2 mu), 1 / (16 L_max (1 + 9 omega / M)))``."""
    return (1.0 / (16.0 * c.n_steps * c.L_max),
            min(alpha / (2.0 * c.mu), 1.0 / (16.0 * c.L_max * (1.0 + 9.0 * omega / c.M))))


def steps_fedcom(c: Constants, omega: float, alpha: float | None = None) -> tuple[float, float]:
    """FedCOM (Haddadpour et al. 2021) as the authors' fedcom.py computes it (spec 2.9):
    server ``eta = gamma_s = M``, client ``gamma = 1 / (2 max_m L_m (1 + omega / M) gamma_s n)``."""
    gamma_s = float(c.M)
    return (1.0 / (2.0 * max(c.L_m) * (1.0 + omega / c.M) * gamma_s * c.n_steps), gamma_s)


def steps_fedpaq(c: Constants, omega: float, alpha: float | None = None) -> tuple[float, float]:
    """FedPAQ (Reisizadeh et al. 2020) as the authors' fedpaq.py computes it (spec 2.9):
    client ``gamma = 4 / (mu (k_0 n + 1))`` with ``k_0 = max(L/mu, 4 (B_1/mu^2 + 1), 1/n,
    4 M / (n mu^2))``, ``B_1 = 2 L^2 omega / M``, ``L = max_m L_m`` (the first value of
    FedPAQ's decaying schedule, used as a constant); server ``eta = 1``."""
    L, mu, n, M = max(c.L_m), c.mu, c.n_steps, c.M
    B1 = 2.0 * L**2 * omega / M
    k0 = max(L / mu, 4.0 * (B1 / mu**2 + 1.0), 1.0 / n, 4.0 * M / (n * mu**2))
    return 4.0 / (mu * (k0 * n + 1.0)), 1.0


LOCAL_RULES = {
    "q_nastya": steps_q_nastya,
    "diana_nastya": steps_diana_nastya,
    "fedcom": steps_fedcom,
    "fedpaq": steps_fedpaq,
}
