"""L2-regularised logistic regression over M clients (rr paper, section 1.1 of the spec).

.. math::

    f(x) = \\frac1M \\sum_{m=1}^M \\frac1{n_m} \\sum_{i=1}^{n_m}
           \\log\\big(1 + \\exp(-y_{mi} a_{mi}^\\top x)\\big) + \\lambda \\|x\\|^2 ,

with the regulariser :math:`\\lambda\\|x\\|^2` (not :math:`\\tfrac\\lambda2\\|x\\|^2`) carried
by every per-sample function, so :math:`\\mu = \\tilde\\mu = 2\\lambda`. Weighting is per
client (:math:`1/M \\cdot 1/n_m`), as the authors' ``logreg_loss_distributed``.

The data stay sparse (CSR): the LIBSVM sets are 4-19 % dense, and one pass over the
nonzeros is what a round costs. Replicas (stepsizes) are a leading axis ``R`` of the
iterate ``X`` of shape ``(R, d)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from omegaconf import MISSING
from scipy.special import expit

from ..config import ProblemConf
from .base import PROBLEMS, Constants, ProblemBase
from .rows import LOGISTIC, Batch, RowProblem, gram, group_by_client

LOSS_BLOCK = 512


@dataclass
class LogRegConf(ProblemConf):
    condition_number: float = MISSING
    solver_grad_tol: float = MISSING
    solver_max_iter: int = MISSING


@PROBLEMS.register("logreg")
class LogisticRegression(RowProblem, ProblemBase):
    """The federated logistic-regression objective.

    Parameters
    ----------
    A : csr_matrix, shape (N, d)
        Feature rows grouped by client: client ``m`` owns rows ``offsets[m]:offsets[m+1]``.
    y : ndarray, shape (N,)
        Labels in {-1, +1}.
    offsets : ndarray of int, shape (M + 1,)
    lam : float
        The regularisation weight lambda of ``lambda ||x||^2``.
    """

    schema, schema_name = LogRegConf, "base_problem"
    #: ``log(1 + exp(-y a^T x))`` per row
    row_loss = LOGISTIC
    #: binary labels, mapped to {-1, +1}
    label_kind = "binary"

    def __init__(self, A: sp.csr_matrix, y: np.ndarray, offsets: np.ndarray, lam: float):
        super().__init__(A, y, offsets, lam)
        # diag(y) A, and its weighted column sums: the margins y a^T x in one product.
        self.Ay = sp.csr_matrix(self.A.multiply(self.y[:, None]))
        self._c = self.Ay.T @ self.row_weight
        # Blocks of at most LOSS_BLOCK rows of one client (see ``loss``).
        starts = [np.arange(lo, hi, LOSS_BLOCK) for lo, hi in zip(self.offsets[:-1], self.offsets[1:])]
        self._block_start = np.concatenate(starts)
        self._block_weight = self.row_weight[self._block_start]

    # ---- values and full gradients -------------------------------------------------
    def loss(self, X: np.ndarray) -> np.ndarray:
        """f at each row of ``X`` (shape (R, d) -> (R,), or (d,) -> scalar).

        ``log(1 + e^{-t}) = max(-t, 0) + log(1 + e^{-|t|})``, and the second term is
        summed as the log of a product over blocks of at most ``LOSS_BLOCK`` samples of
        one client: every factor lies in (1, 2], so a block's product stays below
        ``2**512`` and one ``exp`` per sample replaces ``exp`` + ``log1p`` (the loss is
        evaluated for every replica after every epoch; this halves its cost). The
        rounding error of a block's product is below ``1e-13`` relative. The products are
        NumPy's ``multiply.reduceat`` compiled (:func:`~gradcomp.problems.kernels.block_products`).
        """
        from .kernels import block_products  # numba: imported on first use

        X2 = np.atleast_2d(X)
        T = self.Ay @ X2.T  # (N, R) margins t = y a^T x
        np.abs(T, out=T)
        # sum_i w_i max(-t_i, 0) = (sum_i w_i |t_i| - sum_i w_i t_i) / 2, the last term X c
        hinge = 0.5 * (self.row_weight @ T - X2 @ self._c)
        np.negative(T, out=T)
        np.exp(T, out=T)
        T += 1.0
        logs = np.log(block_products(T, self._block_start))
        out = hinge + self._block_weight @ logs + self.lam * np.einsum("rd,rd->r", X2, X2)
        return out if X.ndim == 2 else float(out[0])

    def margins_weights(self, x: np.ndarray) -> np.ndarray:
        """``s_i = -y_i sigma(-y_i a_i^T x)``: the per-sample gradient is ``s_i a_i + 2 lambda x``."""
        z = self.A @ x
        return -self.y * expit(-self.y * z)

    def grad(self, x: np.ndarray) -> np.ndarray:
        s = self.margins_weights(x)
        return self.A.T @ (self.row_weight * s) + 2.0 * self.lam * x

    def hessian(self, x: np.ndarray) -> np.ndarray:
        z = self.A @ x
        p = expit(z)
        w = self.row_weight * p * (1.0 - p)
        H = (self.A.T @ self.A.multiply(w[:, None])).toarray()
        H[np.diag_indices_from(H)] += 2.0 * self.lam
        return H

    @property
    def reg(self) -> float:
        """``grad lambda ||x||^2 = 2 lambda x``."""
        return 2.0 * self.lam

    # ---- the protocol: data, solution, constants ------------------------------------------
    @classmethod
    def from_config(cls, cfg: dict, A, y: np.ndarray):
        """Labels mapped to {-1, +1}, rows split among ``problem.n_clients`` clients, and
        lambda from ``problem.condition_number`` (:func:`problem_from_clients`)."""
        from ..data import map_binary_labels
        from .base import split_clients

        pcfg = cfg["problem"]
        y = map_binary_labels(y)
        parts = split_clients(y, pcfg, cfg["seed"])
        return problem_from_clients(A, y, parts, float(pcfg["condition_number"])), parts

    def solve(self, pcfg: dict) -> np.ndarray:
        from .constants import newton

        return newton(self, float(pcfg["solver_grad_tol"]), int(pcfg["solver_max_iter"]))

    def constants(self, x_star: np.ndarray, pcfg: dict) -> Constants:
        from .constants import compute_constants

        return compute_constants(self, x_star, float(pcfg["batch_fraction"]))

    def clients_summary(self, y: np.ndarray, parts: list[np.ndarray]) -> dict:
        from ..data import client_label_counts, map_binary_labels

        return {"label_counts": np.asarray(client_label_counts(map_binary_labels(y), parts)).tolist()}

    def smoothness(self) -> tuple[float, list[float], list[float]]:
        """``(L, [L_m], [L_max,m])`` with the Hessian bound ``aa^T / 4`` (rr spec 1.3):
        ``L = lambda_max(1/M sum_m A_m^T A_m / (4 n_m)) + 2 lambda``, ``L_m =
        lambda_max(A_m^T A_m / (4 n_m)) + 2 lambda``, ``L_max,m = max_i ||a_mi||^2 / 4 + 2 lambda``."""
        two_lam = 2.0 * self.lam
        L = float(np.linalg.eigvalsh(gram(self.A, self.row_weight / 4.0))[-1]) + two_lam
        L_m, L_max_m = [], []
        row_sq = np.asarray(self.A.multiply(self.A).sum(axis=1)).ravel()
        for m in range(self.M):
            lo, hi = self.offsets[m], self.offsets[m + 1]
            Am = self.A[lo:hi]
            w = np.full(hi - lo, 1.0 / (4.0 * (hi - lo)))
            L_m.append(float(np.linalg.eigvalsh(gram(Am, w))[-1]) + two_lam)
            L_max_m.append(float(row_sq[lo:hi].max()) / 4.0 + two_lam)
        return L, L_m, L_max_m

    def strong_convexity(self) -> float:
        """``mu = 2 lambda`` (the logistic loss is convex, the regulariser 2 lambda-strongly)."""
        return 2.0 * self.lam

    def sample_derivatives(self, x: np.ndarray) -> np.ndarray:
        return self.margins_weights(x)

    # ---- local steps ---------------------------------------------------------------------
    def local_step(self, batch: Batch, WT: np.ndarray, gamma: np.ndarray) -> None:
        """``w_{r,m} <- w_{r,m} - gamma_r grad f_{m,B_m}(w_{r,m})`` in place, ``WT`` (M d, R).

        :meth:`batch_grads_local` with the step folded in, as one compiled pass over the
        batch's rows where they lie in the data (:func:`~gradcomp.problems.kernels.local_sgd_step`):
        ``w <- (1 - 2 lambda gamma) w - gamma BD^T s``.
        """
        from .kernels import local_sgd_step  # numba: imported on first use

        if batch.client_ptr is None:
            raise ValueError("local_step needs a batch whose rows are grouped by client")
        local_sgd_step(*batch.csr, batch.urows, batch.y, batch.inv_size, batch.client_ptr, np.uint64(self.d),
                       WT, np.ascontiguousarray(gamma, dtype=np.float64), 2.0 * self.lam)


def problem_from_clients(A: sp.csr_matrix, y: np.ndarray, parts: list[np.ndarray],
                         condition_number: float) -> LogisticRegression:
    """Group rows by client and set lambda from the condition number (spec 1.3).

    ``lambda = L_nr / (2 (kappa + 1))`` with ``L_nr`` the smoothness of the unregularised
    average, so that ``L / mu = kappa + 2`` (10002 for kappa = 1e4), as the authors' code.
    """
    A_c, y_c, offsets = group_by_client(A, y, parts)
    prob = LogisticRegression(A_c, y_c, offsets, lam=0.0)
    L_nr = unregularised_smoothness(prob)
    prob.lam = L_nr / (2.0 * (condition_number + 1.0))
    return prob


def unregularised_smoothness(prob: LogisticRegression) -> float:
    """``L_nr = lambda_max(1/M sum_m A_m^T A_m / (4 n_m))`` (Hessian bound ``aa^T/4``)."""
    G = gram(prob.A, prob.row_weight / 4.0)
    return float(np.linalg.eigvalsh(G)[-1])
