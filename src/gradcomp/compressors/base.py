"""What every compressor provides.

A compressor maps a batch of client vectors ``v`` of shape ``(..., M, d)`` (client axis
second to last; leading axes are replicas) to what the server decodes, same shape. The
randomness is drawn once per call from a host NumPy Generator and shared by the leading
axes (common random numbers across replicas), independently across clients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class BitCost:
    """Bits per float, and whether coordinate indices are charged (papers differ)."""

    bits_per_float: int
    count_indices: bool

    def sparse_message(self, k: int, d: int) -> int:
        """Bits of a message of ``k`` values out of ``d`` coordinates."""
        index_bits = k * math.ceil(math.log2(d)) if (self.count_indices and d > 1) else 0
        return k * self.bits_per_float + index_bits


class InputError(ValueError):
    pass


def non_finite_error(name: str) -> InputError:
    return InputError(f"{name}: input contains NaN or inf; compress finite vectors only")


def check_finite(xp, v, name: str = "compressor") -> None:
    if not bool(xp.all(xp.isfinite(v))):
        raise non_finite_error(name)


# --- the classes a compressor belongs to (spec §1.2; cq Definition 1, Assumptions 4-6) ---------


class Unbiased:
    """U(omega): ``E C(x) = x`` and ``E||C(x) - x||^2 <= omega ||x||^2`` (cq Definition 1).

    Clients draw independently, so for n clients the set is in U(A = omega/n, B = 0)
    (cq Proposition 1).
    """

    kind = "unbiased"
    omega: float

    def ab(self, n: int) -> tuple[float, float]:
        return self.omega / n, 0.0


class Contractive:
    """B(delta): ``E||C(x) - x||^2 <= (1 - delta) ||x||^2`` with ``0 < delta <= 1``."""

    kind = "contractive"
    delta: float


class Correlated:
    """A joint compressor of n clients' vectors ``a_1..a_n`` (client axis second to last).

    States the AB-inequality (cq Assumption 5, Szlendak et al. 2021)
    ``E||1/n sum C_i(a_i) - abar||^2 <= A 1/n sum ||a_i||^2 - B ||abar||^2`` through
    ``A`` and ``B``, and whether each ``C_i`` is unbiased on its own (cq Assumption 4).
    """

    kind = "correlated"
    n: int
    A: float
    B: float
    individually_unbiased = True

    def ab(self, n: int) -> tuple[float, float]:
        if n != self.n:
            raise ValueError(f"{self.name} was built for n={self.n} clients, asked about n={n}")
        return self.A, self.B
