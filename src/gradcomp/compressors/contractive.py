"""Scaled sign, and the induced compressor that turns a contractive one unbiased.

For the sparsifiers (Top-k, scaled Rand-k) see :mod:`.sparsifiers`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from omegaconf import MISSING

from ..config import CompressorConf
from .base import COMPRESSORS, BitCost, Contractive, Unbiased
from .batch import prepare


@dataclass
class InducedConf(CompressorConf):
    contractive: CompressorConf = MISSING
    unbiased: CompressorConf = MISSING


@COMPRESSORS.register("scaled_sign")
class ScaledSign(Contractive):
    """Scaled sign ``C(x) = (||x||_1 / d) sign(x)`` (Karimireddy et al. 2019, EF-SignSGD).

    Deterministic, with ``||C(x) - x||^2 = ||x||^2 - ||x||_1^2 / d`` exactly, so
    delta(x) = ||x||_1^2 / (d ||x||^2) >= delta = 1/d (equality at a 1-sparse x).
    ``sign(0)`` is sent as +1 (one bit per coordinate); it is multiplied by a zero scale
    only when x = 0, which decodes to 0.

    bits = d + bits_per_float.
    """

    @classmethod
    def from_config(cls, cfg, d, n, cost):
        return cls(d, cost)

    def __init__(self, d: int, cost: BitCost):
        self.d, self.cost = d, cost
        self.delta = 1.0 / d
        self.name = "ScaledSign"

    def bits_per_client(self) -> int:
        return self.d + self.cost.bits_per_float

    def compress(self, v, rng: np.random.Generator | None = None):
        xp = prepare(v, self.d, self.name)
        scale = xp.sum(xp.abs(v), axis=-1, keepdims=True) / self.d
        return xp.where(v < 0, -scale, scale)


@COMPRESSORS.register("induced")
class Induced(Unbiased):
    """The induced compressor ``C(x) + Q(x - C(x))`` (Horváth and Richtárik 2021, "A better
    alternative to error feedback", Theorem 3), with C in B(delta) and Q in U(omega_Q).

    Unbiased, since E Q(r) = r; and E||Q(r) - r||^2 <= omega_Q E||r||^2 <=
    omega_Q (1 - delta) ||x||^2, so omega = (1 - delta) omega_Q.
    Bits: C's message plus Q's message. Draws: C's first, then Q's, from the same stream.
    """

    schema, schema_name = InducedConf, "base_induced"

    @classmethod
    def from_config(cls, cfg, d, n, cost):
        from . import build

        C, Q = build(cfg["contractive"], d, n), build(cfg["unbiased"], d, n)
        if C.kind != "contractive" or Q.kind != "unbiased":
            raise ValueError(f"induced compressor needs a contractive and an unbiased part, got "
                             f"{C.kind} {C.name} and {Q.kind} {Q.name}")
        return cls(C, Q)

    def __init__(self, contractive, unbiased):
        if contractive.d != unbiased.d:
            raise ValueError(f"induced compressor: dimensions differ ({contractive.d} vs {unbiased.d})")
        self.C, self.Q, self.d = contractive, unbiased, contractive.d
        self.omega = (1.0 - contractive.delta) * unbiased.omega
        self.name = f"Induced({contractive.name}+{unbiased.name})"

    def induced_parts(self) -> tuple[float, float]:
        return float(self.Q.omega), float(self.C.delta)

    def bits_per_client(self):
        return self.C.bits_per_client() + self.Q.bits_per_client()

    def compress(self, v, rng: np.random.Generator):
        prepare(v, self.d, self.name)
        c = self.C.compress(v, rng)
        return c + self.Q.compress(v - c, rng)
