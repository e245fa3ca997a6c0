"""Paper cq (Panferov et al.): MARINA's stepsize from AB constants, its communication
complexity, the optimal p, the improvement factor over GD, and the rows of the paper's
Table 1 evaluated on a task (spec A.2, A.5, D.2.1).

Symbols as the paper and Szlendak et al. (2021): ``L_-`` the smoothness of f, ``L_+`` the
root mean square of the clients' smoothness, ``L_pm`` the Hessian variance; a compressor
(set) in U(A, B) (cq Assumption 5, or its weighted form with ``L_{+,w}``, ``L_{pm,w}``);
``b_c`` the bits one client sends in a compressed round, ``d`` floats of
``bits_per_float`` in a synchronisation round.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np


def marina_inverse_gamma(p, L_minus: float, A: float, B: float, L_plus: float, L_pm: float):
    """``1/gamma(p) = L_- + sqrt((1 - p)/p ((A - B) L_+^2 + B L_pm^2))`` (Szlendak et al.
    Theorem; cq Theorem 2 with the weighted constants)."""
    p = np.asarray(p, dtype=float)
    return L_minus + np.sqrt((1.0 - p) / p * ((A - B) * L_plus**2 + B * L_pm**2))


def marina_gamma(p: float, L_minus: float, A: float, B: float, L_plus: float, L_pm: float) -> float:
    """The largest stepsize MARINA's theorem allows, ``1 / (1/gamma(p))``."""
    return float(1.0 / marina_inverse_gamma(p, L_minus, A, B, L_plus, L_pm))


def bits_per_round(p, d: int, b_c: float, bits_per_float: int = 32):
    """Expected uplink bits of one client per round: ``p d bits_per_float + (1 - p) b_c``."""
    p = np.asarray(p, dtype=float)
    return p * d * bits_per_float + (1.0 - p) * b_c


def communication_cost(p, d: int, b_c: float, L_minus: float, A: float, B: float, L_plus: float, L_pm: float,
                       bits_per_float: int = 32):
    """Bits per client to reach ``E||grad f||^2 <= eps^2``, up to the factor ``2 Delta^0 / eps^2``:
    ``C(p) = bits_per_round(p) / gamma(p)`` (spec A.5)."""
    return bits_per_round(p, d, b_c, bits_per_float) * marina_inverse_gamma(p, L_minus, A, B, L_plus, L_pm)


