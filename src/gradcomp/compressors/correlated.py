"""Quantizers and sparsifiers whose clients' draws are coupled: IQ (the independent
baseline), correlated quantization CQ, PermK, and PermK + CQ.

The client axis (second to last) has n entries. Shared randomness (one seed known to all
clients and the server) is drawn first, then the per-client randomness, from the
caller's stream; replicas (leading axes) share both.

Quantization range. As paper cq (Definitions 5-7) and the authors' MiniFL code, client i
quantizes every coordinate of its vector x_i on ``[l, r] = [-||x_i||, ||x_i||]`` and sends
``||x_i||`` (one float) and one bit per coordinate. Paper cq states the mean squared errors
as ``(r - l)^2 / (4n)`` (IQ) and ``(r - l)^2 / (4 n^2)`` (CQ) per coordinate and then
writes "||x||^2" for the numerator, i.e. IQ in U(d/(4n), 0), CQ in U(d/(4n^2), 0). With
``r - l = 2||x||`` the true constants are four times larger (spec §A.1, caveat): we state
the true ones as ``A``/``A_homogeneous`` and the paper's as ``A_paper`` (the published
0.23 improvement factor needs the paper's).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
from omegaconf import MISSING

from ..config import CompressorConf, choice
from .base import COMPRESSORS, BitCost, Correlated, Unbiased, need_n
from .batch import device, fused_elementwise, norm, prepare, safe_divide, use_fused

PERMUTATIONS = ("uniform", "cyclic")


class Permutation(enum.Enum):
    uniform = "uniform"
    cyclic = "cyclic"


@dataclass
class CQConf(CompressorConf):
    permutation: Permutation = MISSING


@dataclass
class PermKCQConf(CQConf):
    blocks: int = MISSING


def _one_bit(xp, w, u):
    """Round each coordinate of ``w`` to ``+-||w||`` with ``P(+) = (w_j + R)/(2R)``:
    unbiased, given ``u`` uniform on [0, 1); a zero vector gives zeros."""
    R = norm(xp, w, 2)
    y = safe_divide(xp, w + R, 2 * R)
    return xp.where(u < y, R, -R)


def _shared_ranks(rng: np.random.Generator, d: int, m: int, permutation: str) -> np.ndarray:
    """The shared ranks, shape (d, m): entry [j, i] is the rank in {0..m-1} of client i at
    coordinate j; for every j the m ranks are a permutation of {0..m-1}.

    ``uniform``: an independent uniform permutation per coordinate (Suresh et al. 2022,
    Algorithm 1); draws: one ``permuted`` of a (d, m) array.
    ``cyclic``: rank (s_j + pi(i)) mod m, with pi a uniform permutation of the clients
    shared by all coordinates and s_j uniform on {0..m-1} per coordinate, as the Suresh
    et al. notebook does; draws: pi, then s. Without pi (rank (s_j + i) mod m) the rank
    offset (i - k) mod m of two clients would be fixed by their indices, so on
    heterogeneous inputs the error of the mean would depend on the client order and
    differ from the notebook's; pi averages over the orders. Each client's rank is
    uniform in both branches; the joint laws across clients and coordinates differ.
    """
    if permutation == "uniform":
        return rng.permuted(np.tile(np.arange(m), (d, 1)), axis=1)
    if permutation == "cyclic":
        pi = rng.permutation(m)
        s = rng.integers(0, m, size=d)
        return (s[:, None] + pi[None, :]) % m
    raise ValueError(f"permutation must be one of {PERMUTATIONS}, got {permutation!r}")


@COMPRESSORS.register("iq")
class IQ(Unbiased):
    """Independent quantization IQ (cq Definitions 5 and 6): every client rounds every
    coordinate independently to ``l`` or ``r`` (range above), unbiasedly.

    omega = d - 1, with equality for every x != 0: sum_j (r - x_j)(x_j - l) =
    d ||x||^2 - ||x||^2. Independent clients: U(A = (d-1)/n, B = 0), with equality.
    Paper's convention (cq Corollary 1): A_paper = d/(4n).

    bits = d + bits_per_float.
    """

    @classmethod
    def from_config(cls, cfg, d, n, cost):
        return cls(d, cost)

    def __init__(self, d: int, cost: BitCost):
        self.d, self.cost = d, cost
        self.omega = float(d - 1)
        self.name = "IQ"

    @staticmethod
    def A_paper(d: int, n: int) -> float:
        return d / (4.0 * n)

    def ab_constants(self, n: int, convention: str = "exact") -> tuple[float, float]:
        """``((d-1)/n, 0)``, or the paper's ``(d/(4n), 0)``."""
        return (self.A_paper(self.d, n) if convention == "paper" else self.omega / n), 0.0

    def bits_per_client(self) -> int:
        return self.d + self.cost.bits_per_float

    def compress(self, v, rng: np.random.Generator):
        if use_fused(v):
            return fused_elementwise(v, rng, self.d, self.name, "one_bit", 2)
        xp = prepare(v, self.d, self.name)
        u = device(xp, rng.random(v.shape[-2:]))
        return _one_bit(xp, v, u)


