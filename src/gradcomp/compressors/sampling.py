"""The importance-sampling combinatorial compressor ISCC (paper cq, Appendix C.2).

Only one client, chosen at random, compresses and sends; its message is reweighted so
that the average over clients is unbiased for the mean (not for each client).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
from omegaconf import MISSING

from ..config import CompressorConf, choice
from .base import COMPRESSORS, Correlated, need_n
from .batch import prepare


class Weights(enum.Enum):
    uniform = "uniform"
    given = "given"


@dataclass
class ISCCConf(CompressorConf):
    inner: CompressorConf = MISSING
    weights: Weights = MISSING


@COMPRESSORS.register("iscc")
class ISCC(Correlated):
    """ISCC (cq Appendix C.2, Lemma 4; importance sampling of Tyurin et al. 2022).

    A shared draw chi = i with probability q_i picks one client, which sends
    C(a_chi) / (n q_chi), C in U(omega) an independent unbiased compressor. Returned as
    per-client messages whose mean is that estimate: row chi holds C(a_chi) / q_chi, the
    others 0.

    Weighted AB-inequality (cq Assumption 6) with w = q:
    E||C(a_chi)/(n q_chi) - abar||^2 = (1 + omega) sum_i ||a_i||^2 / (n^2 q_i) - ||abar||^2,
    with equality when C's variance equals omega ||x||^2 (e.g. Rand-k): A = omega + 1,
    B = 1. Not individually unbiased.

    bits: the chosen client sends C's message, so bits(C)/n per client on average.
    """

    individually_unbiased = False
    takes_weights = True
    schema, schema_name = ISCCConf, "base_iscc"

    @classmethod
    def from_config(cls, cfg, d, n, cost, weights=None):
        from . import build

        n = need_n("iscc", n)
        given = choice(cfg["weights"]) == "given"
        if given and weights is None:
            raise ValueError("compressor iscc with weights=given needs build(..., weights=q), "
                             "e.g. q_i = L_i / sum L_j")
        return cls(build(cfg["inner"], d, n), n, weights if given else None)

    def __init__(self, inner, n: int, weights=None):
        if inner.kind != "unbiased":
            raise ValueError(f"ISCC needs an unbiased inner compressor, got {inner.kind} {inner.name}")
        q = np.full(n, 1.0 / n) if weights is None else np.asarray(weights, dtype=np.float64)
        if q.shape != (n,) or np.any(q <= 0) or not np.isfinite(q).all():
            raise ValueError(f"ISCC weights must be {n} positive numbers, got {weights!r}")
        self.inner, self.n, self.d = inner, n, inner.d
        self.q = q / q.sum()
        self.A, self.B = inner.omega + 1.0, 1.0
        # paper cq C.3 puts DRIVE's typical pi/2 - 1 here (A = pi/2), not its worst case
        self.A_paper = getattr(inner, "vnmse", inner.omega) + 1.0
        self.sampling_weights = None if weights is None else self.q
        self.name = f"ISCC({inner.name})"

    def ab_constants(self, n: int, convention: str = "exact") -> tuple[float, float]:
        """``(omega_C + 1, 1)``; the paper (C.3) puts DRIVE's typical pi/2 - 1 for omega_C."""
        return (self.A_paper if convention == "paper" else self.A), self.B

    def bits_per_client(self) -> float:
        return self.inner.bits_per_client() / self.n

    def compress(self, v, rng: np.random.Generator):
        xp = prepare(v, self.d, self.name)
        if v.shape[-2] != self.n:
            raise ValueError(f"{self.name} was built for n={self.n} clients, got a batch with {v.shape[-2]}")
        chi = int(rng.choice(self.n, p=self.q))  # shared: every client learns who sends
        msg = self.inner.compress(v[..., chi : chi + 1, :], rng) / self.q[chi]
        out = xp.zeros_like(v)
        out[..., chi : chi + 1, :] = msg
        return out
