"""Finite-sum problems over data rows grouped by client: what logistic and ridge regression share.

Client m owns rows ``offsets[m]:offsets[m+1]`` of a CSR matrix A and its objective is

.. math::

    f_m(x) = \\frac{c_m}{n_m} \\sum_{i=1}^{n_m} \\ell(a_{mi}^\\top x, y_{mi}) + r(x), \\qquad
    f = \\frac1M \\sum_m f_m ,

with a per-row loss :math:`\\ell` and a regulariser r whose gradient is ``reg * x``; c_m = 1
unless the problem scales its clients (``client_scale``). A subclass names its loss
(``row_loss``, whose :math:`\\ell'` is compiled in :mod:`~gradcomp.problems.kernels`), gives
``reg``, the loss and the constants; this class holds the machinery every method needs:
minibatches of all clients as one :class:`Batch`, and the gradients of every client and
replica at once (``X`` of shape (R, d); a minibatch gradient is
``c_m / |B_m| sum_{i in B_m} l'(a_i^T x) a_i + reg x``), at the coordinates a sparsifier keeps,
at each client's own iterate (local steps), and averaged over an epoch's minibatches.

The data stay sparse (CSR): the LIBSVM sets are 4-19 % dense, and one pass over the
nonzeros is what a round costs.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


#: Which per-row loss (a row problem's ``row_loss``; the ``loss`` argument of the kernels,
#: whose ``loss_derivative`` holds l'). Codes, not functions: Numba caches a kernel
#: compiled for an integer, not one compiled for a function argument.
LOGISTIC, SQUARED = 0, 1


def unsigned(a: np.ndarray) -> np.ndarray:
    """``a`` (non-negative integers) viewed as unsigned, for the compiled kernels: Numba checks
    a signed index for wraparound on every access, an unsigned one not, and the minibatch
    products, whose every load goes through an index, run 2-3 times faster."""
    return a.view(np.dtype(a.dtype.str.replace("i", "u")))


def _kernels():
    """The compiled minibatch products (Numba is imported on first use, not with the package)."""
    from . import kernels

    return kernels


class Batch:
    """The rows of all clients used in one round, stacked client after client.

    A batch is its rows' indices into the problem's CSR data: the minibatch products read
    the data through them (:mod:`~gradcomp.problems.kernels`), so making a batch copies
    no data. Matrices of the batch's own rows are built on first use, for the paths that
    want them (local steps, dense problems).

    Attributes
    ----------
    rows : ndarray of int, shape (rows,)
        The rows' indices in the problem's data (repeats allowed).
    client : ndarray of int, shape (rows,)
        The client that owns each row.
    y : ndarray, shape (rows,)
    inv_size : ndarray, shape (rows,)
        ``c_m / |B_m|`` of the client m that owns the row (minibatch means per client).
    client_ptr : ndarray of int, shape (M + 1,) or None
        Client m owns rows ``client_ptr[m]:client_ptr[m+1]``; None when the rows are not
        grouped by client.
    B : csr_matrix, shape (rows, d)
        The minibatch rows (built on first use).
    BD : csr_matrix, shape (rows, M * d)
        The same nonzeros with row ``i`` moved to column block ``client(i)``, so that
        ``BD.T @ W`` is every client's sum ``sum_i W_i a_i`` in one sparse product (built on
        first use).
    """

    def __init__(self, prob: "RowProblem", rows: np.ndarray, like: "Batch | None" = None):
        self.A, self.M, self.d = prob.A, prob.M, prob.d
        self.rows = rows = np.asarray(rows, dtype=np.int64)
        self.y = prob.y[rows]
        #: the CSR arrays the kernels read (indices unsigned) and the batch's rows in them:
        #: the problem's data and ``rows`` until :meth:`compact`
        self.csr, self.urows, self.cols = prob._csr, unsigned(rows), None
        self._B = self._BD = self._own = None
        if like is not None:   # the same clients in the same places: their layout is like's
            self.client, self.uclient, self.client_ptr, self.inv_size = (
                like.client, like.uclient, like.client_ptr, like.inv_size)
            return
        self.client = client = prob.client_of_row[rows]
        self.uclient = unsigned(client)
        counts = np.bincount(client, minlength=self.M)
        self.client_ptr = None
        if np.all(client[1:] >= client[:-1]):
            self.client_ptr = np.zeros(self.M + 1, dtype=np.int64)
            np.cumsum(counts, out=self.client_ptr[1:])
        self.inv_size = 1.0 / counts[client]
        if prob.client_scale is not None:
            self.inv_size = prob.client_scale[client] * self.inv_size

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    def compact(self) -> "Batch":
        """Gather the rows into arrays of their own, for a batch used many times (RR with
        one permutation, full gradients): the products then stream through contiguous
        memory instead of visiting the rows where they lie, and the sums at a sparsifier's
        coordinates read only those columns (``cols``: the batch by (client, coordinate)
        columns, CSC). Same numbers, same order; returns the batch."""
        B, C = self.B, self.BD.tocsc()
        self.csr = (unsigned(B.indptr), unsigned(B.indices), B.data)
        self.urows = np.arange(self.n_rows, dtype=np.uint64)
        self.cols = (unsigned(C.indptr), unsigned(C.indices), C.data)
        return self

    def _gather(self):
        """``(indptr, indices, data)`` of the batch's own rows (gathered once)."""
        if self._own is None:
            A, rows = self.A, self.rows
            start = A.indptr[rows]
            cnt = A.indptr[rows + 1] - start
            indptr = np.zeros(len(rows) + 1, dtype=A.indptr.dtype)
            np.cumsum(cnt, out=indptr[1:])
            pos = np.repeat(start - indptr[:-1], cnt) + np.arange(indptr[-1])
            self._own = indptr, A.indices[pos], A.data[pos]
        return self._own

    @property
    def B(self) -> sp.csr_matrix:
        if self._B is None:
            indptr, indices, data = self._gather()
            self._B = sp.csr_matrix((data, indices, indptr), shape=(self.n_rows, self.d), copy=False)
        return self._B

    @property
    def BD(self) -> sp.csr_matrix:
        if self._BD is None:
            indptr, indices, data = self._gather()
            shifted = indices + np.repeat(self.client * self.d, np.diff(indptr)).astype(indices.dtype)
            self._BD = sp.csr_matrix((data, shifted, indptr), shape=(self.n_rows, self.M * self.d), copy=False)
        return self._BD


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
        self._csr_u = None

    @property
    def _csr(self) -> tuple:
        """``(indptr, indices, data)`` of ``A``, the indices viewed unsigned for the kernels."""
        if self._csr_u is None:
            self._csr_u = (unsigned(self.A.indptr), unsigned(self.A.indices), self.A.data)
        return self._csr_u

    # ---- what a subclass defines ---------------------------------------------------------
    @property
    def reg(self) -> float:
        """The regulariser's gradient is ``reg * x``."""
        raise NotImplementedError

    #: The per-row loss l: ``LOGISTIC`` or ``SQUARED``.
    row_loss: int

    def _row_weights(self, Z: np.ndarray, y: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """``scale_i l'(Z[i, r], y_i)`` per row and replica from the products ``Z = a_i^T x``
        (shape (rows, R); ``y`` and ``scale`` of shape (rows,)); ``Z`` is overwritten
        (every caller passes a fresh product)."""
        return _kernels().row_weights(Z, y, scale, self.row_loss)

    def loss(self, X: np.ndarray):
        """f at each row of ``X`` (shape (R, d) -> (R,), or (d,) -> scalar)."""
        raise NotImplementedError

    # ---- rows and batches ------------------------------------------------------------------
    def batch(self, rows: np.ndarray, like: Batch | None = None) -> Batch:
        """A :class:`Batch` from global row indices grouped by client (repeats allowed);
        ``like``: a batch whose row ``i`` belongs to the same client as ``rows[i]`` (a
        with-replacement sampler's every round), whose client layout is then reused."""
        return Batch(self, rows, like)

    @property
    def _all_rows(self) -> Batch:
        """Every row, in data order, as one :class:`Batch` (built once)."""
        if self._all is None:
            self._all = self.batch(np.arange(self.N)).compact()
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
        return _kernels().rows_weights(*batch.csr, batch.urows, np.ascontiguousarray(X.T), batch.y, batch.inv_size,
                                       self.row_loss)

    def batch_grads(self, batch: Batch, X: np.ndarray) -> np.ndarray:
        """Every client's minibatch gradient at every replica.

        Parameters
        ----------
        X : ndarray, shape (R, d)

        Returns
        -------
        G : ndarray, shape (R, M, d)
        """
        return self._client_sums(batch, self._batch_weights(batch, X), X)

    def batch_grads_at(self, batch: Batch, X: np.ndarray, S: np.ndarray) -> np.ndarray:
        """Client ``m``'s minibatch gradient at coordinates ``S[m]`` only.

        What a sparsifier (Rand-k) transmits depends on k coordinates per client, so
        the backward sum is restricted to those M k columns.

        Parameters
        ----------
        X : ndarray, shape (R, d)
        S : ndarray of int, shape (M, k)

        Returns
        -------
        G : ndarray, shape (R, M, k), ``G[r, m, j] = [grad f_{m,B_m}(x_r)]_{S[m, j]}``
        """
        return self._client_sums(batch, self._batch_weights(batch, X), X, S)

    def _client_sums(self, batch: Batch, W: np.ndarray, X: np.ndarray, S: np.ndarray | None = None) -> np.ndarray:
        """``G[r, m] = sum_{i in batch, client m} W[i, r] a_i + reg x_r``, shape (R, M, d), or
        its entries at ``S[m]`` only, shape (R, M, k)."""
        R = X.shape[0]
        args = (*batch.csr, batch.urows, batch.uclient, np.uint64(self.d), np.uint64(self.M), W)
        if S is None:
            G = _kernels().rows_scatter(*args).T.reshape(R, self.M, self.d)
            G += self.reg * X[:, None, :]
            return G
        M, k = S.shape
        cols = (np.arange(M)[:, None] * self.d + S).ravel()
        if batch.cols is not None:   # a compacted batch: read the selected columns only
            G = _kernels().cols_sum(*batch.cols, W, unsigned(cols))
        else:
            G = _kernels().rows_scatter_at(*args, unsigned(cols))
        G = G.reshape(M, k, R)
        return np.moveaxis(G, 2, 0) + self.reg * X[:, S]

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
        Wt = self._row_weights(batch.BD @ WT, batch.y, batch.inv_size)
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
        W = self._row_weights(self.A @ X.T, self.y, w)
        return self._client_sums(self._all_rows, W, X, S)


def group_by_client(A, y: np.ndarray, parts: list[np.ndarray]):
    """``(A, y, offsets)`` with the rows of client m (``parts[m]``) contiguous, in order."""
    order = np.concatenate(parts)
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])])
    return sp.csr_matrix(A)[order], np.asarray(y)[order], offsets


def gram(A: sp.csr_matrix, weights: np.ndarray) -> np.ndarray:
    """``A^T diag(weights) A`` as a dense (d, d) array."""
    return (A.T @ A.multiply(weights[:, None])).toarray()
