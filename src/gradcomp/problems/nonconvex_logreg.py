"""Logistic regression with a non-convex regulariser over M clients (paper cq, Section 4.2;
spec-cq-optimal-shifted-papers.md A.4).

.. math::

    f(x) = \\frac1M \\sum_{m=1}^M f_m(x), \\qquad
    f_m(x) = \\frac1{n_m} \\sum_{j \\in \\text{client } m} \\log\\big(1 + \\exp(-y_j a_j^\\top x)\\big)
             + \\lambda \\sum_{k=1}^d \\frac{x_k^2}{1 + x_k^2},

labels in {-1, +1}, clients the contiguous near-equal segments of the rows in file order
(``problem.split: contiguous``). The regulariser :math:`r(x) = \\lambda \\sum_k x_k^2/(1+x_k^2)`
has the elementwise gradient :math:`2\\lambda x/(1+x^2)^2` and the diagonal Hessian
:math:`2\\lambda (1 - 3x^2)/(1+x^2)^3`, whose entries lie in :math:`[-\\lambda/2, 2\\lambda]`:
f is not convex and has no known minimiser.

The logistic part is :class:`~gradcomp.problems.logreg.LogisticRegression`'s own code, run
with its L2 weight set to zero (its ``lam`` is 0 here; the non-convex weight is ``lam_nc``);
every entry point adds the regulariser's gradient on top.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from omegaconf import MISSING

from ..config import ProblemConf
from .base import PROBLEMS, Constants
from .logreg import LogisticRegression
from .rows import Batch, RowProblem, group_by_client


@dataclass
class NonconvexLogRegConf(ProblemConf):
    lam: float = MISSING


@PROBLEMS.register("nonconvex_logreg")
class NonconvexLogisticRegression(LogisticRegression):
    """The federated logistic regression with the non-convex regulariser (module docstring).

    Parameters
    ----------
    A : csr_matrix, shape (N, d)
        Feature rows grouped by client: client ``m`` owns rows ``offsets[m]:offsets[m+1]``.
    y : ndarray, shape (N,)
        Labels in {-1, +1}.
    offsets : ndarray of int, shape (M + 1,)
    lam : float
        The weight lambda of ``lambda sum_k x_k^2 / (1 + x_k^2)``; kept as ``lam_nc`` (the
        inherited ``lam``, the weight of the parent's ``lambda ||x||^2``, is 0).
    """

    schema, schema_name = NonconvexLogRegConf, "base_nonconvex_logreg"
    #: no known minimiser: x* is None, f* is replaced by the lower bound 0
    has_solution = False

    def __init__(self, A: sp.csr_matrix, y: np.ndarray, offsets: np.ndarray, lam: float):
        super().__init__(A, y, offsets, lam=0.0)
        self.lam_nc = float(lam)

    # ---- the regulariser -----------------------------------------------------------------
    def reg_value(self, X: np.ndarray) -> np.ndarray:
        """``lambda sum_k x_k^2 / (1 + x_k^2)`` per row of ``X`` (R, d) -> (R,)."""
        X2 = X * X
        return self.lam_nc * np.sum(X2 / (1.0 + X2), axis=-1)

    def reg_grad(self, X: np.ndarray) -> np.ndarray:
        """``2 lambda x / (1 + x^2)^2`` elementwise (any shape)."""
        t = 1.0 + X * X
        return (2.0 * self.lam_nc) * X / (t * t)

    def reg_hessian_diag(self, x: np.ndarray) -> np.ndarray:
        """``2 lambda (1 - 3 x^2) / (1 + x^2)^3`` elementwise, in ``[-lambda/2, 2 lambda]``."""
        x2 = x * x
        return (2.0 * self.lam_nc) * (1.0 - 3.0 * x2) / (1.0 + x2) ** 3

    @property
    def reg(self) -> float:
        """No ``reg * x`` term: the regulariser is not quadratic (added by every entry point)."""
        return 0.0

    # ---- values and gradients: the logistic part's, plus the regulariser's ------------------
    def loss(self, X: np.ndarray):
        out = super().loss(X)
        if X.ndim == 2:
            return out + self.reg_value(X)
        return float(out + self.reg_value(X[None, :])[0])

    def grad(self, x: np.ndarray) -> np.ndarray:
        return super().grad(x) + self.reg_grad(x)

    def hessian(self, x: np.ndarray) -> np.ndarray:
        H = super().hessian(x)
        H[np.diag_indices_from(H)] += self.reg_hessian_diag(x)
        return H

    # ``grads`` and ``client_grads`` (RowProblem's) are means of / rows of ``batch_grads``.
    def batch_grads(self, batch: Batch, X: np.ndarray) -> np.ndarray:
        G = super().batch_grads(batch, X)
        G += self.reg_grad(X)[:, None, :]
        return G

    def batch_grads_at(self, batch: Batch, X: np.ndarray, S: np.ndarray) -> np.ndarray:
        G = super().batch_grads_at(batch, X, S)
        G += self.reg_grad(X)[:, S]
        return G

    def mean_batch_grads(self, batches: list[Batch], X: np.ndarray, S: np.ndarray | None = None) -> np.ndarray:
        G = super().mean_batch_grads(batches, X, S)
        R = self.reg_grad(X)
        G += R[:, None, :] if S is None else R[:, S]
        return G

    def batch_grads_local(self, batch: Batch, WT: np.ndarray) -> np.ndarray:
        """The regulariser is separable, so client m's iterate gets ``reg_grad`` of its own
        coordinates: ``reg_grad(WT)`` elementwise."""
        GT = super().batch_grads_local(batch, WT)
        GT += self.reg_grad(WT)
        return GT

    def local_step(self, batch: Batch, WT: np.ndarray, gamma: np.ndarray) -> None:
        """The generic step of :class:`RowProblem` (the compiled kernel of the parent knows only
        an L2 regulariser)."""
        RowProblem.local_step(self, batch, WT, gamma)

    # ---- the protocol: data, solution, constants ------------------------------------------
    @classmethod
    def from_config(cls, cfg: dict, A, y: np.ndarray):
        """Labels mapped to {-1, +1}, rows split by ``problem.split`` (``contiguous`` for paper
        cq) among ``problem.n_clients`` clients, lambda = ``problem.lam``."""
        from ..data import map_binary_labels
        from .base import split_clients

        pcfg = cfg["problem"]
        y = map_binary_labels(y)
        parts = split_clients(y, pcfg, cfg["seed"])
        A_c, y_c, offsets = group_by_client(A, y, parts)
        return cls(A_c, y_c, offsets, float(pcfg["lam"])), parts

    def solve(self, pcfg: dict) -> None:
        """No known minimiser (non-convex): None."""
        return None

    def smoothness(self) -> tuple[float, list[float], list[float]]:
        """``(L, [L_m], [L_max,m])``: the logistic part's bounds (Hessian <= aa^T / 4, the
        parent's with its L2 weight 0) plus ``2 lambda``, the bound of the regulariser's
        Hessian ``|2 lambda (1 - 3x^2) / (1 + x^2)^3| <= 2 lambda``. Each is an upper bound of
        the spectral norm of the Hessian (whose smallest eigenvalue is >= -lambda/2)."""
        L, L_m, L_max_m = super().smoothness()
        two_lam = 2.0 * self.lam_nc
        return L + two_lam, [v + two_lam for v in L_m], [v + two_lam for v in L_max_m]

    def strong_convexity(self) -> float:
        """0: f is not convex."""
        return 0.0

    def constants(self, x_star, pcfg: dict) -> Constants:
        """The constants of paper cq's theory, as upper bounds (``x_star`` is None).

        * ``L`` (L_-), ``L_m``, ``L_max_m``: :meth:`smoothness`;
        * ``L_plus = sqrt(mean_m L_m^2)`` >= L_+, since ``||grad f_m(x) - grad f_m(y)|| <= L_m
          ||x - y||`` (what the authors' codes use); ``L_pm = L_plus`` (L_pm <= L_+; the true
          Hessian variance is unknown here, spec A.4);
        * ``L_A = mean_m L_m``; with the weights ``w_m = L_m / sum_j L_j``,
          ``1/M sum_m 1/(M w_m) ||grad f_m(x) - grad f_m(y)||^2 <= 1/M sum_m (sum_j L_j) / (M
          L_m) L_m^2 ||x - y||^2 = (sum_j L_j / M) (sum_m L_m / M) ||x - y||^2 = L_A^2 ||x - y||^2``,
          so ``L_plus_w = L_A``, and ``L_pm_w = L_A`` (the weighted variance subtracts
          ``||grad f(x) - grad f(y)||^2 >= 0``);
        * ``f_star = 0``: a lower bound of f, not its infimum (the logistic loss and the
          regulariser are both >= 0); ``mu = 0``;
        * not defined without x* (NaN): ``x_star_sq_norm``, ``grad_norm_at_x_star``,
          ``zeta_sq``, ``sigma_sq``, ``sigma_n_sq``;
        * ``b_m = floor(batch_fraction n_m)``, ``n_steps = round(1 / batch_fraction)`` as for the
          other row problems (``batch_fraction: 1``: full local gradients, one step).
        """
        from .constants import smoothness_bounds

        batch_fraction = float(pcfg["batch_fraction"])
        L, L_m, L_max_m = self.smoothness()
        nan = float("nan")
        return Constants(
            N=int(self.N), d=int(self.d), M=int(self.M),
            n_m=[int(v) for v in self.n_m], b_m=[int(math.floor(batch_fraction * int(v))) for v in self.n_m],
            n_steps=int(round(1.0 / batch_fraction)),
            lam=self.lam_nc, mu=0.0, L=L, L_m=L_m, L_max_m=L_max_m, L_max=max(L_max_m),
            f_star=0.0, x_star_sq_norm=nan, grad_norm_at_x_star=nan,
            zeta_sq=nan, sigma_sq=nan, sigma_n_sq=nan,
            **smoothness_bounds(L_m),
        )