@COMPRESSORS.register("cq")
class CQ(Correlated):
    """Correlated quantization (Suresh et al. 2022, Algorithm 1 "OneDimOneBitCQ", applied to
    every coordinate with independent permutations: cq Definition 7).

    For coordinate j a permutation pi_j of the n clients is shared; client i draws its own
    offset gamma_ij ~ U[0, 1) and uses ``U_ij = (pi_j(i) + gamma_ij) / n`` (uniform on
    [0, 1) for each client alone, stratified across clients) in the one-bit rounding of
    :class:`IQ`. So each client is individually unbiased with omega_i = d - 1 (its law
    alone is IQ's).

    Constants. General inputs: A = d - 1, B = 0 (Jensen, cq Proposition 1). Identical
    inputs a_i = x: MSE = sum_j (2||x||)^2 f_j (1 - f_j) / n^2 <= (d / n^2) ||x||^2, where
    n y_j = floor + f_j (our derivation, spec §1.3): ``A_homogeneous = d/n^2``,
    n times smaller than IQ's d/n. Paper: A_paper = d/(4n^2) (cq Corollary 2).

    bits = d + bits_per_float per client (the permutations come from the shared seed).
    """

    schema, schema_name = CQConf, "base_cq"

    @classmethod
    def from_config(cls, cfg, d, n, cost):
        return cls(d, need_n("cq", n), choice(cfg["permutation"]), cost)

    def __init__(self, d: int, n: int, permutation: str, cost: BitCost):
        if permutation not in PERMUTATIONS:
            raise ValueError(f"permutation must be one of {PERMUTATIONS}, got {permutation!r}")
        self.d, self.n, self.cost, self.permutation = d, n, cost, permutation
        self.omega_i = float(d - 1)
        self.A, self.B = float(d - 1), 0.0
        self.A_homogeneous = d / n**2
        self.A_paper = d / (4.0 * n**2)
        self.name = "CQ"

    def bits_per_client(self) -> int:
        return self.d + self.cost.bits_per_float

    def ab_constants(self, n: int, convention: str = "exact") -> tuple[float, float]:
        """The homogeneous constant, extrapolated to every input as paper cq does:
        ``(d/n^2, 0)``, or the paper's ``(d/(4n^2), 0)``."""
        return (self.A_paper if convention == "paper" else self.A_homogeneous), 0.0

    def compress(self, v, rng: np.random.Generator):
        xp = prepare(v, self.d, self.name)
        _check_n(self, v)
        pi = _shared_ranks(rng, self.d, self.n, self.permutation).T  # (n, d): rank of client i
        gamma = rng.random((self.n, self.d))
        u = device(xp, (pi + gamma) / self.n)
        return _one_bit(xp, v, u)


def _check_n(comp, v) -> None:
    if v.shape[-2] != comp.n:
        raise ValueError(f"{comp.name} was built for n={comp.n} clients, got a batch with {v.shape[-2]}")


