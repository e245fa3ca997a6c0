"""Constants of a row problem (:class:`~gradcomp.problems.rows.RowProblem`), and Newton's method for x*.

Definitions follow the rr paper (App. B.1) and the authors' ``data_preprocessing.py``
(spec section 1.3). The smoothness constants and mu are the problem's own
(:meth:`smoothness`, :meth:`strong_convexity`: for logistic regression the Hessian bound
``nabla^2 l <= aa^T / 4`` and ``mu = 2 lambda``); the noise at x* is computed here the same
way for every row problem, from the per-sample gradients ``s_i a_i + reg x*``:

* ``zeta_*^2 = 1/M sum_m ||grad f_m(x*)||^2``,
* ``sigma_*^2 = 1/M sum_m 1/n_m sum_i ||grad f_mi(x*) - grad f_m(x*)||^2``,
* ``sigma_*,n^2 = 1/n sum_i ||1/M sum_m grad f_mi(x*)||^2`` over the first
  ``n = min_m n_m`` rows of each client (ill-defined for unequal clients; spec 1.4).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from .base import Constants


class SolverError(RuntimeError):
    pass


def newton(prob, grad_tol: float, max_iter: int) -> np.ndarray:
    """x* by Newton's method with backtracking (exact Hessian; d <= a few hundred).

    The authors used SciPy's Newton-CG with finite-difference Hessian products
    (spec 6.6); any solver that reaches ``||grad f|| < grad_tol`` gives the same x*.
    """
    x = np.zeros(prob.d)
    f = prob.loss(x)
    for _ in range(max_iter):
        g = prob.grad(x)
        if np.linalg.norm(g) < grad_tol:
            return x
        step = np.linalg.solve(prob.hessian(x), g)
        t = 1.0
        while True:
            x_new = x - t * step
            f_new = prob.loss(x_new)
            # Armijo; near x* rounding makes f flat, so also accept a full step that
            # shrinks the gradient.
            if f_new <= f - 1e-4 * t * g @ step or (
                t == 1.0 and np.linalg.norm(prob.grad(x_new)) < np.linalg.norm(g)
            ):
                break
            t *= 0.5
            if t < 1e-12:
                raise SolverError("line search failed while solving for x*")
        x, f = x_new, f_new
    gn = np.linalg.norm(prob.grad(x))
    if gn < grad_tol:
        return x
    raise SolverError(
        f"Newton did not reach ||grad f|| < {grad_tol:g} in {max_iter} iterations "
        f"(reached {gn:.3e}); raise problem.solver_max_iter or relax problem.solver_grad_tol"
    )


def compute_constants(prob, x_star: np.ndarray, batch_fraction: float) -> Constants:
    """The :class:`Constants` of row problem ``prob`` at its solution ``x_star``."""
    reg = prob.reg
    L, L_m, L_max_m = prob.smoothness()
    row_sq = np.asarray(prob.A.multiply(prob.A).sum(axis=1)).ravel()

    # Per-sample gradients are s_i a_i + reg x*; the regulariser cancels in sigma^2.
    s = prob.sample_derivatives(x_star)
    G_m = prob.client_grads(x_star)  # (M, d)
    zeta_sq = float(np.mean(np.sum(G_m**2, axis=1)))
    sa_sq = s**2 * row_sq
    sigma_sq = 0.0
    for m in range(prob.M):
        lo, hi = prob.offsets[m], prob.offsets[m + 1]
        n = hi - lo
        mean_sa = G_m[m] - reg * x_star
        sigma_sq += (sa_sq[lo:hi].sum() / n - mean_sa @ mean_sa) / prob.M
    n = int(prob.n_m.min())
    rows = (prob.offsets[:-1, None] + np.arange(n)[None, :]).ravel()  # (M * n,)
    idx_i = np.tile(np.arange(n), prob.M)
    P = sp.csr_matrix((s[rows] / prob.M, (idx_i, rows)), shape=(n, prob.N))
    F = (P @ prob.A).toarray() + reg * x_star  # (n, d): grad f^i(x*)
    sigma_n_sq = float(np.mean(np.sum(F**2, axis=1)))

    b_m = [int(math.floor(batch_fraction * int(nm))) for nm in prob.n_m]
    return Constants(
        N=int(prob.N), d=int(prob.d), M=int(prob.M),
        n_m=[int(v) for v in prob.n_m], b_m=b_m, n_steps=int(round(1.0 / batch_fraction)),
        lam=prob.lam, mu=prob.strong_convexity(), L=L, L_m=L_m, L_max_m=L_max_m, L_max=max(L_max_m),
        f_star=float(prob.loss(x_star)), x_star_sq_norm=float(x_star @ x_star),
        grad_norm_at_x_star=float(np.linalg.norm(prob.grad(x_star))),
        zeta_sq=zeta_sq, sigma_sq=float(sigma_sq), sigma_n_sq=sigma_n_sq,
        **smoothness_bounds(L_m),
    )


def smoothness_bounds(L_m) -> dict:
    """Paper cq's constants bounded by the clients' smoothness, where the problem knows no
    better: ``L_+ <= sqrt(mean_m L_m^2)`` (each ``||grad f_m(x) - grad f_m(y)|| <= L_m
    ||x - y||``), ``L_pm <= L_+``, and with ``w_m = L_m / sum L`` both weighted constants
    ``<= L_A = mean_m L_m``, since ``1/n sum_m L_m^2 / (n w_m) = L_A^2``."""
    L_m = np.asarray(L_m, dtype=float)
    L_plus, L_A = float(np.sqrt(np.mean(L_m**2))), float(np.mean(L_m))
    return {"L_plus": L_plus, "L_pm": L_plus, "L_plus_w": L_A, "L_pm_w": L_A, "L_A": L_A}
