"""Compressors: ``build(cfg, d)`` from a ``compressor`` config node."""

from __future__ import annotations

import math

from .base import BitCost, InputError
from .randk import Identity, RandK, sample_subsets

__all__ = ["BitCost", "InputError", "Identity", "RandK", "build", "resolve_k", "sample_subsets"]


def resolve_k(cfg, d: int) -> int:
    """``k`` from ``compressor.k``, or ``floor(k_fraction * d)`` (at least 1)."""
    if cfg.get("k") is not None:
        return int(cfg["k"])
    if cfg.get("k_fraction") is not None:
        return max(1, int(math.floor(float(cfg["k_fraction"]) * d)))
    raise ValueError("compressor needs k or k_fraction")


def build(cfg, d: int):
    cost = BitCost(int(cfg["bits_per_float"]), bool(cfg["count_indices"]))
    if cfg["name"] == "randk":
        k = resolve_k(cfg, d)
        if k > d:
            raise ValueError(f"compressor.k={k} exceeds the dimension d={d}")
        return RandK(d, k, cost)
    if cfg["name"] == "identity":
        return Identity(d, cost)
    raise ValueError(f"unknown compressor {cfg['name']!r}; valid: randk, identity")
