"""The problem protocol, its registry, and the constants every problem states.

A problem is declared once, on its class, with ``@PROBLEMS.register(name)`` (the value of
``problem.name``), with its config schema. What the pipeline and the methods ask of it:

* ``M``, ``d``, ``N``, ``n_m``: clients, dimension, rows, rows per client;
* ``loss(X)``, ``grad(x)``, ``grads(X)``, ``client_grads(x)``: values and full gradients;
* ``batch(rows)``: the rows a sampler picks, as one batch of all clients (``batch.compact()``
  readies a batch that is used every round or epoch);
  ``batch_grads(batch, X)`` every client's minibatch gradient for every replica (R, M, d),
  ``batch_grads_at(batch, X, S)`` the same at the coordinates ``S`` a sparsifier keeps,
  ``local_step`` and ``mean_batch_grads`` for local methods
  (:class:`~gradcomp.problems.rows.RowProblem` implements all of these over data rows);
* ``from_config(cfg, A, y)``, ``solve(pcfg)`` (x*, where known: ``has_solution``) and
  ``constants(x_star, pcfg)`` (:class:`Constants`), ``clients_summary(y, parts)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np

from ..registry import Registry

#: Every problem, by ``problem.name``.
PROBLEMS = Registry("problem", "gradcomp.problems", exclude=("kernels",))


@dataclass
class Constants:
    """Smoothness, strong convexity and noise constants, and f*, of one problem.

    ``L`` of f, ``L_m`` of each client's f_m, ``L_max_m`` the largest per-sample smoothness
    of client m and ``L_max`` their maximum (the rr paper's L_max; the shift paper's
    ``L_max`` is ``max(L_m)``), ``mu`` the strong convexity of f, ``b_m`` and ``n_steps``
    the minibatch sizes and minibatch steps per epoch, ``zeta_sq``, ``sigma_sq`` and
    ``sigma_n_sq`` the heterogeneity and noise at x* (gradcomp.problems.constants).
    """

    N: int
    d: int
    M: int
    n_m: list[int]
    b_m: list[int]
    n_steps: int
    lam: float
    mu: float
    L: float
    L_m: list[float]
    L_max_m: list[float]
    L_max: float
    f_star: float
    x_star_sq_norm: float
    grad_norm_at_x_star: float
    zeta_sq: float
    sigma_sq: float
    sigma_n_sq: float
    # The constants of paper cq's MARINA theory (Szlendak et al. 2021; cq Assumptions 2, 3, 7,
    # 8), where the problem states them: L_+ (root mean square of the clients' smoothness in the
    # sense (1/n) sum ||grad f_i(x) - grad f_i(y)||^2 <= L_+^2 ||x - y||^2), the Hessian variance
    # L_pm, their weighted forms with w_i = L_i / sum_j L_j, and L_A = mean_i L_i. ``L`` is L_-.
    L_plus: Optional[float] = None
    L_pm: Optional[float] = None
    L_plus_w: Optional[float] = None
    L_pm_w: Optional[float] = None
    L_A: Optional[float] = None

    def to_dict(self) -> dict:
        """The fields, without the optional ones a problem does not state."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict) -> "Constants":
        return cls(**d)


class ProblemBase:
    """The class-level part of the protocol (module docstring)."""

    schema_name: str
    #: x* and f* are known (computed by ``solve``), so f - f* and ||x - x*||^2 can be recorded
    has_solution = True

    @classmethod
    def from_config(cls, cfg: dict, A, y: np.ndarray):
        """``(problem, parts)`` from a run config and the data's rows and targets; ``parts[m]``
        are the data's row indices of client m."""
        raise NotImplementedError

    def solve(self, pcfg: dict) -> Optional[np.ndarray]:
        """x* (None where ``has_solution`` is False)."""
        raise NotImplementedError

    def x0(self, std: float, rng: np.random.Generator) -> np.ndarray:
        """The start ``x^0 = std N(0, I)`` (``run.x0_std``, the stream "x0"); a problem whose
        paper fixes its start overrides this."""
        return std * rng.standard_normal(self.d)

    def constants(self, x_star: np.ndarray, pcfg: dict) -> Constants:
        raise NotImplementedError

    def clients_summary(self, y: np.ndarray, parts: list[np.ndarray]) -> dict:
        """What ``clients.json`` records about the split."""
        return {"n_m": [int(len(p)) for p in parts]}


def split_clients(y: np.ndarray, pcfg: dict, seed: int) -> list[np.ndarray]:
    """Client parts by ``problem.split``: sorted by target (hetero), at random (iid), or
    consecutive near-equal segments in file order (contiguous)."""
    from ..config import choice
    from ..data import hetero_split, iid_split
    from ..data.split import contiguous_split
    from ..seeding import stream

    M = int(pcfg["n_clients"])
    split = choice(pcfg["split"])
    if split == "hetero":
        return hetero_split(y, M)
    if split == "contiguous":
        return contiguous_split(len(y), M)
    return iid_split(len(y), M, stream(seed, "split"))
