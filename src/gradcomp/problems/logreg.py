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
from scipy.special import expit

from .kernels import local_sgd_step

LOSS_BLOCK = 512


@dataclass
class Batch:
    """The rows of all clients used in one round, stacked client after client.

    Attributes
    ----------
    B : csr_matrix, shape (rows, d)
        The minibatch rows.
    BD : csr_matrix, shape (rows, M * d)
        The same nonzeros with row ``i`` moved to column block ``client(i)``, so that
        ``BD.T @ W`` is every client's sum ``sum_i W_i a_i`` in one sparse product.
    y : ndarray, shape (rows,)
    inv_size : ndarray, shape (rows,)
        ``1 / |B_m|`` of the client that owns the row (minibatch means per client).
    rows : ndarray of int, shape (rows,), optional
        The rows' indices in the problem's data (repeats allowed).
    client_ptr : ndarray of int, shape (M + 1,), optional
        Client m owns rows ``client_ptr[m]:client_ptr[m+1]``; None when the rows are not
        grouped by client.
    """

    B: sp.csr_matrix
    BD: sp.csr_matrix
    y: np.ndarray
    inv_size: np.ndarray
    rows: np.ndarray | None = None
    client_ptr: np.ndarray | None = None
    _BDc: sp.csc_matrix | None = None

    @property
    def n_rows(self) -> int:
        return self.B.shape[0]

    @property
    def BDc(self) -> sp.csc_matrix:
        """``BD`` by columns (built once per batch): its columns are (client, coordinate)."""
        if self._BDc is None:
            self._BDc = self.BD.tocsc()
        return self._BDc


class RowBlock:
    """Rows gathered from a CSR matrix in a given order, with their client of origin.

    Gathering once and slicing contiguous ranges is how an RR epoch is cut into its
    minibatches without re-indexing the data every round.
    """

    def __init__(self, prob: "LogisticRegression", rows: np.ndarray):
        A = prob.A
        rows = np.asarray(rows, dtype=np.int64)
        start = A.indptr[rows]
        cnt = A.indptr[rows + 1] - start
        indptr = np.zeros(len(rows) + 1, dtype=A.indptr.dtype)
        np.cumsum(cnt, out=indptr[1:])
        pos = np.repeat(start - indptr[:-1], cnt) + np.arange(indptr[-1])
        self.data = A.data[pos]
        self.indices = A.indices[pos]
        self.client = prob.client_of_row[rows]
        self.shifted = self.indices + np.repeat(self.client * prob.d, cnt).astype(self.indices.dtype)
        self.indptr = indptr
        self.y = prob.y[rows]
        self.rows = rows
        self.M, self.d = prob.M, prob.d

    def batch(self, lo: int = 0, hi: int | None = None) -> Batch:
        """The :class:`Batch` of rows ``lo:hi`` of the block."""
        hi = len(self.y) if hi is None else hi
        a, b = self.indptr[lo], self.indptr[hi]
        indptr = self.indptr[lo:hi + 1] - a
        n = hi - lo
        B = sp.csr_matrix((self.data[a:b], self.indices[a:b], indptr), shape=(n, self.d), copy=False)
        BD = sp.csr_matrix((self.data[a:b], self.shifted[a:b], indptr),
                           shape=(n, self.M * self.d), copy=False)
        clients = self.client[lo:hi]
        counts = np.bincount(clients, minlength=self.M)
        ptr = None
        if np.all(clients[1:] >= clients[:-1]):
            ptr = np.zeros(self.M + 1, dtype=np.int64)
            np.cumsum(counts, out=ptr[1:])
        return Batch(B=B, BD=BD, y=self.y[lo:hi], inv_size=1.0 / counts[clients], rows=self.rows[lo:hi],
                     client_ptr=ptr)


