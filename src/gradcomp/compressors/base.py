"""What every compressor provides: the compressor protocol and the registry.

A compressor maps a batch of client vectors ``v`` of shape ``(..., M, d)`` (client axis
second to last; leading axes are replicas) to what the server decodes, same shape. The
randomness is drawn once per call from a host NumPy Generator and shared by the leading
axes (common random numbers across replicas), independently across clients.

Every compressor is a subclass of one of the three classes below, which states what the
theory of a method may assume of it, and declares its capabilities:

* :class:`Unbiased`, U(omega): ``omega``;
* :class:`Contractive`, B(delta): ``delta``; with ``sure_bound`` the bound holds for every
  draw (paper oc's class C(alpha), alpha = 1 - delta);
* :class:`Correlated`, a joint compressor of n clients in the AB-inequality: ``A``, ``B``,
  and ``omega`` of each client's message when it is unbiased on its own;
* ``joint``: it acts on all clients' vectors at once (built for n clients);
* ``sparse_path``: it keeps k coordinates per client drawn by ``sample(rng, M)`` and scales
  them by ``scale``, so a method may compute only those coordinates.

``encode(v, rng)`` gives the decoded batch and each client's code length; it is
``bits_per_client()`` for every row unless the compressor is ``variable_length`` (a code
whose length depends on the input and the draw; ``bits_per_client()`` is then a stated
bound on the expected length for the worst unit input).

It is declared once, with its config name and schema, by ``@COMPRESSORS.register(name)``
on the class, which also provides ``from_config(cfg, d, n, cost)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..backend import namespace_of
from ..config import CompressorConf
from ..registry import Registry

#: Every compressor, by its config name (``compressor.name``).
COMPRESSORS = Registry("compressor", "gradcomp.compressors", exclude=("kernels", "spherical_kernels"))


@dataclass(frozen=True)
class BitCost:
    """Bits per float, and whether coordinate indices are charged (papers differ)."""

    bits_per_float: int
    count_indices: bool

    def sparse_message(self, k: int, d: int) -> int:
        """Bits of a message of ``k`` values out of ``d`` coordinates."""
        index_bits = k * math.ceil(math.log2(d)) if (self.count_indices and d > 1) else 0
        return k * self.bits_per_float + index_bits


class InputError(ValueError):
    pass


def non_finite_error(name: str) -> InputError:
    return InputError(f"{name}: input contains NaN or inf; compress finite vectors only")


def check_finite(xp, v, name: str = "compressor") -> None:
    if not bool(xp.all(xp.isfinite(v))):
        raise non_finite_error(name)


# --- the classes a compressor belongs to (spec §1.2; cq Definition 1, Assumptions 4-6) ---------


class Compressor:
    """The protocol (see the module docstring); subclass :class:`Unbiased`,
    :class:`Contractive` or :class:`Correlated`, never this class directly."""

    kind: str
    name: str
    d: int
    #: acts on the n clients' vectors jointly (built for a given n)
    joint = False
    #: has ``sample(rng, M) -> (M, k)`` coordinates and ``scale``: ``C(v)_m = scale * v_m`` on them
    sparse_path = False
    #: ``from_config`` takes per-client ``weights`` from the problem (see ``build``)
    takes_weights = False
    #: the config schema (a :class:`~gradcomp.config.CompressorConf`) and its ConfigStore name
    schema, schema_name = CompressorConf, "base_compressor"

    #: its code length depends on the input and the draw; ``encode`` gives the actual length
    #: (``bits_per_client()`` is then a stated bound on the expected length for the worst
    #: unit input, the ACA quantity B of paper oc)
    variable_length = False
    #: ||C(x) - x||^2 <= (1 - delta)||x||^2 holds for every draw (the class C(alpha)), not only in expectation
    sure_bound = False

    #: the weights w of the weighted AB-inequality it satisfies (cq Assumption 6), or None
    #: for the plain one (w_i = 1/n)
    sampling_weights = None

    @property
    def client_omega(self) -> float | None:
        """omega of each client's message when it is unbiased on its own, else None."""
        return None

    def ab_constants(self, n: int, convention: str = "exact") -> tuple[float, float]:
        """``(A, B)`` for a stepsize from the AB-inequality (MARINA, cq Theorem 2).

        The AB-inequality of :meth:`ab` where it holds for every input. The quantizers whose
        small constant holds only on identical inputs (IQ, CQ, PermK+CQ) override this with
        that homogeneous constant, which paper cq extrapolates to every input (spec A.2);
        ``convention="paper"`` takes the constant the paper states where it differs from
        the true one (spec A.1: d/(4n) and d/(4n^2) for the true d/n and d/n^2).
        """
        return self.ab(n)

    def induced_parts(self) -> tuple[float | None, float]:
        """``(omega of the unbiased part, delta of the contractive part)``: a compressor
        ``C + Q(. - C)`` (shift paper footnote 1) has ``(omega_Q, delta_C)``, any other
        ``(client_omega, 0)``."""
        return self.client_omega, 0.0

    def describe(self) -> str:
        """The class and its constant, for messages: ``Top-2 (contractive, delta = 0.0179)``."""
        return f"{self.name} ({self.kind}, {self._constant()})"

    def _constant(self) -> str:
        raise NotImplementedError

    @classmethod
    def from_config(cls, cfg, d: int, n: int | None, cost: "BitCost"):
        """The compressor a config node describes, for dimension d and n clients."""
        raise NotImplementedError

    def compress(self, v, rng):
        raise NotImplementedError

    def encode(self, v, rng):
        """``(C(v), bits)``: what the server decodes and each client's code length, shape ``v.shape[:-1]``.

        A fixed-length compressor's length is ``bits_per_client()`` for every row; a
        ``variable_length`` one overrides this with the length of its actual code, and its
        ``compress(v, rng)`` equals ``encode(v, rng)[0]`` on the same draws.
        """
        out = self.compress(v, rng)
        xp = namespace_of(out)
        return out, xp.zeros(tuple(v.shape[:-1]), dtype=xp.float64) + float(self.bits_per_client())

    def bits_per_client(self) -> float:
        raise NotImplementedError


