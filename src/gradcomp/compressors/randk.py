"""Rand-k and the identity (rr paper section 2.1 of the spec).

Rand-k: ``Q(v) = d/k sum_{j in S} v_j e_j`` with ``S`` a uniformly random k-subset,
independent across clients. Unbiased with ``E||Q(v) - v||^2 = (d/k - 1)||v||^2``, so
``omega = d/k - 1``.
"""

from __future__ import annotations

import numpy as np

from ..backend import namespace_of, to_device
from .base import COMPRESSORS, BitCost, Unbiased, resolve_k


#: Floyd's algorithm over all sets at once (compiled, O(n_sets k^2)) is the cheapest for
#: the tiny k of the rr figures (k <= 6), whose draws it defines and which must not
#: change. Above this k, NumPy's own Floyd (C, hash set) is used per set.
FLOYD_VECTOR_MAX_K = 32


def sample_subsets(rng: np.random.Generator, n_sets: int, d: int, k: int) -> np.ndarray:
    """``n_sets`` independent uniform k-subsets of ``range(d)``, shape (n_sets, k).

    Three exact samplers, by the cost that wins:

    * k <= 32 and k^2 <= d: Floyd's algorithm over all the sets at once, O(n_sets k^2)
      (:func:`~gradcomp.compressors.kernels.floyd_subsets`; the draws of every committed
      rr result);
    * otherwise, k <= d/50: ``Generator.choice(d, k, replace=False)`` per set, which is
      Floyd's algorithm with a hash set in C: O(k) per set, independent of d;
    * otherwise (k above 2 % of d): a random-key partition, O(n_sets d).
    """
    if not 0 < k <= d:
        raise ValueError(f"need 0 < k <= d, got k={k}, d={d}")
    if k <= FLOYD_VECTOR_MAX_K and k * k <= d:
        from .kernels import floyd_subsets  # numba: imported on first use

        return floyd_subsets(rng, n_sets, d, k)
    if 50 * k <= d:
        S = np.empty((n_sets, k), dtype=np.int64)
        for i in range(n_sets):
            S[i] = rng.choice(d, k, replace=False)
        return S
    keys = rng.random((n_sets, d))
    return np.argpartition(keys, k - 1, axis=1)[:, :k]


@COMPRESSORS.register("randk")
class RandK(Unbiased):
    """Unbiased Rand-k sparsifier, ``omega = d/k - 1``."""

    sparse_path = True

    @classmethod
    def from_config(cls, cfg, d, n, cost):
        k = resolve_k(cfg, d)
        if k > d:
            raise ValueError(f"compressor.k={k} exceeds the dimension d={d}")
        return cls(d, k, cost)

    def __init__(self, d: int, k: int, cost: BitCost):
        if not 0 < k <= d:
            raise ValueError(f"Rand-k needs 0 < k <= d, got k={k}, d={d}")
        self.d, self.k, self.cost = d, k, cost
        self.omega = d / k - 1.0
        self.name = f"Rand-{k}"

    def bits_per_client(self) -> int:
        return self.cost.sparse_message(self.k, self.d)

    @property
    def scale(self) -> float:
        return self.d / self.k

    def sample(self, rng: np.random.Generator, n_clients: int) -> np.ndarray:
        """The coordinates each client keeps this call, shape (n_clients, k).

        ``compress`` draws exactly this, so a method may ask for the gradient at these
        coordinates only and apply ``scale``: the same message, without the dense vector.
        """
        return sample_subsets(rng, n_clients, self.d, self.k)

    def compress(self, v, rng: np.random.Generator):
        xp = namespace_of(v)
        M = v.shape[-2]
        S = to_device(xp, self.sample(rng, M))
        clients = xp.arange(M)[:, None]
        # zeros, not zeros_like: a fresh zeroed allocation (calloc) touches only the pages
        # written below, so the call costs O(k) per client, not O(d)
        out = xp.zeros(v.shape, dtype=v.dtype)
        out[..., clients, S] = (self.d / self.k) * v[..., clients, S]
        return out


@COMPRESSORS.register("identity")
class Identity(Unbiased):
    """No compression, ``omega = 0``."""

    @classmethod
    def from_config(cls, cfg, d, n, cost):
        return cls(d, cost)

    def __init__(self, d: int, cost: BitCost):
        self.d, self.k, self.cost = d, d, cost
        self.omega = 0.0
        self.name = "Identity"

    def bits_per_client(self) -> int:
        return self.d * self.cost.bits_per_float

    def compress(self, v, rng: np.random.Generator):
        return v.copy()
