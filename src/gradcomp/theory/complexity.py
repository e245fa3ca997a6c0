"""The rr paper's Table 1 complexities, evaluated numerically (spec section 5.1).

Each row of Table 1 is an O~(.) bound on the communication rounds needed for
``E||x - x*||^2 <= eps``. To put a number on it we drop the O~, the absolute constants
and the log factors and add the terms, as spec 5.1 "How to evaluate a row" says. The
per-sample and per-client strong convexity constants coincide here (``mu~ = mu =
2 lambda``), so ``kappa~ = kappa = L_max / mu``.

:data:`COMPLEXITIES` maps the names the table config uses (``conf/table/rr/table1.yaml``,
``formula:``) to plain functions of :class:`TheoryInputs`; a config string is never
evaluated as code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class TheoryInputs:
    L_max: float
    mu: float          # strong convexity of f; mu~ (per summand) is the same here
    omega: float       # compressor variance, d/k - 1 for Rand-k
    M: int             # clients
    n: float           # components per client and epoch (the convention is the caller's)
    sigma_sq: float    # sigma_*^2
    zeta_sq: float     # zeta_*^2
    sigma_n_sq: float  # sigma_{*,n}^2
    eps: float         # target E||x - x*||^2

    @property
    def kappa(self) -> float:
        return self.L_max / self.mu


def sgd(c: TheoryInputs) -> float:
    return c.kappa + c.sigma_n_sq / (c.mu**2 * c.eps)


def rr_scvx(c: TheoryInputs) -> float:
    return c.kappa + math.sqrt(c.sigma_n_sq) / c.mu * math.sqrt(c.kappa * c.n / c.eps)


def rr_cvx(c: TheoryInputs) -> float:
    return c.n * c.kappa + math.sqrt(c.sigma_n_sq) / c.mu * math.sqrt(c.kappa * c.n / c.eps)


def qsgd(c: TheoryInputs) -> float:
    w = c.omega / c.M
    return ((1 + w) * c.kappa + w * (c.sigma_sq + c.zeta_sq) / (c.mu**2 * c.eps)
            + c.sigma_sq / (c.M * c.mu**2 * c.eps))


def q_rr_scvx(c: TheoryInputs) -> float:
    w = c.omega / c.M
    return ((1 + w) * c.kappa + w * (c.sigma_sq + c.zeta_sq) / (c.mu**2 * c.eps)
            + math.sqrt(c.sigma_n_sq) / c.mu * math.sqrt(c.kappa * c.n / c.eps))


def q_rr_cvx(c: TheoryInputs) -> float:
    w = c.omega / c.M
    rho = math.sqrt(w * (c.sigma_sq + c.zeta_sq) + c.sigma_n_sq)
    return ((c.n + w) * c.kappa + w * (c.sigma_sq + c.zeta_sq) / (c.mu**2 * c.eps)
            + rho / c.mu * math.sqrt(c.kappa * c.n / c.eps))


def diana(c: TheoryInputs) -> float:
    w = c.omega / c.M
    return ((1 + w) * c.kappa + w * c.sigma_sq / (c.mu**2 * c.eps)
            + c.sigma_sq / (c.M * c.mu**2 * c.eps))


def diana_rr_scvx(c: TheoryInputs) -> float:
    w = c.omega / c.M
    return (c.n * (1 + c.omega) + (1 + w) * c.kappa
            + math.sqrt(c.sigma_n_sq) / c.mu * math.sqrt(c.kappa * c.n / c.eps))


def diana_rr_cvx(c: TheoryInputs) -> float:
    w = c.omega / c.M
    return (c.n * (1 + c.omega) + (c.n + w) * c.kappa
            + math.sqrt(c.sigma_n_sq) / c.mu * math.sqrt(c.kappa * c.n / c.eps))


COMPLEXITIES: dict[str, Callable[[TheoryInputs], float]] = {
    "sgd": sgd, "rr_scvx": rr_scvx, "rr_cvx": rr_cvx, "qsgd": qsgd,
    "q_rr_scvx": q_rr_scvx, "q_rr_cvx": q_rr_cvx, "diana": diana,
    "diana_rr_scvx": diana_rr_scvx, "diana_rr_cvx": diana_rr_cvx,
}


def complexity(name: str, c: TheoryInputs) -> float:
    try:
        fn = COMPLEXITIES[name]
    except KeyError:
        raise KeyError(f"unknown Table 1 formula {name!r}; known: {sorted(COMPLEXITIES)}") from None
    return fn(c)
