"""Unbiased elementwise quantizers: standard dithering (QSGD), TernGrad, natural
compression, natural dithering.

Every one rounds each coordinate, independently, to one of two neighbouring levels
with the probabilities that make it unbiased (a two-point law), so
``E C(x) = x`` exactly and ``E||C(x) - x||^2 = sum_j (hi_j - |x_j|)(|x_j| - lo_j)``.
Bits are fixed-length codes: a sign bit plus a level index per coordinate, plus one
float for the norm (``bits_per_float`` from the config).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
from omegaconf import MISSING

from ..config import CompressorConf, choice
from .base import COMPRESSORS, BitCost, Unbiased
from .batch import device, fused_elementwise, norm, prepare, safe_divide, two_point, use_fused

NORMS = {"l2": 2, "linf": float("inf")}


class Norm(enum.Enum):
    l2 = "l2"
    linf = "linf"


@dataclass
class DitheringConf(CompressorConf):
    s: int = MISSING
    norm: Norm = MISSING


@dataclass
class NaturalConf(CompressorConf):
    exponent_bits: int = MISSING


def _norm_p(name: str):
    try:
        return NORMS[name]
    except KeyError:
        raise ValueError(f"norm must be one of {sorted(NORMS)}, got {name!r}") from None


class _Dithering(Unbiased):
    """What standard and natural dithering share: ``y_j = |x_j| / ||x||_p`` (p = 2 or inf;
    ``y = 0`` for x = 0), rounded unbiasedly to one of ``s + 1`` levels in [0, 1] by the
    subclass's ``_level(xp, y, u)``, and ``C(x)_j = ||x||_p sign(x_j) level_j``.

    bits = d (1 + ceil(log2(s + 1))) + bits_per_float: sign and level index in {0..s}
    per coordinate, and the norm.
    """

    #: ``kind`` of the compiled NumPy path (:func:`.batch.fused_elementwise`).
    kernel: str

    def __init__(self, d: int, s: int, p: str, cost: BitCost, what: str):
        if s < 1:
            raise ValueError(f"{what} needs s >= 1 levels, got s={s}")
        self.d, self.s, self.cost = d, s, cost
        self.norm_name, self.p = p, _norm_p(p)

    def bits_per_client(self) -> int:
        return self.d * (1 + math.ceil(math.log2(self.s + 1))) + self.cost.bits_per_float

    def compress(self, v, rng: np.random.Generator):
        if use_fused(v):
            return fused_elementwise(v, rng, self.d, self.name, self.kernel, self.p, self.s)
        xp = prepare(v, self.d, self.name)
        u = device(xp, rng.random(v.shape[-2:]))
        r = norm(xp, v, self.p)
        y = xp.minimum(safe_divide(xp, xp.abs(v), r), 1.0)  # rounding can give 1 + eps
        return xp.sign(v) * r * self._level(xp, y, u)

    def _level(self, xp, y, u):
        raise NotImplementedError


@COMPRESSORS.register("qsgd")
class StandardDithering(_Dithering):
    """Standard dithering / QSGD with ``s`` levels (Alistarh et al. 2017; cq Definition 2).

    ``C(x)_j = ||x||_p sign(x_j) xi_j`` where, with ``y_j = |x_j| / ||x||_p`` and
    ``u = floor(s y_j)``, ``xi_j = (u+1)/s`` with probability ``s y_j - u`` and ``u/s``
    otherwise; ``C(0) = 0``.

    omega = min(d/s^2, sqrt(d)/s) for p in {2, inf} (QSGD Lemma 3.1 for p = 2; for
    p = inf the same two bounds follow from ||x||_inf <= ||x||_2 and
    ||x||_inf ||x||_1 <= sqrt(d) ||x||_2^2).

    bits = d (1 + ceil(log2(s + 1))) + bits_per_float: sign and level index in {0..s}
    per coordinate, and the norm.
    """

    kernel = "dithering"
    schema, schema_name = DitheringConf, "base_dithering"

    @classmethod
    def from_config(cls, cfg, d, n, cost):
        return cls(d, int(cfg["s"]), choice(cfg["norm"]), cost)

    def __init__(self, d: int, s: int, p: str, cost: BitCost):
        super().__init__(d, s, p, cost, "dithering")
        self.omega = min(d / s**2, math.sqrt(d) / s)
        self.name = f"QSGD(s={s},{p})"

    def _level(self, xp, y, u):
        sy = self.s * y
        low = xp.floor(sy)
        level = two_point(xp, low, low + 1, sy - low, u)
        return level / self.s


@COMPRESSORS.register("terngrad")
class TernGrad(StandardDithering):
    """TernGrad (Wen et al. 2017): standard dithering with s = 1 and the l-inf norm.

    ``C(x)_j = ||x||_inf sign(x_j) b_j``, ``b_j ~ Bernoulli(|x_j| / ||x||_inf)``.
    ``E||C(x) - x||^2 = ||x||_inf ||x||_1 - ||x||^2``; its supremum over x is
    omega = (sqrt(d) - 1)/2, attained at x = (1, t, ..., t), t = 1/(1 + sqrt(d))
    (our derivation: maximise (1 + S)/(1 + S^2/(d-1)) over S = sum of the d-1 small
    entries, S = sqrt(d) - 1). Tighter than QSGD's min(d, sqrt(d)) at s = 1.

    bits = 2 d + bits_per_float (a ternary symbol in 2 bits per coordinate, and the scale).
    """

    schema, schema_name = CompressorConf, "base_compressor"

    @classmethod
    def from_config(cls, cfg, d, n, cost):
        return cls(d, cost)

    def __init__(self, d: int, cost: BitCost):
        super().__init__(d, 1, "linf", cost)
        self.omega = (math.sqrt(d) - 1.0) / 2.0
        self.name = "TernGrad"


@COMPRESSORS.register("natural")
class NaturalCompression(Unbiased):
    """Natural compression C_nat (Horváth et al. 2019, "Natural compression for
    distributed deep learning", Theorem 1): each coordinate rounds, unbiasedly, to one of
    the two powers of two around it; ``C(0) = 0``.

    With ``|t| = 2^a (1 + f)``, ``f in [0, 1)``: ``sign(t) 2^(a+1)`` with probability f,
    else ``sign(t) 2^a``. omega = 1/8.

    bits = d (1 + exponent_bits): sign and exponent, no mantissa (9 bits per coordinate
    for float32, as the paper counts).
    """

    schema, schema_name = NaturalConf, "base_natural"

    @classmethod
    def from_config(cls, cfg, d, n, cost):
        return cls(d, int(cfg["exponent_bits"]), cost)

    def __init__(self, d: int, exponent_bits: int, cost: BitCost):
        self.d, self.cost, self.exponent_bits = d, cost, exponent_bits
        self.omega = 1.0 / 8.0
        self.name = "Natural"

    def bits_per_client(self) -> int:
        return self.d * (1 + self.exponent_bits)

    def compress(self, v, rng: np.random.Generator):
        if use_fused(v):
            return fused_elementwise(v, rng, self.d, self.name, "natural")
        xp = prepare(v, self.d, self.name)
        u = device(xp, rng.random(v.shape[-2:]))
        return xp.sign(v) * _round_to_powers_of_two(xp, xp.abs(v), u)


def _round_to_powers_of_two(xp, a, u):
    """Unbiased rounding of ``a >= 0`` to ``2^floor(log2 a)`` or twice that.

    ``frexp`` gives ``a = m 2^e`` with ``m in [0.5, 1)`` exactly, so the lower power is
    ``2^(e-1)`` and the probability of the upper one is ``a / 2^(e-1) - 1 = 2m - 1``,
    with no rounding error from ``log2`` near powers of two. ``a = 0`` gives 0 (m = 0).
    """
    m, e = xp.frexp(a)
    low = xp.ldexp(xp.ones_like(a), e - 1)
    return two_point(xp, low, 2 * low, 2 * m - 1, u) * (a > 0)


@COMPRESSORS.register("natural_dithering")
class NaturalDithering(_Dithering):
    """Natural dithering with ``s`` levels (Horváth et al. 2019; cq Definition 3).

    As standard dithering, but the levels of ``y_j = |x_j| / ||x||_p`` are
    ``{0, 2^(1-s), 2^(2-s), ..., 1/2, 1}``: below ``2^(1-s)`` it rounds between 0 and
    ``2^(1-s)``, above between neighbouring powers of two.

    omega = 1/8 + d^(1/r) 2^(1-s) min(1, d^(1/r) 2^(1-s)), r = min(p, 2) (Horváth et al.
    2019, as quoted in spec §1.4). We checked it is an upper bound for p in {2, inf}:
    the power-of-two part gives at most y^2/8 per coordinate, the bottom interval at most
    y 2^(1-s) and 2^(-2s).

    bits = d (1 + ceil(log2(s + 1))) + bits_per_float.
    """

    kernel = "natural_dithering"
    schema, schema_name = DitheringConf, "base_dithering"

    @classmethod
    def from_config(cls, cfg, d, n, cost):
        return cls(d, int(cfg["s"]), choice(cfg["norm"]), cost)

    def __init__(self, d: int, s: int, p: str, cost: BitCost):
        super().__init__(d, s, p, cost, "natural dithering")
        r = min(self.p, 2)
        t = d ** (1.0 / r) * 2.0 ** (1 - s)
        self.omega = 1.0 / 8.0 + t * min(1.0, t)
        self.name = f"NatDither(s={s},{p})"

    def _level(self, xp, y, u):
        bottom = 2.0 ** (1 - self.s)
        return xp.where(
            y < bottom,
            two_point(xp, 0.0, bottom, y / bottom, u),
            _round_to_powers_of_two(xp, y, u),
        )
