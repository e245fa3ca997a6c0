"""Sparse Dithering and Spherical Compression of paper oc (Albasyoni et al. 2020).

RECONSTRUCTIONS. Only the abstract of paper oc is available to this project (spec part
B): the operators below follow the spec's recalled designs [R], not the paper's
definitions, and every figure that shows them must say so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from omegaconf import MISSING

from ..config import CompressorConf
from .base import COMPRESSORS, BitCost, Contractive, Unbiased, resolve_k
from .batch import device, gather_rows, norm, prepare, safe_divide, two_point
from .randk import sample_subsets


@dataclass
class SparseDitheringConf(CompressorConf):
    s: int = MISSING


@dataclass
class SphericalConf(CompressorConf):
    index_bits: int = MISSING


@COMPRESSORS.register("sparse_dithering")
class SparseDithering(Unbiased):
    """Sparse Dithering (paper oc, RECONSTRUCTED, spec §3 [R]): Rand-k, then standard
    dithering with s levels (l2 norm of the k kept values) of the kept values.

    ``C(x) = (d/k) sum_{j in S} ||x_S|| sign(x_j) xi_j e_j``: both stages are unbiased
    and independent, so omega = (d/k)(1 + omega_D) - 1 with omega_D = min(k/s^2, sqrt(k)/s)
    (QSGD's bound in dimension k).

    bits = k (1 + ceil(log2(s + 1))) + bits_per_float, plus ceil(log2 C(d, k)) for the
    positions when ``count_indices`` (the "efficient encoding of positions" the spec
    recalls; with a shared seed they need not travel).
    """

    schema, schema_name = SparseDitheringConf, "base_sparse_dithering"

    @classmethod
    def from_config(cls, cfg, d, n, cost):
        return cls(d, resolve_k(cfg, d), int(cfg["s"]), cost)

    def __init__(self, d: int, k: int, s: int, cost: BitCost):
        if not 0 < k <= d or s < 1:
            raise ValueError(f"sparse dithering needs 0 < k <= d and s >= 1, got k={k}, d={d}, s={s}")
        self.d, self.k, self.s, self.cost = d, k, s, cost
        self.omega = (d / k) * (1.0 + min(k / s**2, math.sqrt(k) / s)) - 1.0
        self.name = f"SparseDither(k={k},s={s})"

    def bits_per_client(self) -> int:
        positions = math.ceil(math.log2(math.comb(self.d, self.k))) if self.cost.count_indices else 0
        return self.k * (1 + math.ceil(math.log2(self.s + 1))) + self.cost.bits_per_float + positions

    def compress(self, v, rng: np.random.Generator):
        xp = prepare(v, self.d, self.name)
        M = v.shape[-2]
        S = device(xp, sample_subsets(rng, M, self.d, self.k))
        u = device(xp, rng.random((M, self.k)))
        xs = gather_rows(xp, v, S)  # (..., M, k)
        r = norm(xp, xs, 2)
        sy = self.s * xp.minimum(safe_divide(xp, xp.abs(xs), r), 1.0)
        low = xp.floor(sy)
        q = xp.sign(xs) * r * (two_point(xp, low, low + 1, sy - low, u) / self.s)
        out = xp.zeros(v.shape, dtype=v.dtype)  # lazily zeroed: O(k) pages touched
        out[..., xp.reshape(xp.arange(M), (M, 1)), S] = (self.d / self.k) * q
        return out


@COMPRESSORS.register("spherical")
class SphericalCompression(Contractive):
    """Spherical Compression (paper oc, RECONSTRUCTED, spec §3 [R]).

    A shared seed gives each client a codebook of N = 2^b independent uniform unit vectors
    u_1..u_N (fresh every call). The client sends j* = argmax_j |<u_j, x>| (b bits) and
    t = <u_j*, x> (one float); the server decodes t u_j*, the best point on that line.
    The spec recalls sending ||x|| and a scale; sending the projection instead is our
    choice (one float either way, and the decoder needs no constant).

    Error: ||x||^2 (1 - c^2) with c^2 = max_j <u_j, x/||x||>^2, whose law does not depend
    on x (the codebook is rotation invariant), so
    delta = E c^2 = int_0^1 (1 - I_t(1/2, (d-1)/2)^N) dt exactly (each <u_j, e>^2 is
    Beta(1/2, (d-1)/2)); computed by quadrature.

    bits = b + bits_per_float. Work and memory O(M 2^b d) per call: small b only.
    """

    MAX_CODEBOOK = 2**24  # entries (clients x codewords x d) drawn per call

    schema, schema_name = SphericalConf, "base_spherical"

    @classmethod
    def from_config(cls, cfg, d, n, cost):
        return cls(d, int(cfg["index_bits"]), cost)

    def __init__(self, d: int, b: int, cost: BitCost):
        if b < 0:
            raise ValueError(f"spherical compression needs b >= 0 index bits, got b={b}")
        if (2**b) * d > self.MAX_CODEBOOK:
            raise ValueError(f"spherical compression: codebook 2^{b} x {d} too large; lower b")
        self.d, self.b, self.cost = d, b, cost
        self.delta = spherical_delta(d, 2**b)
        self.name = f"Spherical(b={b})"

    def bits_per_client(self) -> int:
        return self.b + self.cost.bits_per_float

    def compress(self, v, rng: np.random.Generator):
        xp = prepare(v, self.d, self.name)
        M, N = v.shape[-2], 2**self.b
        g = rng.standard_normal((M, N, self.d))
        U = device(xp, g / np.linalg.norm(g, axis=-1, keepdims=True), v.dtype)  # (M, N, d)
        t = xp.squeeze(U @ v[..., None], axis=-1)  # (..., M, N): <u_j, x_m>
        j = xp.argpartition(-xp.abs(t), 0, axis=-1)[..., :1]  # argmax |t|, shape (..., M, 1)
        t_star = xp.take_along_axis(t, j, axis=-1)  # (..., M, 1)
        u_star = U[xp.arange(M), j[..., 0]]  # the chosen codeword of each client, (..., M, d)
        return t_star * u_star


def spherical_delta(d: int, N: int) -> float:
    """E max_{j<=N} <u_j, e>^2 for N uniform unit vectors in R^d (see SphericalCompression)."""
    if d == 1:
        return 1.0
    from scipy import integrate, special

    val, _ = integrate.quad(lambda t: 1.0 - special.betainc(0.5, (d - 1) / 2.0, t) ** N, 0.0, 1.0, limit=200)
    return float(val)