class LogisticRegression:
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

    def __init__(self, A: sp.csr_matrix, y: np.ndarray, offsets: np.ndarray, lam: float):
        self.A = sp.csr_matrix(A, dtype=np.float64)
        self.A.sort_indices()
        self.y = np.asarray(y, dtype=np.float64)
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.lam = float(lam)
        self.N, self.d = self.A.shape
        self.M = len(self.offsets) - 1
        self.n_m = np.diff(self.offsets)
        self.client_of_row = np.repeat(np.arange(self.M), self.n_m)
        # 1 / (M n_m): the weight of each sample in f.
        self.row_weight = 1.0 / (self.M * self.n_m[self.client_of_row])
        # diag(y) A, and its weighted column sums: the margins y a^T x in one product.
        self.Ay = sp.csr_matrix(self.A.multiply(self.y[:, None]))
        self._c = self.Ay.T @ self.row_weight
        self._all: Batch | None = None  # every row as one Batch, built on first use
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
        rounding error of a block's product is below ``1e-13`` relative.
        """
        X2 = np.atleast_2d(X)
        T = self.Ay @ X2.T  # (N, R) margins t = y a^T x
        np.abs(T, out=T)
        # sum_i w_i max(-t_i, 0) = (sum_i w_i |t_i| - sum_i w_i t_i) / 2, the last term X c
        hinge = 0.5 * (self.row_weight @ T - X2 @ self._c)
        np.negative(T, out=T)
        np.exp(T, out=T)
        T += 1.0
        logs = np.log(np.multiply.reduceat(T, self._block_start, axis=0))
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

    def client_grads(self, x: np.ndarray) -> np.ndarray:
        """Local full gradients ``grad f_m(x)``, shape (M, d)."""
        batch = self.batch(np.arange(self.N))
        return self.batch_grads(batch, x[None, :])[0]

    # ---- minibatches -----------------------------------------------------------------
    def batch(self, rows: np.ndarray) -> Batch:
        """A :class:`Batch` from global row indices grouped by client (repeats allowed)."""
        return RowBlock(self, rows).batch()

    def _batch_weights(self, batch: Batch, X: np.ndarray) -> np.ndarray:
        """``W_i = -y_i sigma(-y_i a_i^T x) / |B_m(i)|`` per row and replica, shape (rows, R)."""
        return self._margin_weights(batch, batch.B @ X.T)

    @staticmethod
    def _margin_weights(batch: Batch, Z: np.ndarray) -> np.ndarray:
        """The weights ``W`` of :meth:`_batch_weights` from the products ``Z_i = a_i^T x``.

        ``Z`` is overwritten (every caller passes a fresh product): no temporaries.
        """
        yb = batch.y[:, None]
        W = np.multiply(Z, -yb, out=Z)
        expit(W, out=W)
        W *= -(yb * batch.inv_size[:, None])
        return W

    def batch_grads_at(self, batch: Batch, X: np.ndarray, S: np.ndarray) -> np.ndarray:
        """Client ``m``'s minibatch gradient at coordinates ``S[m]`` only.

        What a sparsifier (Rand-k) transmits depends on k coordinates per client, so
        the backward product is restricted to those M k columns of ``BD``.

        Parameters
        ----------
        X : ndarray, shape (R, d)
        S : ndarray of int, shape (M, k)

        Returns
        -------
        G : ndarray, shape (R, M, k), ``G[r, m, j] = [grad f_{m,B_m}(x_r)]_{S[m, j]}``
        """
        return self._grads_at_columns(batch.BDc, self._batch_weights(batch, X), X, S)

    def _grads_at_columns(self, C: sp.csc_matrix, W: np.ndarray, X: np.ndarray, S: np.ndarray) -> np.ndarray:
        """``G[r, m, j] = sum_i W[i, r] C[i, m d + S[m, j]] + 2 lambda X[r, S[m, j]]``, shape (R, M, k).

        ``C`` holds rows in client column blocks (a :attr:`Batch.BDc`); only the nonzeros
        of the M k selected columns are touched.
        """
        R = X.shape[0]
        M, k = S.shape
        cols = (np.arange(M)[:, None] * self.d + S).ravel()
        start = C.indptr[cols]
        cnt = C.indptr[cols + 1] - start
        ends = np.cumsum(cnt)
        # the nonzeros of the selected columns, and which (client, coordinate) each feeds
        pos = np.repeat(start - (ends - cnt), cnt) + np.arange(ends[-1] if len(ends) else 0)
        pair = np.repeat(np.arange(M * k), cnt)
        contrib = W[C.indices[pos]] * C.data[pos][:, None]  # (nnz selected, R)
        flat = (pair[:, None] * R + np.arange(R)).ravel()
        G = np.bincount(flat, weights=contrib.ravel(), minlength=M * k * R).reshape(M, k, R)
        G = np.moveaxis(G, 2, 0) + (2.0 * self.lam) * X[:, S]
        return G

    def batch_grads(self, batch: Batch, X: np.ndarray) -> np.ndarray:
        """Every client's minibatch gradient at every replica.

        ``grad f_{m,B_m}(x) = 1/|B_m| sum_{i in B_m} s_i a_i + 2 lambda x``.

        Parameters
        ----------
        X : ndarray, shape (R, d)

        Returns
        -------
        G : ndarray, shape (R, M, d)
        """
        W = self._batch_weights(batch, X)
        G = (batch.BD.T @ W).T.reshape(X.shape[0], self.M, self.d)
        G += (2.0 * self.lam) * X[:, None, :]
        return G


    def batch_grads_local(self, batch: Batch, WT: np.ndarray) -> np.ndarray:
        """Every client's minibatch gradient at its *own* iterate, for every replica.

        Local methods keep one iterate per client and replica; row ``i`` of client ``m``
        enters through ``a_i^T w_{r,m}``. ``BD`` places row ``i`` in the column block of
        its client, so ``BD @ WT`` gives these products for all clients and replicas in one
        sparse product. The replica axis is last (``WT`` is ``W`` transposed), so both
        products read and write C-contiguous arrays and nothing is copied.

        Parameters
        ----------
        WT : ndarray, shape (M d, R), C-contiguous
            ``WT[m d + j, r]`` is coordinate j of client m's iterate in replica r.

        Returns
        -------
        GT : ndarray, shape (M d, R), ``GT[m d + j, r] = [grad f_{m,B_m}(w_{r,m})]_j``
        """
        Wt = self._margin_weights(batch, batch.BD @ WT)
        GT = batch.BD.T @ Wt
        GT += (2.0 * self.lam) * WT
        return GT

    def local_step(self, batch: Batch, WT: np.ndarray, gamma: np.ndarray) -> None:
        """``w_{r,m} <- w_{r,m} - gamma_r grad f_{m,B_m}(w_{r,m})`` in place, ``WT`` (M d, R).

        :meth:`batch_grads_local` with the step folded in, as one compiled pass over the
        batch's rows (:func:`~gradcomp.problems.kernels.local_sgd_step`):
        ``w <- (1 - 2 lambda gamma) w - gamma BD^T s``.
        """
        if batch.client_ptr is None:
            raise ValueError("local_step needs a batch whose rows are grouped by client")
        BD = batch.BD
        local_sgd_step(BD.indptr, BD.indices, BD.data, batch.y, batch.inv_size, batch.client_ptr, self.d,
                       WT, np.ascontiguousarray(gamma, dtype=np.float64), 2.0 * self.lam)

    # ---- the server-point local epoch (rr spec 6.1) --------------------------------------
    @property
    def _all_rows(self) -> Batch:
        """Every row, in data order, as one :class:`Batch` (built once)."""
        if self._all is None:
            self._all = self.batch(np.arange(self.N))
        return self._all

    def mean_batch_grads(self, batches: list[Batch], X: np.ndarray, S: np.ndarray | None = None) -> np.ndarray:
        """``1/n sum_j grad f_{m,B_j}(x_r)`` over the n minibatches ``batches``, every client and replica.

        What a local epoch whose gradients are all taken at the server point adds up to
        (the authors' q-nastya.py): one weighted pass over the rows, ``w_i = sum_{j: i in
        B_j} 1 / (n |B_{m,j}|)``, instead of n minibatch products.

        Parameters
        ----------
        batches : list of Batch
            With their ``rows``.
        X : ndarray, shape (R, d)
        S : ndarray of int, shape (M, k), optional
            Only these coordinates of client m's vector (a sparsifier's message).

        Returns
        -------
        G : ndarray, shape (R, M, d), or (R, M, k) at ``S``
        """
        n = len(batches)
        rows = np.concatenate([b.rows for b in batches])
        w = np.bincount(rows, weights=np.concatenate([b.inv_size for b in batches]) / n, minlength=self.N)
        yb = self.y[:, None]
        W = expit(-yb * (self.A @ X.T))
        W *= -(yb * w[:, None])
        full = self._all_rows
        if S is not None:
            return self._grads_at_columns(full.BDc, W, X, S)
        G = (full.BD.T @ W).T.reshape(X.shape[0], self.M, self.d)
        G += (2.0 * self.lam) * X[:, None, :]
        return G


def problem_from_clients(A: sp.csr_matrix, y: np.ndarray, parts: list[np.ndarray],
                         condition_number: float) -> LogisticRegression:
    """Group rows by client and set lambda from the condition number (spec 1.3).

    ``lambda = L_nr / (2 (kappa + 1))`` with ``L_nr`` the smoothness of the unregularised
    average, so that ``L / mu = kappa + 2`` (10002 for kappa = 1e4), as the authors' code.
    """
    order = np.concatenate(parts)
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])])
    A_c = sp.csr_matrix(A)[order]
    prob = LogisticRegression(A_c, np.asarray(y)[order], offsets, lam=0.0)
    L_nr = unregularised_smoothness(prob)
    prob.lam = L_nr / (2.0 * (condition_number + 1.0))
    return prob


def _gram(A: sp.csr_matrix, weights: np.ndarray) -> np.ndarray:
    return (A.T @ A.multiply(weights[:, None])).toarray()


def unregularised_smoothness(prob: LogisticRegression) -> float:
    """``L_nr = lambda_max(1/M sum_m A_m^T A_m / (4 n_m))`` (Hessian bound ``aa^T/4``)."""
    G = _gram(prob.A, prob.row_weight / 4.0)
    return float(np.linalg.eigvalsh(G)[-1])
