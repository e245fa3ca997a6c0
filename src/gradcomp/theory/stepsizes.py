"""Theoretical stepsizes of the rr paper's methods, as the authors' code computes them.

Every rule takes the problem constants, the compressor variance ``omega`` and returns
``gamma_theory``; experiments use ``multiplier * gamma_theory`` (spec section 3).
``n`` is the number of minibatch steps per epoch (10), not n_m (spec 6.3).
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


RULES = {
    "qsgd": gamma_qsgd,
    "q_rr": gamma_q_rr,
    "diana": gamma_diana,
    "diana_rr": gamma_diana_rr,
}
