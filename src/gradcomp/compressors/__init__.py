"""Compressors: ``build(cfg, d, n=None)`` from a ``compressor`` config node.

Every compressor takes a batch ``(..., M, d)`` (clients second to last) and a host NumPy
Generator, returns what the server decodes (same shape), and states its class (``kind``:
unbiased, contractive or correlated), its constants, its capabilities and
``bits_per_client()`` (:mod:`.base`). Each is declared once, on its class, with
``@COMPRESSORS.register(name)``; joint (correlated) ones are built for n = M clients.
"""

from __future__ import annotations

from .base import (COMPRESSORS, BitCost, Compressor, Contractive, Correlated, InputError, Unbiased,
                   resolve_k)
from .contractive import Induced, ScaledSign
from .correlated import CQ, IQ, PermK, PermKCQ
from .quantizers import NaturalCompression, NaturalDithering, StandardDithering, TernGrad
from .randk import Identity, RandK, sample_subsets
from .rotation import Drive
from .sampling import ISCC
from .sparse_dithering import SparseDithering, UnbiasedSparseDithering
from .sparsifiers import ScaledRandK, TopK
from .spherical import SphericalCompression

__all__ = [
    "BitCost", "COMPRESSORS", "CQ", "Compressor", "Contractive", "Correlated", "Drive", "IQ", "ISCC",
    "Identity", "Induced", "InputError", "NaturalCompression", "NaturalDithering", "PermK", "PermKCQ",
    "RandK", "ScaledRandK", "ScaledSign", "SparseDithering", "SphericalCompression", "StandardDithering",
    "TernGrad", "TopK", "Unbiased", "UnbiasedSparseDithering", "build", "resolve_k", "sample_subsets", "NAMES",
]

NAMES = tuple(COMPRESSORS.names())


def build(cfg, d: int, n: int | None = None, weights=None) -> Compressor:
    """The compressor ``cfg`` names, for dimension ``d`` (and ``n`` clients if joint).

    ``weights``: per-client weights from the problem (a run passes its clients' smoothness
    constants L_i), which a compressor that ``takes_weights`` may use (ISCC with ``weights:
    given`` samples client i with probability L_i / sum_j L_j, cq Theorem 3).
    """
    entry = COMPRESSORS[cfg["name"]]
    cost = BitCost(int(cfg["bits_per_float"]), bool(cfg["count_indices"]))
    if weights is None or not entry.takes_weights:
        return entry.from_config(cfg, d, n, cost)
    return entry.from_config(cfg, d, n, cost, weights=weights)
