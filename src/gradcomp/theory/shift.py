"""The shift paper's Table 1: iteration complexities, evaluated numerically (spec-shift-paper.md 3).

Each row is an O~(.) bound on the iterations needed for ``E||x^k - x*||^2 <= eps
||x^0 - x*||^2``; dropping the O~ and its log factor leaves the expression below, which
times ``log(1/eps)`` estimates the iterations up to an absolute constant. Symbols: kappa
(the paper leaves it undefined; we take ``max_m L_m / mu``, spec section 6), omega of the
workers' compressor, n workers, delta of the biased part in the shift (0 without one), p
of Rand-DIANA.

:data:`SHIFT_COMPLEXITIES` maps the names ``conf/table/shift/table1.yaml`` uses to plain
functions; a config string is never evaluated as code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class ShiftInputs:
    kappa: float
    omega: float
    n: int
    delta: float
    p: float


def dcgd_fixed(c: ShiftInputs) -> float:
    """DCGD-FIXED, interpolation regime: kappa (1 + omega/n)."""
    return c.kappa * (1.0 + c.omega / c.n)


def dcgd_star(c: ShiftInputs) -> float:
    """DCGD-STAR: kappa (1 + omega (1 - delta)/n)."""
    return c.kappa * (1.0 + c.omega * (1.0 - c.delta) / c.n)


def diana_previous(c: ShiftInputs) -> float:
    """DIANA before the paper: max{kappa (1 + omega/n), omega}."""
    return max(c.kappa * (1.0 + c.omega / c.n), c.omega)


def diana(c: ShiftInputs) -> float:
    """Generalized DIANA: max{kappa (1 + omega (1 - delta)/n), omega (1 - delta)}."""
    w = c.omega * (1.0 - c.delta)
    return max(c.kappa * (1.0 + w / c.n), w)


def rand_diana(c: ShiftInputs) -> float:
    """Rand-DIANA: max{kappa (1 + omega (1 - delta)/n), 1/p}."""
    return max(c.kappa * (1.0 + c.omega * (1.0 - c.delta) / c.n), 1.0 / c.p)


def gdci_previous(c: ShiftInputs) -> float:
    """GDCI before the paper (Chraibi et al. 2019), interpolation regime: kappa^2 (1 + omega/n)."""
    return c.kappa**2 * (1.0 + c.omega / c.n)


def gdci(c: ShiftInputs) -> float:
    """Distributed GDCI, interpolation regime: kappa (1 + omega/n)."""
    return c.kappa * (1.0 + c.omega / c.n)


SHIFT_COMPLEXITIES: dict[str, Callable[[ShiftInputs], float]] = {
    "dcgd_fixed": dcgd_fixed, "dcgd_star": dcgd_star, "diana_previous": diana_previous, "diana": diana,
    "rand_diana": rand_diana, "gdci_previous": gdci_previous, "gdci": gdci,
}


def shift_complexity(name: str, c: ShiftInputs) -> float:
    try:
        fn = SHIFT_COMPLEXITIES[name]
    except KeyError:
        raise KeyError(f"unknown shift Table 1 formula {name!r}; known: {sorted(SHIFT_COMPLEXITIES)}") from None
    return fn(c)
