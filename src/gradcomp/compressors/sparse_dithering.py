"""Sparse Dithering of paper oc (Albasyoni et al. 2020; spec-oc-fulltext §4, poster [V]),
deterministic, and an unbiased randomized variant (our reconstruction).

Both split x into ||x|| and u = x/||x|| and put each |u_i| on a level of
{0, 2h, 4h, 6h, ...}, ``C(x) = ||x|| sign(u_i) 2 k_i h``. The code (the poster's, counted
exactly, as :meth:`encode` returns it, per client):

* the scale: ``scale_bits`` (the poster's 31);
* n0 = #{i : k_i = 0} in 0..d: ceil(log2(d + 1)) bits;
* the positions of the zeros, the rank of an n0-subset of d: ceil(log2 C(d, n0)) bits;
* a sign per nonzero level: d - n0 bits;
* the levels in unary; the zero positions are known, so a nonzero k_i costs k_i bits.

Written against the array namespace of the input (NumPy, CuPy), like the quantizers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from omegaconf import MISSING

from ..config import CompressorConf
from .base import COMPRESSORS, BitCost, Contractive, Unbiased
from .batch import device, norm, prepare, safe_divide, two_point


@dataclass
class SparseDitheringConf(CompressorConf):
    nu: float = MISSING
    scale_bits: int = MISSING


@dataclass
class UnbiasedSparseDitheringConf(CompressorConf):
    omega: float = MISSING
    scale_bits: int = MISSING


def ceil_log2_binomials(d: int) -> np.ndarray:
    """``ceil(log2 C(d, n))`` for n = 0..d, exactly.

    From lgamma, with the exact integer comparison wherever log2 C lies within 1e-6 of an
    integer (lgamma's error there is about 1e-12, so elsewhere the ceiling is exact).
    """
    n = np.arange(d + 1, dtype=np.float64)
    lg = np.array([math.lgamma(d + 1) - math.lgamma(k + 1) - math.lgamma(d - k + 1) for k in n]) / math.log(2.0)
    out = np.ceil(lg)
    near = np.flatnonzero(np.abs(lg - np.round(lg)) < 1e-6)
    for k in near:
        out[k] = (math.comb(d, int(k)) - 1).bit_length()
    return out


def max_level_sum(m, budget: float):
    """The largest ``sum k_i`` of ``m`` nonzero levels of a unit u, for each m (an array).

    Level k_i >= 1 needs |u_i| >= (2 k_i - 1) h (nearest level, ties up), so with
    ``budget = 1/h^2 = d/nu`` the sum is the largest with sum (2 k_i - 1)^2 <= budget, which
    balanced levels reach (q or q + 1): q the largest with m (2q - 1)^2 <= budget, then as
    many q + 1 as fit. Attained: the mass left over fits below the next midpoints. The budget
    is raised by a relative 1e-9 so that a tie decided by rounding cannot beat it. 0 for m = 0.
    """
    m = np.asarray(m, dtype=np.float64)
    B = budget * (1.0 + 1e-9)
    mm = np.maximum(m, 1.0)
    q = np.maximum(np.floor((np.sqrt(B / mm) + 1.0) / 2.0), 1.0)
    q = np.where(mm * (2 * q + 1) ** 2 <= B, q + 1, q)  # the square root's rounding, either way
    q = np.where((q > 1) & (mm * (2 * q - 1) ** 2 > B), q - 1, q)
    r = np.clip(np.floor((B - mm * (2 * q - 1) ** 2) / (8 * q)), 0, mm - 1)  # (2q+1)^2 - (2q-1)^2 = 8q
    return np.where(m > 0, mm * q + r, 0.0)


class _SparseDitheringCode:
    """What both variants share: the levels' output and the exact code length."""

    variable_length = True
    d: int
    h: float
    scale_bits: int
    name: str

    def _init_code(self, d: int, h: float, scale_bits: int):
        if scale_bits < 0:
            raise ValueError(f"{self.name}: scale_bits must be >= 0, got {scale_bits}")
        self.d, self.h, self.scale_bits = d, h, int(scale_bits)
        self.zero_bits = ceil_log2_binomials(d)
        #: scale and n0: the part of the code whose length does not depend on the input
        self.header_bits = self.scale_bits + math.ceil(math.log2(d + 1))

    def compress(self, v, rng: np.random.Generator | None = None):
        return self._run(v, rng, False)[0]

    def encode(self, v, rng: np.random.Generator | None = None):
        return self._run(v, rng, True)

    def _levels(self, xp, t, rng, M):
        """The level index k_i of each ``t_i = |u_i| / (2h)``."""
        raise NotImplementedError

    def _run(self, v, rng, with_bits: bool):
        xp = prepare(v, self.d, self.name)
        # ||x|| through x/max|x_i|: x * x would underflow (or overflow) at extreme scales,
        # and C(x) = 0 for a nonzero x breaks the bound that must hold for every x
        top = xp.max(xp.abs(v), axis=-1, keepdims=True)
        y = safe_divide(xp, xp.abs(v), top)
        ny = norm(xp, y, 2)
        r = top * ny
        t = safe_divide(xp, y, ny) / (2.0 * self.h)
        k = self._levels(xp, t, rng, v.shape[-2])
        out = xp.sign(v) * (r * ((2.0 * self.h) * k))
        if not with_bits:
            return out, None
        n0 = xp.sum(k == 0, axis=-1)
        zero_bits = device(xp, self.zero_bits)[n0]
        bits = self.header_bits + zero_bits + (self.d - n0) + xp.sum(k, axis=-1)
        return out, bits


@COMPRESSORS.register("sparse_dithering")
class SparseDithering(_SparseDitheringCode, Contractive):
    """Deterministic Sparse Dithering (paper oc poster [V]): C in C(nu), biased.

    h = sqrt(nu/d), k_i the nearest level index (| |u_i| - 2 k_i h | <= h), so every
    coordinate of u is off by at most h and ``||C(x) - x||^2 <= d h^2 ||x||^2 = nu ||x||^2``
    for every x: delta = 1 - nu. C(0) = 0.

    ``bits_per_client()`` is the longest code over unit inputs (the WCA quantity b), exactly:
    the maximum over n0 of the header, ceil(log2 C(d, n0)), m = d - n0 signs and the largest
    sum k_i of m nonzero levels (:func:`max_level_sum`). It is attained, and at most the
    Cauchy-Schwarz bound sum k_i <= floor(sqrt(m)/(2h) + m/2) (from k_i <= |u_i|/(2h) + 1/2),
    which gives the poster's count with its last term halved
    (:func:`~gradcomp.theory.compression_bounds.sd_bits_corrected`, 3.35 d at nu = 0.1).
    """

    sure_bound = True
    schema, schema_name = SparseDitheringConf, "base_sparse_dithering"

    @classmethod
    def from_config(cls, cfg, d, n, cost):
        return cls(d, float(cfg["nu"]), cost, int(cfg["scale_bits"]))

    def __init__(self, d: int, nu: float, cost: BitCost, scale_bits: int = 31):
        if not 0.0 < nu < 1.0:
            raise ValueError(f"sparse dithering needs 0 < nu < 1, got nu={nu}")
        self.nu, self.cost, self.delta = nu, cost, 1.0 - nu
        self.name = f"SparseDither(nu={nu:g})"
        self._init_code(d, math.sqrt(nu / d), scale_bits)
        m = d - np.arange(d + 1)  # nonzero levels, for n0 = 0..d
        self._max_bits = int(np.max(self.header_bits + self.zero_bits + m + max_level_sum(m, d / nu)))

    def bits_per_client(self) -> int:
        """The worst-case code length over unit inputs (the WCA quantity b), as bounded above."""
        return self._max_bits

    def _levels(self, xp, t, rng, M):
        return xp.floor(t + 0.5)


@COMPRESSORS.register("sparse_dithering_unbiased")
class UnbiasedSparseDithering(_SparseDitheringCode, Unbiased):
    """Randomized (unbiased) Sparse Dithering: OUR RECONSTRUCTION. The poster names it, with
    its average-case bits (log 3 + 1/(2 sqrt(omega))) d + log d + 30, but does not define it
    (spec §4).

    Levels {0, 2h, 4h, ...} with h = sqrt(omega/d); |u_i| is rounded to one of its two
    neighbouring levels, up with probability (|u_i| - 2 k h)/(2h), one uniform per
    coordinate (``rng.random((M, d))``, shared by the replica rows). Unbiased, and each
    coordinate's variance is (2h)^2 p(1 - p) <= h^2, so E||C(x) - x||^2 <= d h^2 ||x||^2 =
    omega ||x||^2: U(omega). C(0) = 0. Same code as :class:`SparseDithering`.

    ``bits_per_client()`` bounds the expected code length of the worst unit input:
    header + 1 + d log2 3 + d/(2 sqrt(omega)), since E sum k_i = ||u||_1/(2h) <=
    d/(2 sqrt(omega)) and C(d, n0) 2^(d - n0) <= 3^d (the 1 for the ceiling).
    """

    schema, schema_name = UnbiasedSparseDitheringConf, "base_sparse_dithering_unbiased"

    @classmethod
    def from_config(cls, cfg, d, n, cost):
        return cls(d, float(cfg["omega"]), cost, int(cfg["scale_bits"]))

    def __init__(self, d: int, omega: float, cost: BitCost, scale_bits: int = 31):
        if not omega > 0.0:
            raise ValueError(f"unbiased sparse dithering needs omega > 0, got omega={omega}")
        self.omega, self.cost = omega, cost
        self.name = f"UnbiasedSparseDither(omega={omega:g})"
        self._init_code(d, math.sqrt(omega / d), scale_bits)

    def bits_per_client(self) -> float:
        """A bound on the expected code length for the worst unit input (the ACA quantity B)."""
        return self.header_bits + 1.0 + self.d * math.log2(3.0) + self.d / (2.0 * math.sqrt(self.omega))

    def _levels(self, xp, t, rng, M):
        u = device(xp, rng.random((M, self.d)))
        low = xp.floor(t)
        return two_point(xp, low, low + 1, t - low, u)
