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


def check_finite(xp, v) -> None:
    if not bool(xp.all(xp.isfinite(v))):
        raise InputError("compressor input contains NaN or inf")