class Unbiased(Compressor):
    """U(omega): ``E C(x) = x`` and ``E||C(x) - x||^2 <= omega ||x||^2`` (cq Definition 1).

    Clients draw independently, so for n clients the set is in U(A = omega/n, B = 0)
    (cq Proposition 1).
    """

    kind = "unbiased"
    omega: float
    #: False where unbiasedness holds only approximately (DRIVE with the Hadamard rotation)
    exactly_unbiased = True

    @property
    def client_omega(self) -> float:
        return self.omega

    def ab(self, n: int) -> tuple[float, float]:
        return self.omega / n, 0.0

    def _constant(self) -> str:
        return f"U(omega = {self.omega:.4g})"


class Contractive(Compressor):
    """B(delta): ``E||C(x) - x||^2 <= (1 - delta) ||x||^2`` with ``0 < delta <= 1``.

    With ``sure_bound`` the inequality holds for every draw: paper oc's class C(alpha),
    alpha = 1 - delta.
    """

    kind = "contractive"
    delta: float

    def _constant(self) -> str:
        if self.sure_bound:
            return f"C(alpha = {1.0 - self.delta:.4g}), biased; the bound holds for every draw"
        return f"B(delta = {self.delta:.4g}), biased"


class Correlated(Compressor):
    """A joint compressor of n clients' vectors ``a_1..a_n`` (client axis second to last).

    States the AB-inequality (cq Assumption 5, Szlendak et al. 2021)
    ``E||1/n sum C_i(a_i) - abar||^2 <= A 1/n sum ||a_i||^2 - B ||abar||^2`` through
    ``A`` and ``B``, and whether each ``C_i`` is unbiased on its own (cq Assumption 4), with
    variance ``omega_i``.
    """

    kind = "correlated"
    joint = True
    n: int
    A: float
    B: float
    individually_unbiased = True
    omega_i: float

    @property
    def client_omega(self) -> float | None:
        return float(self.omega_i) if self.individually_unbiased else None

    def ab(self, n: int) -> tuple[float, float]:
        if n != self.n:
            raise ValueError(f"{self.name} was built for n={self.n} clients, asked about n={n}")
        return self.A, self.B

    def _constant(self) -> str:
        per_client = (f", each client unbiased with omega_i = {self.omega_i:.4g}" if self.individually_unbiased
                      else ", clients not unbiased on their own")
        return f"n = {self.n} clients, A = {self.A:.4g}, B = {self.B:.4g}{per_client}"


def need_n(name: str, n) -> int:
    """The client count a joint compressor is built for (an error without one)."""
    if n is None:
        raise ValueError(f"compressor {name!r} acts jointly on the clients: build it with n=<number of clients>")
    return int(n)


def resolve_k(cfg, d: int) -> int:
    """``k`` from ``compressor.k`` (1 <= k <= d), or ``floor(k_fraction * d)`` (at least 1,
    0 < k_fraction <= 1)."""
    if cfg.get("k") is not None:
        k = int(cfg["k"])
        if not 1 <= k <= d:
            raise ValueError(f"compressor.k={k} is out of range: need 1 <= k <= d = {d}")
        return k
    if cfg.get("k_fraction") is not None:
        f = float(cfg["k_fraction"])
        if not 0.0 < f <= 1.0:
            raise ValueError(f"compressor.k_fraction={f:g} is out of range: need 0 < k_fraction <= 1")
        return max(1, int(math.floor(f * d)))
    raise ValueError("compressor needs k or k_fraction")
