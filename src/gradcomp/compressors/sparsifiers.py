"""Contractive sparsifiers: Top-k and scaled (unscaled-by-d/k) Rand-k.

Both send k values out of d; bits = ``BitCost.sparse_message(k, d)`` (values, plus
indices when ``count_indices`` is set; with a shared seed Rand-k's indices need not travel).
"""

from __future__ import annotations

import numpy as np

from .base import COMPRESSORS, BitCost, Contractive, resolve_k
from .batch import device, gather_rows, keep_rows, prepare
from .randk import sample_subsets


def _check_k(name: str, d: int, k: int) -> int:
    if k < 1:
        raise ValueError(f"{name} needs k >= 1, got k={k}")
    return min(k, d)  # k >= d keeps everything: the identity


@COMPRESSORS.register("topk")
class TopK(Contractive):
    """Top-k: keep the k coordinates of largest **magnitude** |x_j| (Alistarh et al. 2018;
    Beznosikov et al. 2020), zero the rest. Deterministic.

    delta = k/d: the d - k dropped squares are the smallest, so their sum is at most
    (1 - k/d) ||x||^2. Ties are broken by the selection routine (any k of the tied ones).
    """

    @classmethod
    def from_config(cls, cfg, d, n, cost):
        return cls(d, resolve_k(cfg, d), cost)

    def __init__(self, d: int, k: int, cost: BitCost):
        self.d, self.cost = d, cost
        self.k = _check_k("Top-k", d, k)
        self.delta = self.k / d
        self.name = f"Top-{self.k}"

    def bits_per_client(self) -> int:
        return self.cost.sparse_message(self.k, self.d)

    def compress(self, v, rng: np.random.Generator | None = None):
        xp = prepare(v, self.d, self.name)
        if self.k == self.d:
            return xp.array(v, copy=True)
        # argpartition (selection, O(d)) exists in NumPy and CuPy; a full sort is 20x slower
        idx = xp.argpartition(-xp.abs(v), self.k - 1, axis=-1)[..., : self.k]
        return keep_rows(xp, v, idx)


@COMPRESSORS.register("scaled_randk")
class ScaledRandK(Contractive):
    """Rand-k without the d/k scaling: ``C(x) = sum_{j in S} x_j e_j``, S a uniform
    k-subset per client (= (k/d) Rand-k, the unbiased one scaled by 1/(omega + 1)).

    delta = k/d, with equality: ``E||C(x) - x||^2 = (1 - k/d) ||x||^2``. Draws exactly
    the subsets :class:`RandK` draws from the same generator state.
    """

    scale = 1.0
    sparse_path = True

    @classmethod
    def from_config(cls, cfg, d, n, cost):
        return cls(d, resolve_k(cfg, d), cost)

    def __init__(self, d: int, k: int, cost: BitCost):
        self.d, self.cost = d, cost
        self.k = _check_k("scaled Rand-k", d, k)
        self.delta = self.k / d
        self.name = f"ScaledRand-{self.k}"

    def bits_per_client(self) -> int:
        return self.cost.sparse_message(self.k, self.d)

    def sample(self, rng: np.random.Generator, n_clients: int) -> np.ndarray:
        """The kept coordinates, shape (n_clients, k); see :meth:`RandK.sample`."""
        return sample_subsets(rng, n_clients, self.d, self.k)

    def compress(self, v, rng: np.random.Generator):
        xp = prepare(v, self.d, self.name)
        S = device(xp, self.sample(rng, v.shape[-2]))
        M = v.shape[-2]
        out = xp.zeros(v.shape, dtype=v.dtype)  # lazily zeroed: O(k) pages touched
        out[..., xp.reshape(xp.arange(M), (M, 1)), S] = gather_rows(xp, v, S)
        return out
