"""Finite-sum problems over data rows grouped by client: what logistic and ridge regression share.

Client m owns rows ``offsets[m]:offsets[m+1]`` of a CSR matrix A and its objective is

.. math::

    f_m(x) = \\frac{c_m}{n_m} \\sum_{i=1}^{n_m} \\ell(a_{mi}^\\top x, y_{mi}) + r(x), \\qquad
    f = \\frac1M \\sum_m f_m ,

with a per-row loss :math:`\\ell` and a regulariser r whose gradient is ``reg * x``; c_m = 1
unless the problem scales its clients (``client_scale``). A subclass gives :math:`\\ell'`
(:meth:`RowProblem._row_weights`), ``reg``, the loss and the constants; this class holds the
machinery every method needs: minibatches of all clients as one :class:`Batch`, and the
gradients of every client and replica at once (``X`` of shape (R, d); a minibatch gradient is
``c_m / |B_m| sum_{i in B_m} l'(a_i^T x) a_i + reg x``), at the coordinates a sparsifier keeps,
at each client's own iterate (local steps), and averaged over an epoch's minibatches.

The data stay sparse (CSR): the LIBSVM sets are 4-19 % dense, and one pass over the
nonzeros is what a round costs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


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
        ``c_m / |B_m|`` of the client m that owns the row (minibatch means per client).
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

    def __init__(self, prob: "RowProblem", rows: np.ndarray):
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
        self.client_scale = prob.client_scale

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
        inv_size = 1.0 / counts[clients]
        if self.client_scale is not None:
            inv_size = self.client_scale[clients] * inv_size
        return Batch(B=B, BD=BD, y=self.y[lo:hi], inv_size=inv_size, rows=self.rows[lo:hi], client_ptr=ptr)


class RowProblem:
    """The shared part of the row-based problems (module docstring).

    Parameters
    ----------
    A : sparse or dense matrix, shape (N, d)
        Feature rows grouped by client: client ``m`` owns rows ``offsets[m]:offsets[m+1]``.
    y : ndarray, shape (N,)
    offsets : ndarray of int, shape (M + 1,)
    lam : float
        The regularisation weight lambda.
    client_scale : ndarray, shape (M,), optional
        c_m; None for c_m = 1.
    """

    has_solution = True

    def __init__(self, A, y: np.ndarray, offsets: np.ndarray, lam: float, client_scale=None):
        self.A = sp.csr_matrix(A, dtype=np.float64)
        self.A.sort_indices()
        self.y = np.asarray(y, dtype=np.float64)
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.lam = float(lam)
        self.N, self.d = self.A.shape
        self.M = len(self.offsets) - 1
        self.n_m = np.diff(self.offsets)
        self.client_of_row = np.repeat(np.arange(self.M), self.n_m)
        self.client_scale = None if client_scale is None else np.asarray(client_scale, dtype=np.float64)
        # c_m / (M n_m): the weight of each row in f.
        self.row_weight = 1.0 / (self.M * self.n_m[self.client_of_row])
        if self.client_scale is not None:
            self.row_weight = self.client_scale[self.client_of_row] * self.row_weight
        self._all: Batch | None = None  # every row as one Batch, built on first use

    # ---- what a subclass defines ---------------------------------------------------------
    @property
    def reg(self) -> float:
        """The regulariser's gradient is ``reg * x``."""
        raise NotImplementedError

    @staticmethod
    def _row_weights(Z: np.ndarray, y: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """``scale * l'(Z, y)`` per row and replica from the products ``Z = a_i^T x``;
        ``Z`` is overwritten (every caller passes a fresh product)."""
        raise NotImplementedError

    def loss(self, X: np.ndarray):
        """f at each row of ``X`` (shape (R, d) -> (R,), or (d,) -> scalar)."""
        raise NotImplementedError

    # ---- rows and batches ------------------------------------------------------------------
    def batch(self, rows: np.ndarray) -> Batch:
        """A :class:`Batch` from global row indices grouped by client (repeats allowed)."""
        return RowBlock(self, rows).batch()

    def row_block(self, rows: np.ndarray) -> RowBlock:
        """The rows ``rows`` gathered once, to be cut into batches by :meth:`RowBlock.batch`."""
        return RowBlock(self, rows)

    @property
    def _all_rows(self) -> Batch:
        """Every row, in data order, as one :class:`Batch` (built once)."""
        if self._all is None:
            self._all = self.batch(np.arange(self.N))
        return self._all

    # ---- gradients -------------------------------------------------------------------------
    def grad(self, x: np.ndarray) -> np.ndarray:
        """``grad f(x)``, shape (d,)."""
        return self.grads(x[None, :])[0]

    def grads(self, X: np.ndarray) -> np.ndarray:
        """``grad f`` at every row of ``X`` (R, d) -> (R, d): the mean of the clients' gradients."""
        return self.batch_grads(self._all_rows, X).mean(axis=1)

    def client_grads(self, x: np.ndarray) -> np.ndarray:
        """Local full gradients ``grad f_m(x)``, shape (M, d)."""
        return self.batch_grads(self._all_rows, x[None, :])[0]

    def _batch_weights(self, batch: Batch, X: np.ndarray) -> np.ndarray:
        """``c_m l'(a_i^T x_r) / |B_m|`` per row and replica, shape (rows, R)."""
        return self._row_weights(batch.B @ X.T, batch.y[:, None], batch.inv_size[:, None])

    def batch_grads(self, batch: Batch, X: np.ndarray) -> np.ndarray:
        """Every client's minibatch gradient at every replica.

        Parameters
        ----------
        X : ndarray, shape (R, d)

        Returns
        -------
        G : ndarray, shape (R, M, d)
        """
        W = self._batch_weights(batch, X)
        G = (batch.BD.T @ W).T.reshape(X.shape[0], self.M, self.d)
        G += self.reg * X[:, None, :]
        return G

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
        """``G[r, m, j] = sum_i W[i, r] C[i, m d + S[m, j]] + reg X[r, S[m, j]]``, shape (R, M, k).

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
        G = np.moveaxis(G, 2, 0) + self.reg * X[:, S]
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
        Wt = self._row_weights(batch.BD @ WT, batch.y[:, None], batch.inv_size[:, None])
        GT = batch.BD.T @ Wt
        GT += self.reg * WT
        return GT

    def local_step(self, batch: Batch, WT: np.ndarray, gamma: np.ndarray) -> None:
        """``w_{r,m} <- w_{r,m} - gamma_r grad f_{m,B_m}(w_{r,m})`` in place, ``WT`` (M d, R)."""
        WT -= self.batch_grads_local(batch, WT) * gamma

    def mean_batch_grads(self, batches: list[Batch], X: np.ndarray, S: np.ndarray | None = None) -> np.ndarray:
        """``1/n sum_j grad f_{m,B_j}(x_r)`` over the n minibatches ``batches``, every client and replica.

        What a local epoch whose gradients are all taken at the server point adds up to
        (the authors' q-nastya.py): one weighted pass over the rows, ``w_i = sum_{j: i in
        B_j} c_m / (n |B_{m,j}|)``, instead of n minibatch products.

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
        W = self._row_weights(self.A @ X.T, self.y[:, None], w[:, None])
        full = self._all_rows
        if S is not None:
            return self._grads_at_columns(full.BDc, W, X, S)
        G = (full.BD.T @ W).T.reshape(X.shape[0], self.M, self.d)
        G += self.reg * X[:, None, :]
        return G


def group_by_client(A, y: np.ndarray, parts: list[np.ndarray]):
    """``(A, y, offsets)`` with the rows of client m (``parts[m]``) contiguous, in order."""
    order = np.concatenate(parts)
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])])
    return sp.csr_matrix(A)[order], np.asarray(y)[order], offsets


def gram(A: sp.csr_matrix, weights: np.ndarray) -> np.ndarray:
    """``A^T diag(weights) A`` as a dense (d, d) array."""
    return (A.T @ A.multiply(weights[:, None])).toarray()