def optimal_p(d: int, b_c: float, L_minus: float, A: float, B: float, L_plus: float, L_pm: float,
              bits_per_float: int = 32, p_min: float = 1e-9) -> float:
    """``p* = argmin_{p in (0, 1]} C(p)`` (cq D.2.1, "solved numerically").

    C is minimised over log p on ``[p_min, 1]`` by a bounded Brent search started from a
    log-spaced scan (C(p) is unimodal in the cases of the paper, the scan guards the rest);
    p = 1 (GD) is always a candidate, so ``C(p*) <= C_GD``.
    """
    from scipy.optimize import minimize_scalar

    def cost(t):
        return float(communication_cost(math.exp(t), d, b_c, L_minus, A, B, L_plus, L_pm, bits_per_float))

    grid = np.linspace(math.log(p_min), 0.0, 241)
    vals = [cost(t) for t in grid]
    i = int(np.argmin(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    best_t, best = grid[i], vals[i]
    if hi > lo:
        res = minimize_scalar(cost, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12})
        if res.fun < best:
            best_t, best = float(res.x), float(res.fun)
    return 1.0 if cost(0.0) <= best else float(math.exp(best_t))


def improvement_factor(d: int, b_c: float, A: float, bits_per_float: int = 32) -> tuple[float, float]:
    """``(IF*, p*)`` in the homogeneous regime (L_- = L_+ = L, L_pm = 0, B = 0):
    ``IF(p) = (p + (1 - p) b_c/(bits_per_float d)) (1 + sqrt((1 - p) A / p))``, the ratio of
    MARINA's to GD's communication complexity, at its optimal p (<= 1: p = 1 is GD)."""
    p = optimal_p(d, b_c, 1.0, A, 0.0, 1.0, 0.0, bits_per_float)
    gd = float(d * bits_per_float)
    return float(communication_cost(p, d, b_c, 1.0, A, 0.0, 1.0, 0.0, bits_per_float)) / gd, p


# ---- paper cq's Table 1, evaluated on a task (spec A.5; spec-cq-fulltext.md item 6) ----------
#
# The paper's Table 1 lists communication complexities whose entries are stripped from the
# recovered text. Each function below is the bound we can state, in bits per client until
# ``min_k E||grad f(x^k)||^2 <= eps``; :data:`CQ_COMPLEXITIES` maps the names
# ``conf/table/cq/table1.yaml`` uses to them (a config string is never evaluated as code).


@dataclass(frozen=True)
class TaskInputs:
    """One compressor on one task: what a row of Table 1 is evaluated with.

    ``b_c``: the bits one client sends in a compressed round (on average, for ISCC);
    ``A, B``: the compressor's AB constants for ``n`` clients; ``L_plus_w, L_pm_w``: the
    weighted constants with ``w_i = L_i / sum_j L_j`` (cq Assumptions 7-8); ``delta0 = f(x^0)
    - f*``; ``identical_clients``: every ``f_i`` equals ``f`` (``L_pm = 0`` and every
    ``grad f_i(x*) = 0``).
    """

    d: int
    n: int
    b_c: float
    A: float
    B: float
    L_minus: float
    L_plus: float
    L_pm: float
    L_plus_w: float
    L_pm_w: float
    delta0: float
    eps: float
    identical_clients: bool
    bits_per_float: int = 32


def marina_bits(c: TaskInputs) -> tuple[float, float]:
    """MARINA at ``p = p*`` (spec A.5; cq Theorem 2 with ``w_i = 1/n``):
    ``(2 Delta^0 / eps) (p 32 d + (1 - p) b_c) / gamma(p)``, returned with ``p*``.

    From ``E||grad f(x_hat^K)||^2 <= 2 Delta^0 / (gamma K)``: ``K = 2 Delta^0 / (gamma eps)``
    rounds of ``bits_per_round(p)`` bits. The rows MARINA + IQ (Gorbunov et al.), + natural
    dithering and + CQ (cq Proposition 4, there for identical clients; evaluated with the
    task's L_pm as the paper's experiments extrapolate it, spec A.2)."""
    p = optimal_p(c.d, c.b_c, c.L_minus, c.A, c.B, c.L_plus, c.L_pm, c.bits_per_float)
    cost = communication_cost(p, c.d, c.b_c, c.L_minus, c.A, c.B, c.L_plus, c.L_pm, c.bits_per_float)
    return 2.0 * c.delta0 / c.eps * float(cost), p


def marina_weighted_bits(c: TaskInputs) -> tuple[float, float]:
    """MARINA with a combinatorial compressor in U(A, B, w) at ``p = p*`` (cq Theorem 2,
    Corollary 4 for ISCC, ``A = omega + 1``, ``B = 1``, ``w = q``): :func:`marina_bits` with
    ``L_{+,w}`` and ``L_{pm,w}`` in place of ``L_+`` and ``L_pm``."""
    return marina_bits(replace(c, L_plus=c.L_plus_w, L_pm=c.L_pm_w))


def gd_bits(c: TaskInputs) -> tuple[float, float]:
    """GD (MARINA with ``p = 1``): ``(2 Delta^0 / eps) L_- bits_per_float d``, with ``p = 1``."""
    cost = communication_cost(1.0, c.d, c.b_c, c.L_minus, c.A, c.B, c.L_plus, c.L_pm, c.bits_per_float)
    return 2.0 * c.delta0 / c.eps * float(cost), 1.0


def dcgd_identical_clients_bits(c: TaskInputs) -> tuple[float | None, None]:
    """DCGD ``x^{k+1} = x^k - gamma 1/n sum_i C_i(grad f_i(x^k))`` on identical clients: our
    derivation (the paper's entry is not recoverable), ``(2 Delta^0 L_- (1 + A - B) / eps) b_c``.

    With ``grad f_i = grad f``, the AB-inequality (cq Assumption 5) gives ``E g = grad f``
    and ``E||g||^2 <= (1 + A - B) ||grad f||^2``; L_- smoothness then gives
    ``E f(x^{k+1}) <= f(x^k) - gamma (1 - L_- gamma (1 + A - B)/2) ||grad f(x^k)||^2``, and
    ``gamma = 1/(L_- (1 + A - B))`` gives ``1/K sum_k E||grad f(x^k)||^2 <= 2 Delta^0 L_-
    (1 + A - B) / K``: ``K = 2 Delta^0 L_- (1 + A - B) / eps`` rounds of ``b_c`` bits.

    ``(None, None)`` when the clients differ: the compression noise at a stationary point,
    ``A 1/n sum_i ||grad f_i||^2 - B ||grad f||^2``, need not vanish, so no eps is reached
    without a bound on the clients' dissimilarity, which we do not invent.
    """
    if not c.identical_clients:
        return None, None
    return 2.0 * c.delta0 * c.L_minus * (1.0 + c.A - c.B) / c.eps * c.b_c, None


CQ_COMPLEXITIES: dict[str, Callable[[TaskInputs], tuple]] = {
    "marina": marina_bits, "marina_weighted": marina_weighted_bits, "gd": gd_bits,
    "dcgd_identical_clients": dcgd_identical_clients_bits,
}


def cq_complexity(name: str, c: TaskInputs) -> tuple:
    """``(bits per client, p)`` of the Table 1 row ``name`` (None where it has no bound)."""
    try:
        fn = CQ_COMPLEXITIES[name]
    except KeyError:
        raise KeyError(f"unknown cq Table 1 formula {name!r}; known: {sorted(CQ_COMPLEXITIES)}") from None
    return fn(c)
