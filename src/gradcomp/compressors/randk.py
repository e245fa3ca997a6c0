"""Rand-k and the identity (rr paper section 2.1 of the spec).

Rand-k: ``Q(v) = d/k sum_{j in S} v_j e_j`` with ``S`` a uniformly random k-subset,
independent across clients. Unbiased with ``E||Q(v) - v||^2 = (d/k - 1)||v||^2``, so
``omega = d/k - 1``.
"""

from __future__ import annotations

import numpy as np

from ..backend import namespace_of, to_device
from .base import BitCost


def sample_subsets(rng: np.random.Generator, n_sets: int, d: int, k: int) -> np.ndarray:
    """``n_sets`` independent uniform k-subsets of ``range(d)``, shape (n_sets, k).

    Floyd's algorithm, vectorised over the sets: O(n_sets k^2) work, independent of d,
    which is what matters at k/d = 1-2 %. For k^2 > d a random-key partition
    (O(n_sets d)) is cheaper and equally uniform.
    """
    if not 0 < k <= d:
        raise ValueError(f"need 0 < k <= d, got k={k}, d={d}")
    if k * k > d:
        keys = rng.random((n_sets, d))
        return np.argpartition(keys, k - 1, axis=1)[:, :k]
    S = np.empty((n_sets, k), dtype=np.int64)
    for j, top in enumerate(range(d - k, d)):
        t = rng.integers(0, top + 1, size=n_sets)
        if j:
            t = np.where((S[:, :j] == t[:, None]).any(axis=1), top, t)
        S[:, j] = t
    return S


class RandK:
    """Unbiased Rand-k sparsifier, ``omega = d/k - 1``."""

    kind = "unbiased"

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
        out = xp.zeros_like(v)
        out[..., clients, S] = (self.d / self.k) * v[..., clients, S]
        return out


class Identity:
    """No compression, ``omega = 0``."""

    kind = "unbiased"

    def __init__(self, d: int, cost: BitCost):
        self.d, self.k, self.cost = d, d, cost
        self.omega = 0.0
        self.name = "Identity"

    def bits_per_client(self) -> int:
        return self.d * self.cost.bits_per_float

    def compress(self, v, rng: np.random.Generator):
        return v.copy()
