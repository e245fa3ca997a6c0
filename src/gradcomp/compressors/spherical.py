"""Spherical Compression of paper oc (Albasyoni et al. 2020; spec-oc-fulltext §5, poster [V]).

For a unit x, a seed shared with the server gives an i.i.d. sequence y_1, y_2, ... on the
sphere of radius sqrt(1 - alpha); the client sends the first T with ||y_T - x||^2 <= alpha
(Golomb-Rice coded) and the server outputs y_T. T is geometric with success probability
P(alpha, d) = 1/2 I_alpha((d-1)/2, 1/2), so the search costs 1/P ~ alpha^(-d/2) candidates
on average: small d only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from omegaconf import MISSING

from ..backend import to_device, to_host
from ..config import CompressorConf
from ..theory import compression_bounds as cb
from .base import COMPRESSORS, BitCost, Contractive
from .batch import prepare


@dataclass
class SphericalConf(CompressorConf):
    alpha: float = MISSING
    max_expected_draws: float = MISSING


@COMPRESSORS.register("spherical")
class SphericalCompression(Contractive):
    """Spherical Compression, first hit (paper oc poster [V]): C in C(alpha), biased.

    With e = x/||x|| and the t-th candidate ``y_t = sqrt(1 - alpha) g_t/||g_t||`` (g_t a
    standard normal vector in R^d, so y_t is uniform on its sphere [R: the poster says only
    "i.i.d. with ||y_t||^2 = 1 - alpha"]), the encoder sends the first T with
    ``||y_T - e||^2 <= alpha`` and the decoder outputs ``C(x) = ||x|| y_T``, so
    ``||C(x) - x||^2 <= alpha ||x||^2`` for every draw: delta = 1 - alpha. C(0) = 0.

    Randomness: each call draws one seed s_m per client (``rng.integers(0, 2**63, M)``),
    shared by the replica rows; g_t comes from a counter-based generator of (s_m, t, j)
    (:mod:`.spherical_kernels`), so :meth:`decode` rebuilds y_T from (s_m, T) in O(d).

    Code: T - 1 in a Golomb-Rice code with parameter k (``(T - 1 >> k) + 1 + k`` bits), k
    minimising the exact expected length for T ~ geometric(P(alpha, d)) (our choice; the
    poster gives no k), plus ``bits_per_float`` for ||x|| (our reading: the poster counts unit
    vectors, spec §5). The law of T is the same for every x, so the expected length is the
    same for every input: ``bits_per_client()`` is that exact expectation (the ACA quantity
    B, which the poster bounds by -log P + 3) plus the norm's bits.

    Host only: a device batch is searched on the host and the result moved back.
    """

    variable_length = True
    sure_bound = True
    schema, schema_name = SphericalConf, "base_spherical"

    @classmethod
    def from_config(cls, cfg, d, n, cost):
        return cls(d, float(cfg["alpha"]), cost, float(cfg["max_expected_draws"]))

    def __init__(self, d: int, alpha: float, cost: BitCost, max_expected_draws: float = 2.0**30):
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"spherical compression needs 0 < alpha < 1, got alpha={alpha}")
        self.d, self.alpha, self.cost = d, alpha, cost
        self.log2_P = cb.log2_P(alpha, d)
        # 1/P overflows a double beyond 2^1024 (large d): infinitely many for the check below
        self.expected_draws = math.inf if -self.log2_P >= 1024 else 2.0 ** (-float(self.log2_P))
        if self.expected_draws > max_expected_draws:
            raise ValueError(
                f"spherical compression at d={d}, alpha={alpha}: the search expects 1/P(alpha, d) = "
                f"2^{-self.log2_P:.1f} = {self.expected_draws:.3g} candidates per client and call, above "
                f"max_expected_draws = {max_expected_draws:.3g}; raise alpha (or max_expected_draws)")
        self.delta = 1.0 - alpha
        P = 2.0**self.log2_P  # > 2^-1024 here: 1/P passed the check above
        self.rice_k = cb.rice_parameter(P)
        self.expected_index_bits = cb.rice_expected_bits(P, self.rice_k)
        # T exceeds 64/P with probability (1 - P)^(64/P) < e^-64: past it the search is broken
        self.t_max = int(math.ceil(64.0 * self.expected_draws))
        self.name = f"Spherical(alpha={alpha:g})"

    def bits_per_client(self) -> float:
        """E|code| = E Rice(T - 1) + bits_per_float, the same for every input (exact)."""
        return self.expected_index_bits + self.cost.bits_per_float

    def compress(self, v, rng: np.random.Generator):
        return self.encode(v, rng)[0]

    def encode(self, v, rng: np.random.Generator):
        """``(C(v), bits)`` and nothing else; see :meth:`encode_index` for T and the seeds."""
        out, bits = self.encode_index(v, rng)[:2]
        return out, bits

    def encode_index(self, v, rng: np.random.Generator):
        """``(C(v), bits, seeds, T, norms)``: the decoded batch, each row's code length, and
        what the server decodes it from, as host arrays: the seeds (shape (M,)), and the
        index and the norm sent (shape ``v.shape[:-1]``); ``C(v) = decode(seeds, T, norms)``."""
        from . import spherical_kernels as sk

        xp = prepare(v, self.d, self.name)
        x = np.asarray(to_host(v), dtype=np.float64)
        lead, M = x.shape[:-1], x.shape[-2]
        seeds = rng.integers(0, 2**63, size=M).astype(np.uint64)
        rows = np.ascontiguousarray(x.reshape(-1, self.d))
        # ||x|| through x/max|x_i|, safe from underflow: a tiny x must not pass for zero
        top = np.max(np.abs(rows), axis=1, keepdims=True)
        scaled = rows / np.where(top > 0, top, 1.0)
        n_scaled = np.sqrt(np.sum(scaled * scaled, axis=1, keepdims=True))
        E = scaled / np.where(n_scaled > 0, n_scaled, 1.0)
        norms = (top * n_scaled)[:, 0]
        seed_rows = np.array(np.broadcast_to(seeds, lead).reshape(-1))  # writable: one Numba signature
        T = np.empty(rows.shape[0], dtype=np.int64)
        draws = np.empty(rows.shape[0], dtype=np.int64)
        if not sk.search(E, seed_rows, self.alpha, True, self.t_max, T, draws):
            raise RuntimeError(f"{self.name}: no hit within {self.t_max} candidates (expected {self.expected_draws:.3g})")
        out = self.decode(seed_rows, T, norms).reshape(x.shape)
        bits = (cb.rice_length(T - 1, self.rice_k) + self.cost.bits_per_float).astype(np.float64).reshape(lead)
        return to_device(xp, out).astype(v.dtype), to_device(xp, bits), seeds, T.reshape(lead), norms.reshape(lead)

    def decode(self, seeds, T, norms) -> np.ndarray:
        """What the server outputs: ``norms * y_T`` for each client's seed and index, shape
        ``T.shape + (d,)`` (``seeds`` broadcast against ``T``; host arrays)."""
        from . import spherical_kernels as sk

        T = np.asarray(T, dtype=np.int64)
        s = np.array(np.broadcast_to(np.asarray(seeds, dtype=np.uint64), T.shape).reshape(-1))
        y = np.empty((s.size, self.d))
        sk.generate(s, np.ascontiguousarray(T.reshape(-1)), self.d, math.sqrt(1.0 - self.alpha), y)
        return np.asarray(norms, dtype=np.float64).reshape(T.shape)[..., None] * y.reshape(T.shape + (self.d,))