@COMPRESSORS.register("permk")
class PermK(Correlated):
    """PermK (Szlendak et al. 2021), the correlated sparsifier, for any n and d.

    d >= n: a shared uniform permutation of the d coordinates is cut into n blocks (sizes
    floor(d/n) or ceil(d/n)); client i gets block rho(i), rho a shared uniform permutation
    of the blocks (Tyurin et al.'s code), and sends n x_j on its block. Every coordinate
    is client i's with probability 1/n, so each C_i is unbiased, omega_i = n - 1, and
    A = B = 1 with equality: MSE = 1/n sum ||a_i||^2 - ||abar||^2.

    n > d: the multiset in which coordinate j appears q_j times (q_j = floor(n/d) or
    ceil(n/d), which coordinates get the extra copy is shared-random) is shuffled over the
    clients; client i sends (n / q_{pi_i}) x_{pi_i} (= d x_{pi_i} when d | n). Coordinate j
    is then the mean of q_j clients drawn without replacement, so
    A = B = (n - q) / (q (n - 1)), q = floor(n/d), i.e. (d - 1)/(n - 1) when d | n,
    with equality when d | n; omega_i = n/q - 1.

    On identical inputs the messages average to x exactly (zero error) in both regimes.
    bits = sparse_message(values sent, d) per client, averaged over clients (d/n values
    when d >= n; indices are free with the shared seed unless ``count_indices``).
    """

    @classmethod
    def from_config(cls, cfg, d, n, cost):
        return cls(d, need_n("permk", n), cost)

    def __init__(self, d: int, n: int, cost: BitCost):
        self.d, self.n, self.cost = d, n, cost
        if d >= n:
            self.A = self.B = 1.0
            self.omega_i = float(n - 1)
        else:
            q = n // d
            self.A = self.B = (n - q) / (q * (n - 1))
            self.omega_i = n / q - 1.0
        self.name = "PermK"

    def bits_per_client(self) -> float:
        d, n = self.d, self.n
        if d < n:
            return float(self.cost.sparse_message(1, d))
        sizes = [d // n + (1 if b < d % n else 0) for b in range(n)]
        return sum(self.cost.sparse_message(s, d) for s in sizes) / n

    def weights(self, rng: np.random.Generator) -> np.ndarray:
        """The host matrix W (n, d) with ``C_i(x_i) = W_i * x_i`` for this draw."""
        d, n = self.d, self.n
        W = np.zeros((n, d))
        tau = rng.permutation(d)
        if d >= n:
            sizes = np.array([d // n + (1 if b < d % n else 0) for b in range(n)])
            block_of = np.empty(d, dtype=np.int64)
            block_of[tau] = np.repeat(np.arange(n), sizes)  # coordinate -> block
            rho = rng.permutation(n)  # client -> block
            W[block_of[None, :] == rho[:, None]] = n
        else:
            counts = np.full(d, n // d)
            counts[: n % d] += 1  # positions in tau: the first n mod d get the extra copy
            coords = rng.permutation(np.repeat(tau, counts))  # client -> coordinate
            q = np.empty(d, dtype=np.int64)
            q[tau] = counts
            W[np.arange(n), coords] = n / q[coords]
        return W

    def compress(self, v, rng: np.random.Generator):
        xp = prepare(v, self.d, self.name)
        _check_n(self, v)
        return v * device(xp, self.weights(rng), v.dtype)


@COMPRESSORS.register("permk_cq")
class PermKCQ(Correlated):
    """PermK + CQ (cq Algorithm 3), with b blocks, b | n and b | d.

    A block-diagonal 0/1 matrix M (n x d; client group g of n/b clients owns coordinate
    group g of d/b coordinates) has its rows, then its columns, permuted with the shared
    seed; client i keeps coordinate j iff M_ij = 1 and scales it by b (P(M_ij = 1) = 1/b),
    then the m = n/b clients of each group run CQ on their kept coordinates. b = 1 is
    plain CQ (no permutation drawn, so the same draws as :class:`CQ`); b = n gives PermK's
    sparsity pattern.

    Reading of the algorithm: CQ quantizes the client's zeroed-and-scaled vector w_i
    (range [-||w_i||, ||w_i||], its own norm). Each C_i is unbiased with omega_i = d - 1
    exactly (our derivation); general A = d - 1, B = 0. Identical inputs:
    MSE <= (d b / n^2) ||x||^2 (our derivation: ``A_homogeneous``). The paper's
    Corollary 3, in its convention, is A_paper = d b^2 / (4 n^2) (quantizing on the full
    vector's range would give d b^2 / n^2).

    bits = d/b + bits_per_float per client.
    """

    schema, schema_name = PermKCQConf, "base_permk_cq"

    @classmethod
    def from_config(cls, cfg, d, n, cost):
        return cls(d, need_n("permk_cq", n), int(cfg["blocks"]), choice(cfg["permutation"]), cost)

    def __init__(self, d: int, n: int, b: int, permutation: str, cost: BitCost):
        if b < 1 or n % b or d % b:
            raise ValueError(f"PermK+CQ needs a block count b dividing n={n} and d={d}, got b={b}")
        if permutation not in PERMUTATIONS:
            raise ValueError(f"permutation must be one of {PERMUTATIONS}, got {permutation!r}")
        self.d, self.n, self.b, self.cost, self.permutation = d, n, b, cost, permutation
        self.omega_i = float(d - 1)
        self.A, self.B = float(d - 1), 0.0
        self.A_homogeneous = d * b / n**2
        self.A_paper = d * b**2 / (4.0 * n**2)
        self.name = f"PermK+CQ(b={b})"

    def bits_per_client(self) -> int:
        return self.d // self.b + self.cost.bits_per_float

    def ab_constants(self, n: int, convention: str = "exact") -> tuple[float, float]:
        """The homogeneous constant, extrapolated as for :class:`CQ`: ``(d b/n^2, 0)``, or the
        paper's Corollary 3, ``(d b^2/(4n^2), 0)``."""
        return (self.A_paper if convention == "paper" else self.A_homogeneous), 0.0

    def compress(self, v, rng: np.random.Generator):
        xp = prepare(v, self.d, self.name)
        _check_n(self, v)
        n, d, b = self.n, self.d, self.b
        m, width = n // b, d // b
        if b == 1:
            rank, keep = np.arange(n), None
        else:
            sigma, tau = rng.permutation(n), rng.permutation(d)  # rows, then columns of M
            rank = sigma % m
            keep = (sigma[:, None] // m) == (tau[None, :] // width)  # (n, d): M_ij
        pi = _shared_ranks(rng, d, m, self.permutation)  # (d, m)
        gamma = rng.random((n, d))
        u = device(xp, (pi[:, rank].T + gamma) / m)
        if keep is None:
            return _one_bit(xp, v, u)
        mask = device(xp, keep, v.dtype)
        return _one_bit(xp, b * v * mask, u) * mask
