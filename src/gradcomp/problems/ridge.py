"""Ridge regression over M clients (shift paper, section 4; spec-shift-paper.md 4.1).

.. math::

    f(x) = \\frac12 \\|Ax - y\\|^2 + \\frac\\lambda2 \\|x\\|^2
         = \\frac1M \\sum_{m=1}^M f_m(x), \\qquad
    f_m(x) = \\frac{M}{2} \\|A_m x - y_m\\|^2 + \\frac\\lambda2 \\|x\\|^2

with ``problem.scale: sum`` (the shift paper's f; the local objectives are our choice,
spec section 6: the one whose mean is f exactly), or, with ``scale: mean``, the average
loss ``f_m(x) = 1/(2 n_m) ||A_m x - y_m||^2 + lambda/2 ||x||^2``. The Hessian is constant,
so L, mu and x* are exact: ``L = lambda_max(H)``, ``mu = lambda_min(H)`` with
``H = A^T diag(w) A + lambda I``, ``x* = H^{-1} A^T diag(w) y``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
from omegaconf import MISSING

from ..config import ProblemConf, choice
from .base import PROBLEMS, Constants, ProblemBase, split_clients
from .rows import SQUARED, RowProblem, gram, group_by_client


class RidgeScale(enum.Enum):
    sum = "sum"
    mean = "mean"


@dataclass
class RidgeConf(ProblemConf):
    lam: float = MISSING
    scale: RidgeScale = MISSING


@PROBLEMS.register("ridge")
class RidgeRegression(RowProblem, ProblemBase):
    """Ridge regression; ``client_scale`` c_m = M n_m (``sum``) or 1 (``mean``)."""

    schema, schema_name = RidgeConf, "base_ridge"
    #: ``(a^T x - y)^2 / 2`` per row
    row_loss = SQUARED

    @classmethod
    def from_config(cls, cfg: dict, A, y: np.ndarray):
        pcfg = cfg["problem"]
        parts = split_clients(y, pcfg, cfg["seed"])
        A_c, y_c, offsets = group_by_client(A, y, parts)
        M = len(parts)
        n_m = np.diff(offsets)
        c = M * n_m.astype(np.float64) if choice(pcfg["scale"]) == "sum" else None
        return cls(A_c, y_c, offsets, float(pcfg["lam"]), client_scale=c), parts

    @property
    def reg(self) -> float:
        """``grad lambda/2 ||x||^2 = lambda x``."""
        return self.lam

    # The data are dense (make_regression, Body-Fat): a batch's rows as dense arrays, kept on
    # the batch (a full-gradient sampler reuses one batch every round), make a round two small
    # dense products instead of SciPy's sparse ones, whose overhead dominates at d = 80.
    @staticmethod
    def _dense(batch):
        dense = getattr(batch, "_dense", None)
        if dense is None:
            dense = batch._dense = (batch.B.toarray(), batch.BD.toarray())
        return dense

    def batch_grads(self, batch, X: np.ndarray) -> np.ndarray:
        B, BD = self._dense(batch)
        W = self._row_weights(B @ X.T, batch.y, batch.inv_size)
        G = (W.T @ BD).reshape(X.shape[0], self.M, self.d)
        G += self.reg * X[:, None, :]
        return G

    def batch_grads_at(self, batch, X: np.ndarray, S: np.ndarray) -> np.ndarray:
        """The whole minibatch gradient, gathered at ``S`` (dense rows: cheaper than selecting
        the k columns)."""
        return self.batch_grads(batch, X)[:, np.arange(self.M)[:, None], S]

    def loss(self, X: np.ndarray):
        X2 = np.atleast_2d(X)
        Z = self.A @ X2.T - self.y[:, None]            # (N, R) residuals
        out = 0.5 * (self.row_weight @ (Z * Z)) + 0.5 * self.lam * np.einsum("rd,rd->r", X2, X2)
        return out if X.ndim == 2 else float(out[0])

    def hessian(self, x: np.ndarray | None = None) -> np.ndarray:
        H = gram(self.A, self.row_weight)
        H[np.diag_indices_from(H)] += self.lam
        return H

    def solve(self, pcfg: dict) -> np.ndarray:
        """x* in closed form."""
        return np.linalg.solve(self.hessian(), self.A.T @ (self.row_weight * self.y))

    def constants(self, x_star: np.ndarray, pcfg: dict) -> Constants:
        from .constants import compute_constants

        return compute_constants(self, x_star, float(pcfg["batch_fraction"]))

    def _c(self) -> np.ndarray:
        return np.ones(self.M) if self.client_scale is None else self.client_scale

    def smoothness(self) -> tuple[float, list[float], list[float]]:
        """``(L, [L_m], [L_max,m])``: exact, since every Hessian is constant."""
        L = float(np.linalg.eigvalsh(self.hessian())[-1])
        c = self._c()
        row_sq = np.asarray(self.A.multiply(self.A).sum(axis=1)).ravel()
        L_m, L_max_m = [], []
        for m in range(self.M):
            lo, hi = self.offsets[m], self.offsets[m + 1]
            w = np.full(hi - lo, c[m] / (hi - lo))
            L_m.append(float(np.linalg.eigvalsh(gram(self.A[lo:hi], w))[-1]) + self.lam)
            L_max_m.append(float(c[m] * row_sq[lo:hi].max()) + self.lam)
        return L, L_m, L_max_m

    def strong_convexity(self) -> float:
        return float(np.linalg.eigvalsh(self.hessian())[0])

    def sample_derivatives(self, x: np.ndarray) -> np.ndarray:
        return self._c()[self.client_of_row] * (self.A @ x - self.y)

    def clients_summary(self, y: np.ndarray, parts: list[np.ndarray]) -> dict:
        return {"n_m": [int(len(p)) for p in parts]}
