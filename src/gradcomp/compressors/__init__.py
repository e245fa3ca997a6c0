"""Compressors: ``build(cfg, d, n=None)`` from a ``compressor`` config node.

Every compressor takes a batch ``(..., M, d)`` (clients second to last) and a host NumPy
Generator, returns what the server decodes (same shape), and states its class (``kind``:
unbiased, contractive or correlated), its constants and ``bits_per_client()``.
Correlated ones act jointly on the n = M clients and are built for a given n.
"""

from __future__ import annotations

import enum
import math

from .base import BitCost, Contractive, Correlated, InputError, Unbiased
from .contractive import Induced, ScaledSign
from .correlated import CQ, IQ, PermK, PermKCQ
from .optimal import SparseDithering, SphericalCompression
from .quantizers import NaturalCompression, NaturalDithering, StandardDithering, TernGrad
from .randk import Identity, RandK, sample_subsets
from .rotation import Drive
from .sampling import ISCC
from .sparsifiers import ScaledRandK, TopK

__all__ = [
    "BitCost", "CQ", "Contractive", "Correlated", "Drive", "IQ", "ISCC", "Identity", "Induced",
    "InputError", "NaturalCompression", "NaturalDithering", "PermK", "PermKCQ", "RandK",
    "ScaledRandK", "ScaledSign", "SparseDithering", "SphericalCompression", "StandardDithering",
    "TernGrad", "TopK", "Unbiased",
    "build", "resolve_k", "sample_subsets", "NAMES",
]


def resolve_k(cfg, d: int) -> int:
    """``k`` from ``compressor.k``, or ``floor(k_fraction * d)`` (at least 1)."""
    if cfg.get("k") is not None:
        return int(cfg["k"])
    if cfg.get("k_fraction") is not None:
        return max(1, int(math.floor(float(cfg["k_fraction"]) * d)))
    raise ValueError("compressor needs k or k_fraction")


def _str(x) -> str:
    """A config choice as text (composed configs hold enums, stored ones strings)."""
    return x.name if isinstance(x, enum.Enum) else str(x)


def _need_n(name: str, n):
    if n is None:
        raise ValueError(f"compressor {name!r} acts jointly on the clients: build it with n=<number of clients>")
    return int(n)


def _randk(cfg, d, n, cost):
    k = resolve_k(cfg, d)
    if k > d:
        raise ValueError(f"compressor.k={k} exceeds the dimension d={d}")
    return RandK(d, k, cost)


_BUILDERS = {
    "randk": _randk,
    "identity": lambda cfg, d, n, cost: Identity(d, cost),
    "qsgd": lambda cfg, d, n, cost: StandardDithering(d, int(cfg["s"]), _str(cfg["norm"]), cost),
    "terngrad": lambda cfg, d, n, cost: TernGrad(d, cost),
    "natural": lambda cfg, d, n, cost: NaturalCompression(d, int(cfg["exponent_bits"]), cost),
    "natural_dithering": lambda cfg, d, n, cost: NaturalDithering(d, int(cfg["s"]), _str(cfg["norm"]), cost),
    "iq": lambda cfg, d, n, cost: IQ(d, cost),
    "cq": lambda cfg, d, n, cost: CQ(d, _need_n("cq", n), _str(cfg["permutation"]), cost),
    "permk": lambda cfg, d, n, cost: PermK(d, _need_n("permk", n), cost),
    "permk_cq": lambda cfg, d, n, cost: PermKCQ(
        d, _need_n("permk_cq", n), int(cfg["blocks"]), _str(cfg["permutation"]), cost
    ),
    "drive": lambda cfg, d, n, cost: Drive(d, _str(cfg["rotation"]), cost),
    "topk": lambda cfg, d, n, cost: TopK(d, resolve_k(cfg, d), cost),
    "scaled_randk": lambda cfg, d, n, cost: ScaledRandK(d, resolve_k(cfg, d), cost),
    "scaled_sign": lambda cfg, d, n, cost: ScaledSign(d, cost),
    "induced": lambda cfg, d, n, cost: _induced(cfg, d, n),
    "sparse_dithering": lambda cfg, d, n, cost: SparseDithering(d, resolve_k(cfg, d), int(cfg["s"]), cost),
    "spherical": lambda cfg, d, n, cost: SphericalCompression(d, int(cfg["index_bits"]), cost),
    "iscc": lambda cfg, d, n, cost: _iscc(cfg, d, n),
}
NAMES = tuple(sorted(_BUILDERS))


def _induced(cfg, d, n):
    C, Q = build(cfg["contractive"], d, n), build(cfg["unbiased"], d, n)
    if C.kind != "contractive" or Q.kind != "unbiased":
        raise ValueError(
            f"induced compressor needs a contractive and an unbiased part, got {C.kind} {C.name} and {Q.kind} {Q.name}"
        )
    return Induced(C, Q)


def _iscc(cfg, d, n, weights=None):
    n = _need_n("iscc", n)
    if _str(cfg["weights"]) == "given" and weights is None:
        raise ValueError("compressor iscc with weights=given needs build(..., weights=q), e.g. q_i = L_i / sum L_j")
    return ISCC(build(cfg["inner"], d, n), n, weights if _str(cfg["weights"]) == "given" else None)


def build(cfg, d: int, n: int | None = None, weights=None):
    """The compressor ``cfg`` names, for dimension ``d`` (and ``n`` clients if correlated).

    ``weights``: ISCC's sampling probabilities when its config says ``weights: given``
    (they come from the problem, e.g. smoothness constants, not from the config).
    """
    name = cfg["name"]
    if name == "iscc":
        return _iscc(cfg, d, n, weights)
    if name not in _BUILDERS:
        raise ValueError(f"unknown compressor {name!r}; valid: {', '.join(NAMES)}")
    cost = BitCost(int(cfg["bits_per_float"]), bool(cfg["count_indices"]))
    return _BUILDERS[name](cfg, d, n, cost)
