"""Tridiagonal quadratics over n clients (paper cq, Appendix D.3; spec A.3).

.. math::

    f(x) = \\frac1n \\sum_{i=1}^n f_i(x), \\qquad
    f_i(x) = \\tfrac12 x^\\top A_i x - b_i^\\top x, \\quad
    A_i = a_i T + c_i I, \\quad b_i = \\beta_i e_1,

``T = tridiag(-1, 2, -1)``. The clients' data ``(a_i, c_i, beta_i)`` come from the
``tridiagonal`` data source (Algorithms 5 and 6). Every A_i is a polynomial in T, so all
of them share T's eigenvectors and the eigenvalues ``t_k = 2 - 2 cos(k pi/(d+1))``: client
i's Hessian has eigenvalues ``e_ik = a_i t_k + c_i``, and every constant of paper cq is
exact, a maximum over k (spec 1.1):

* ``L_- = max_k mean_i e_ik``, ``mu = min_k mean_i e_ik``, ``L_i = max_k |e_ik|``;
* ``L_+^2 = max_k mean_i e_ik^2``, ``L_pm^2 = max_k (mean_i e_ik^2 - (mean_i e_ik)^2)``;
* with ``w_i = L_i / sum_j L_j``: ``L_{+,w}^2 = max_k 1/n sum_i e_ik^2/(n w_i)`` and
  ``L_{pm,w}^2 = max_k (1/n sum_i e_ik^2/(n w_i) - (mean_i e_ik)^2)``; ``L_A = mean_i L_i``.
  (The variances are computed as sums of squares, so that identical clients give 0 exactly.)

A round costs O(R n d): ``grad f_i(x) = a_i T x + c_i x - beta_i e_1`` with T x computed
once per replica. One "data pass" is one gradient of every client (the rows of this
problem are its clients).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from omegaconf import MISSING

from ..config import ProblemConf
from .base import PROBLEMS, Constants, ProblemBase


def tridiagonal_eigenvalues(d: int) -> np.ndarray:
    """The eigenvalues ``2 - 2 cos(k pi / (d + 1))``, k = 1..d, of ``tridiag(-1, 2, -1)``."""
    k = np.arange(1, d + 1)
    return 2.0 - 2.0 * np.cos(k * np.pi / (d + 1))


def apply_T(X: np.ndarray) -> np.ndarray:
    """``T x`` for every row of ``X`` (R, d)."""
    Y = 2.0 * X
    Y[:, 1:] -= X[:, :-1]
    Y[:, :-1] -= X[:, 1:]
    return Y


@dataclass
class QuadraticConf(ProblemConf):
    pass


@dataclass
class _AllClients:
    """The full batch: every client, every round (the ``full`` sampler's batch)."""

    n_rows: int

    def compact(self) -> "_AllClients":
        """Nothing to gather: the batch holds no rows."""
        return self


@PROBLEMS.register("quadratic")
class TridiagonalQuadratic(ProblemBase):
    """Client i's function is the data row ``(a_i, c_i, beta_i)``; ``problem.n_clients`` must
    equal the data's ``n_samples`` (one client per row)."""

    schema, schema_name = QuadraticConf, "base_quadratic"

    def __init__(self, a: np.ndarray, c: np.ndarray, beta: np.ndarray, d: int):
        self.a, self.c, self.beta = (np.asarray(v, dtype=np.float64) for v in (a, c, beta))
        self.M = self.N = len(self.a)
        self.d = int(d)
        self.n_m = np.ones(self.M, dtype=np.int64)
        self.offsets = np.arange(self.M + 1)

    @classmethod
    def from_config(cls, cfg: dict, A, y: np.ndarray):
        M = int(cfg["problem"]["n_clients"])
        if A.shape[0] != M:
            raise ValueError(f"problem quadratic: n_clients={M} must equal the {A.shape[0]} clients the data "
                             f"source generates (dataset.n_samples)")
        A = np.asarray(A)
        parts = [np.array([i]) for i in range(M)]
        return cls(A[:, 0], A[:, 1], A[:, 2], int(cfg["dataset"]["n_features"])), parts

    def x0(self, std: float, rng: np.random.Generator) -> np.ndarray:
        """``x^0 = (sqrt(d), 0, ..., 0)``, the generators' start (Algorithms 5 and 6)."""
        x = np.zeros(self.d)
        x[0] = np.sqrt(self.d)
        return x

    # ---- values and gradients ------------------------------------------------------------
    def loss(self, X: np.ndarray):
        X2 = np.atleast_2d(X)
        quad = self.a.mean() * np.einsum("rd,rd->r", X2, apply_T(X2)) + self.c.mean() * np.einsum("rd,rd->r", X2, X2)
        out = 0.5 * quad - self.beta.mean() * X2[:, 0]
        return out if X.ndim == 2 else float(out[0])

    def grads(self, X: np.ndarray) -> np.ndarray:
        G = self.a.mean() * apply_T(X) + self.c.mean() * X
        G[:, 0] -= self.beta.mean()
        return G

    def grad(self, x: np.ndarray) -> np.ndarray:
        return self.grads(x[None, :])[0]

    def batch(self, rows: np.ndarray) -> _AllClients:
        if len(rows) != self.M:
            raise ValueError("the quadratic problem has no minibatches: use method.sampling=full")
        return _AllClients(self.M)

    def batch_grads(self, batch, X: np.ndarray) -> np.ndarray:
        """``grad f_i(x_r)`` for every replica r and client i, shape (R, n, d)."""
        TX = apply_T(X)
        G = self.a[None, :, None] * TX[:, None, :] + self.c[None, :, None] * X[:, None, :]
        G[:, :, 0] -= self.beta[None, :]
        return G

    def batch_grads_at(self, batch, X: np.ndarray, S: np.ndarray) -> np.ndarray:
        return self.batch_grads(batch, X)[:, np.arange(self.M)[:, None], S]

    def client_grads(self, x: np.ndarray) -> np.ndarray:
        return self.batch_grads(None, x[None, :])[0]

    # ---- solution and constants ------------------------------------------------------------
    def solve(self, pcfg: dict) -> np.ndarray:
        """``x* = Abar^{-1} bbar`` (a tridiagonal solve)."""
        from scipy.linalg import solve_banded

        a, c = self.a.mean(), self.c.mean()
        ab = np.zeros((3, self.d))
        ab[0, 1:] = -a
        ab[1, :] = 2.0 * a + c
        ab[2, :-1] = -a
        rhs = np.zeros(self.d)
        rhs[0] = self.beta.mean()
        return solve_banded((1, 1), ab, rhs)

    def eigenvalues(self) -> np.ndarray:
        """``e_ik``, shape (n, d): client i's Hessian eigenvalues on T's eigenvectors."""
        return self.a[:, None] * tridiagonal_eigenvalues(self.d)[None, :] + self.c[:, None]

    def constants(self, x_star: np.ndarray, pcfg: dict) -> Constants:
        E = self.eigenvalues()
        mean_e = E.mean(axis=0)
        sq = (E**2).mean(axis=0)
        L_i = np.abs(E).max(axis=1)
        n = self.M
        w = L_i / L_i.sum()
        sq_w = (E**2 / (n * w[:, None])).mean(axis=0)
        # both variances as sums of squares (exactly 0 for identical clients): with
        # u_i = e_i/(n w_i), 1/n sum_i e_i^2/(n w_i) - ebar^2 = sum_i w_i (u_i - ebar)^2
        var = ((E - mean_e) ** 2).mean(axis=0)
        var_w = (w[:, None] * (E / (n * w[:, None]) - mean_e) ** 2).sum(axis=0)
        g = self.client_grads(x_star)
        return Constants(
            N=self.M, d=self.d, M=self.M, n_m=[1] * n, b_m=[1] * n, n_steps=1, lam=float(mean_e.min()),
            mu=float(mean_e.min()), L=float(mean_e.max()), L_m=L_i.tolist(), L_max_m=L_i.tolist(),
            L_max=float(L_i.max()), f_star=float(self.loss(x_star)), x_star_sq_norm=float(x_star @ x_star),
            grad_norm_at_x_star=float(np.linalg.norm(g.mean(axis=0))),
            zeta_sq=float(np.mean(np.sum(g**2, axis=1))), sigma_sq=0.0, sigma_n_sq=0.0,
            L_plus=float(np.sqrt(sq.max())), L_pm=float(np.sqrt(var.max())),
            L_plus_w=float(np.sqrt(sq_w.max())), L_pm_w=float(np.sqrt(var_w.max())),
            L_A=float(L_i.mean()),
        )

    def clients_summary(self, y: np.ndarray, parts: list[np.ndarray]) -> dict:
        return {"a": self.a.tolist(), "c": self.c.tolist(), "beta": self.beta.tolist()}
