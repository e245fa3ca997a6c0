"""The problem protocol, its registry, and the constants every problem states.

A problem is declared once, on its class, with ``@PROBLEMS.register(name)`` (the value of
``problem.name``), with its config schema. What the pipeline and the methods ask of it:

* ``M``, ``d``, ``N``, ``n_m``: clients, dimension, rows, rows per client;
* ``loss(X)``, ``grad(x)``, ``grads(X)``, ``client_grads(x)``: values and full gradients;
* ``batch(rows)``, ``row_block(rows)``: the rows a sampler picks, as one batch of all clients;
  ``batch_grads(batch, X)`` every client's minibatch gradient for every replica (R, M, d),
  ``batch_grads_at(batch, X, S)`` the same at the coordinates ``S`` a sparsifier keeps,
  ``local_step`` and ``mean_batch_grads`` for local methods
  (:class:`~gradcomp.problems.rows.RowProblem` implements all of these over data rows);
* ``from_config(cfg, A, y)``, ``solve(pcfg)`` (x*, where known: ``has_solution``) and
  ``constants(x_star, pcfg)`` (:class:`Constants`), ``clients_summary(y, parts)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

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

    def to_dict(self) -> dict:
        return asdict(self)

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

    def solve(self, pcfg: dict) -> np.ndarray:
        raise NotImplementedError

    def constants(self, x_star: np.ndarray, pcfg: dict) -> Constants:
        raise NotImplementedError

    def clients_summary(self, y: np.ndarray, parts: list[np.ndarray]) -> dict:
        """What ``clients.json`` records about the split."""
        return {"n_m": [int(len(p)) for p in parts]}


def split_clients(y: np.ndarray, pcfg: dict, seed: int) -> list[np.ndarray]:
    """Client parts by ``problem.split``: sorted by target (hetero) or at random (iid)."""
    from ..config import choice
    from ..data import hetero_split, iid_split
    from ..seeding import stream

    M = int(pcfg["n_clients"])
    if choice(pcfg["split"]) == "hetero":
        return hetero_split(y, M)
    return iid_split(len(y), M, stream(seed, "split"))
