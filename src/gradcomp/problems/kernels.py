"""Compiled inner loops of the row problems (Numba).

**Minibatch products** (:class:`~gradcomp.problems.rows.RowProblem`): the forward products
``a_i^T x_r`` of a round's rows and the backward sums ``sum_i W_ir a_i`` (whole, or at the
coordinates a sparsifier keeps), read straight from the data's CSR arrays through the
rows' indices. Building a SciPy matrix of each minibatch (a gather of its rows, SciPy's
checks, a CSC copy for the selected columns) cost several times the arithmetic. Every sum
is taken in the order SciPy's ``csr_matvecs``/``csc_matvecs`` and ``numpy.bincount`` take
it (each output starts at zero and adds the rows in batch order, one product per
nonzero), so the results equal SciPy's bit for bit (tests/test_problem.py).

**Local steps** (:class:`~gradcomp.problems.logreg.LogisticRegression`): a local SGD step of every client and stepsize replica (:meth:`LogisticRegression.local_step`)
is a sparse forward product, a sigmoid per row and replica, and a sparse backward
product. SciPy runs these as three separate passes with two temporaries of the size of
the iterates, and the sigmoid alone as several more; here the step is one compiled loop
over the minibatch rows, with the replica axis innermost (contiguous, so it vectorizes).

Each replica's arithmetic does not depend on the other replicas (no reduction crosses the
replica axis), so a replica of a batched run equals the same stepsize run alone, bit for bit.

**Prefetching.** A with-replacement minibatch is a tenth of the rows, scattered over the
data; read in the order drawn, each row waits for memory (a9a: 2.4 times a pass in row
order). The kernels that visit rows through ``rows`` ask the cache for the rows a few
iterations ahead (:func:`prefetch_row`), which changes what is loaded early and nothing
that is computed.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from .rows import LOGISTIC, SQUARED  # noqa: F401  (the ``loss`` codes)


#: How many rows ahead of the current one :func:`prefetch_row` asks for a row's extent
#: (``indptr``); its nonzeros are asked for half as far ahead, once that extent has arrived.
PREFETCH_ROWS = 16


def _prefetch(builder, base, index) -> None:
    """``llvm.prefetch`` of ``base[index]``: a read, kept in all cache levels. A hint only:
    no value, no fault on any address."""
    ptr = builder.bitcast(builder.gep(base, [index]), ir.IntType(8).as_pointer())
    i32 = ir.IntType(32)
    fn = builder.module.declare_intrinsic("llvm.prefetch", [ptr.type],
                                          ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32]))
    builder.call(fn, [ptr, i32(0), i32(3), i32(1)])


@intrinsic
def prefetch_row(typingctx, indptr, indices, data, rows, i):
    """Before row ``rows[i]`` is read: prefetch the extent (``indptr``) of ``rows[i +
    PREFETCH_ROWS]`` and the first nonzeros (``indices``, ``data``) of ``rows[i +
    PREFETCH_ROWS // 2]``, whose extent was asked for earlier.

    Written in LLVM, not as a jitted helper: Numba inlines a helper with an incref and a
    decref of each of its arrays, per row (measured: the pass 2-4 times slower)."""
    def codegen(context, builder, signature, args):
        indptr, indices, data, rows = (context.make_array(t)(context, builder, a)
                                       for t, a in zip(signature.args[:4], args[:4]))
        i = args[4]
        n = builder.extract_value(rows.shape, 0)
        far = builder.add(i, i.type(PREFETCH_ROWS))
        with builder.if_then(builder.icmp_signed("<", far, n)):
            _prefetch(builder, indptr.data, builder.load(builder.gep(rows.data, [far])))
        near = builder.add(i, i.type(PREFETCH_ROWS // 2))
        with builder.if_then(builder.icmp_signed("<", near, n)):
            start = builder.load(builder.gep(indptr.data, [builder.load(builder.gep(rows.data, [near]))]))
            _prefetch(builder, data.data, start)
            _prefetch(builder, indices.data, start)
        return context.get_dummy_value()

    return types.void(indptr, indices, data, rows, i), codegen


#: Most replicas per block: one client's d iterates and its minibatch's weights for this
#: many replicas stay in a core's L2 cache (d = 300: 300 x 128 x 8 B = 300 KB). R is cut
#: into equal blocks of at most this many (R = 324: three of 108, not five of 64 and one
#: of 4, which cost a pass over the rows for 4 replicas).
REPLICA_BLOCK = 128


@numba.njit(cache=True, nogil=True)
def local_sgd_step(indptr, indices, data, rows, y, inv_size, client_ptr, d, WT, gamma, two_lam):  # pragma: no cover - compiled
    """``w_{r,m} <- (1 - 2 lambda gamma_r) w_{r,m} - gamma_r sum_{i in B_m} s_i(w_{r,m}) a_i`` in place.

    ``s_i(w) = -y_i sigma(-y_i a_i^T w) / |B_m|``: the minibatch gradient of client m's
    logistic loss at its own iterate, every gradient taken before any iterate moves.
    Clients are independent, so the step runs client by client and, within a client, in
    equal blocks of at most :data:`REPLICA_BLOCK` replicas, each block finished while it
    is in cache.

    Parameters
    ----------
    indptr, indices, data : the CSR arrays of the data (indices unsigned) and ``rows``
        (unsigned), the batch's rows in them: row i of the batch is ``rows[i]``, read in
        place (no copy of the batch).
    y, inv_size : (rows,) labels and ``1 / |B_m(i)|``.
    client_ptr : (M + 1,) client m owns the batch rows ``client_ptr[m]:client_ptr[m+1]``.
    d : uint64, the dimension (client m's iterates are rows ``m d:(m+1) d`` of ``WT``).
    WT : (M d, R) C-contiguous, the iterates with the replica axis last.
    gamma : (R,) client stepsizes.
    two_lam : float, ``2 lambda``.
    """
    M = client_ptr.shape[0] - 1
    R = WT.shape[1]
    if R == 0:
        return
    blocks = (R + REPLICA_BLOCK - 1) // REPLICA_BLOCK
    width = (R + blocks - 1) // blocks
    rows_max = 0
    for m in range(M):
        rows_max = max(rows_max, client_ptr[m + 1] - client_ptr[m])
    S = np.empty((rows_max, width))
    for m in range(M):
        lo, hi = client_ptr[m], client_ptr[m + 1]
        base = np.uint64(m) * d
        for r0 in range(0, R, width):
            r1 = min(r0 + width, R)
            nr = r1 - r0
            g = gamma[r0:r1]
            for i in range(lo, hi):          # forward: z_ir = a_i^T w_{r,m}
                prefetch_row(indptr, indices, data, rows, i)
                row = rows[i]
                z = S[i - lo, :nr]
                z[:] = 0.0
                for p in range(indptr[row], indptr[row + 1]):
                    a = data[p]
                    w = WT[base + indices[p], r0:r1]
                    for r in range(nr):
                        z[r] += a * w[r]
            for i in range(lo, hi):          # gamma_r s_i(w_r); expit(-y z) = 1 / (1 + exp(y z))
                yi = y[i]
                c = yi * inv_size[i]
                s = S[i - lo, :nr]
                for r in range(nr):
                    s[r] = -c * g[r] / (1.0 + math.exp(yi * s[r]))
            for j in range(base, base + d):   # the regulariser: a rescaling of the iterate
                w = WT[j, r0:r1]
                for r in range(nr):
                    w[r] *= 1.0 - two_lam * g[r]
            for i in range(lo, hi):          # backward: w_{r,m} -= gamma_r s_i a_i
                row = rows[i]
                s = S[i - lo, :nr]
                for p in range(indptr[row], indptr[row + 1]):
                    a = data[p]
                    w = WT[base + indices[p], r0:r1]
                    for r in range(nr):
                        w[r] -= a * s[r]


@numba.njit(cache=True, nogil=True)
def block_products(T, starts):  # pragma: no cover - compiled
    """``P[b, r] = prod_{i in block b} T[i, r]``, block b the rows ``starts[b]:starts[b+1]``
    (the last to the end): ``numpy.multiply.reduceat(T, starts, axis=0)`` for increasing
    ``starts``, the same products left to right, row after row (equal bit for bit,
    tests/test_problem.py), at a tenth of reduceat's time on the loss's (N, R) margins
    (a9a, R = 288: 52 ms -> 6 ms)."""
    n, R = T.shape
    B = starts.shape[0]
    P = np.empty((B, R))
    for b in range(B):
        lo = starts[b]
        hi = starts[b + 1] if b + 1 < B else n
        for r in range(R):
            P[b, r] = T[lo, r]
        for i in range(lo + 1, hi):
            for r in range(R):
                P[b, r] *= T[i, r]
    return P


@numba.njit(cache=True, nogil=True)
def loss_derivative(loss, z, y, s):  # pragma: no cover - compiled
    """``s l'(z, y)`` of one row: the weight of ``a_i`` in a minibatch gradient.

    * LOGISTIC, ``l = log(1 + exp(-y z))``: ``expit(-y z) * -(y s)``, ``expit(t)`` as
      SciPy's ``1 / (1 + exp(-t))`` (the same libm ``exp``: equal bit for bit,
      tests/test_problem.py);
    * SQUARED, ``l = (z - y)^2 / 2``: ``(z - y) s``.
    """
    if loss == LOGISTIC:
        return (1.0 / (1.0 + math.exp(-(z * -y)))) * -(y * s)
    return (z - y) * s


@numba.njit(cache=True, nogil=True)
def row_weights(Z, y, s, loss):  # pragma: no cover - compiled
    """``Z[i, r] <- s_i l'(Z[i, r], y_i)`` in place (:func:`loss_derivative`); returns ``Z``."""
    n, R = Z.shape
    for i in range(n):
        yi, si = y[i], s[i]
        for r in range(R):
            Z[i, r] = loss_derivative(loss, Z[i, r], yi, si)
    return Z


@numba.njit(cache=True, nogil=True)
def rows_weights(indptr, indices, data, rows, XT, y, s, loss):  # pragma: no cover - compiled
    """``W[i, r] = s_i l'(a_{rows[i]}^T x_r, y_i)``: :func:`rows_dot` then :func:`row_weights`
    in one call (the products are still in cache; no NumPy temporaries)."""
    return row_weights(rows_dot(indptr, indices, data, rows, XT), y, s, loss)


@numba.njit(cache=True, nogil=True)
def rows_dot(indptr, indices, data, rows, XT):  # pragma: no cover - compiled
    """``Z[i, r] = a_{rows[i]}^T x_r``, shape (len(rows), R), from the CSR arrays of the data
    and ``XT`` (d, R) C-contiguous: SciPy's ``A[rows] @ XT``, term by term. Indices unsigned
    (:func:`~gradcomp.problems.rows.unsigned`)."""
    n, R = rows.shape[0], XT.shape[1]
    Z = np.zeros((n, R))
    if R == 1:       # one stepsize: the sum in a register, not in Z (same terms, same order)
        for i in range(n):
            prefetch_row(indptr, indices, data, rows, i)
            row = rows[i]
            z = 0.0
            for p in range(indptr[row], indptr[row + 1]):
                z += data[p] * XT[indices[p], 0]
            Z[i, 0] = z
        return Z
    for i in range(n):
        prefetch_row(indptr, indices, data, rows, i)
        row = rows[i]
        for p in range(indptr[row], indptr[row + 1]):
            a = data[p]
            j = indices[p]
            for r in range(R):
                Z[i, r] += a * XT[j, r]
    return Z


@numba.njit(cache=True, nogil=True)
def rows_scatter(indptr, indices, data, rows, client, d, M, W):  # pragma: no cover - compiled
    """``GT[m d + j, r] = sum_{i: client[i] = m} W[i, r] a_{rows[i], j}``, shape (M d, R):
    every client's sum over its rows, SciPy's ``BD.T @ W`` term by term. Indices, ``d`` and
    ``M`` unsigned."""
    n, R = W.shape
    GT = np.zeros((M * d, R))
    for i in range(n):
        prefetch_row(indptr, indices, data, rows, i)
        row = rows[i]
        base = client[i] * d
        for p in range(indptr[row], indptr[row + 1]):
            a = data[p]
            c = base + indices[p]
            for r in range(R):
                GT[c, r] += a * W[i, r]
    return GT


@numba.njit(cache=True, nogil=True)
def rows_scatter_at(indptr, indices, data, rows, client, d, M, W, cols):  # pragma: no cover - compiled
    """:func:`rows_scatter` at the columns ``cols`` (pairs ``q``, ``cols[q] = m d + j``) only:
    ``G[q, r]``, shape (len(cols), R). Repeated columns each get the whole sum.

    A table from column to its first pair (and a chain to the next) finds, per nonzero,
    the pairs it feeds; the sum runs over the rows in batch order like ``numpy.bincount``
    over a CSC copy of the batch does.
    """
    n, R = W.shape
    Q = cols.shape[0]
    first = np.full(M * d, -1, dtype=np.int64)
    nxt = np.full(Q, -1, dtype=np.int64)
    for q in range(Q - 1, -1, -1):
        nxt[q] = first[cols[q]]
        first[cols[q]] = q
    G = np.zeros((Q, R))
    for i in range(n):
        prefetch_row(indptr, indices, data, rows, i)
        row = rows[i]
        base = client[i] * d
        for p in range(indptr[row], indptr[row + 1]):
            q = first[base + indices[p]]
            if q < 0:
                continue
            a = data[p]
            while q >= 0:
                for r in range(R):
                    G[q, r] += W[i, r] * a
                q = nxt[q]
    return G


@numba.njit(cache=True, nogil=True)
def cols_sum(indptr, indices, data, W, cols):  # pragma: no cover - compiled
    """``G[q, r] = sum_i W[i, r] C[i, cols[q]]`` from the CSC arrays of ``C`` (rows in order
    within each column): :func:`rows_scatter_at` reading the selected columns only."""
    Q, R = cols.shape[0], W.shape[1]
    G = np.zeros((Q, R))
    for q in range(Q):
        c = cols[q]
        for p in range(indptr[c], indptr[c + 1]):
            i = indices[p]
            a = data[p]
            for r in range(R):
                G[q, r] += W[i, r] * a
    return G
