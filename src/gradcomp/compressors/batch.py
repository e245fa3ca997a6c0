"""What every compressor does to a batch ``(..., M, d)`` before and around its math.

Written against the array namespace ``xp`` of the input (NumPy, CuPy, or any namespace
whose arrays name it through ``__array_namespace__``): only functions that NumPy and CuPy
share are called on data arrays. Randomness is drawn on the host from the caller's NumPy
Generator (a named stream, :mod:`gradcomp.seeding`) with shape ``(M, ...)``, moved to the
device, and broadcast over the leading replica axes, so NumPy and CuPy see the same
draws and replicas share them (common random numbers).
"""

from __future__ import annotations

import numpy as np

from ..backend import namespace_of, to_device
from .base import InputError, check_finite


def prepare(v, d: int, name: str):
    """The namespace of ``v`` after checking its shape and that it is finite."""
    xp = namespace_of(v)
    if v.ndim < 2 or v.shape[-1] != d:
        raise InputError(
            f"{name} expects a batch of shape (..., M, {d}) (clients second to last), got {tuple(v.shape)}"
        )
    check_finite(xp, v, name)
    return xp


def device(xp, host_array, dtype=None):
    """A host draw on ``xp``'s device (optionally cast to ``dtype``)."""
    a = to_device(xp, np.ascontiguousarray(host_array))
    return a if dtype is None else a.astype(dtype)


def norm(xp, v, p):
    """``||v||_p`` along the last axis, keepdims; ``p`` is 2 or ``inf``."""
    if p == 2:
        return xp.sqrt(xp.sum(v * v, axis=-1, keepdims=True))
    if p == float("inf"):
        return xp.max(xp.abs(v), axis=-1, keepdims=True)
    raise ValueError(f"norm p must be 2 or inf, got {p!r}")


def safe_divide(xp, a, b):
    """``a / b`` where ``b != 0``, else 0 (a zero vector compresses to zero)."""
    nonzero = b != 0
    return xp.where(nonzero, a / xp.where(nonzero, b, 1), 0)


def two_point(xp, low, high, p_high, u):
    """``high`` where ``u < p_high`` else ``low``: one unbiased rounding per entry."""
    return xp.where(u < p_high, high, low)


def gather_rows(xp, v, idx):
    """``v[..., m, idx[m, j]]`` for a per-client index array ``idx`` of shape (M, k)."""
    M = v.shape[-2]
    clients = xp.reshape(xp.arange(M), (M, 1))
    return v[..., clients, idx]


def keep_rows(xp, v, idx, scale=None):
    """A zero array like ``v`` holding ``v`` (times ``scale``) at per-row indices ``idx``.

    ``idx`` has the shape of ``v`` with the last axis k: every row (leading axes and
    client) keeps its own k coordinates (Top-k, where rows differ across replicas).
    """
    lead = v.shape[:-1]
    d, k = v.shape[-1], idx.shape[-1]
    rows = int(np.prod(lead)) if lead else 1
    flat_v = xp.reshape(v, (rows, d))
    flat_i = xp.reshape(idx, (rows, k))
    r = xp.reshape(xp.arange(rows), (rows, 1))
    out = xp.zeros_like(flat_v)
    vals = flat_v[r, flat_i]
    out[r, flat_i] = vals if scale is None else scale * vals
    return xp.reshape(out, v.shape)


# --- NumPy fast path for elementwise quantizers -------------------------------------------------

#: Columns per block of the fused NumPy path: a few float64 buffers of this size stay in L2.
CHUNK = 1 << 14


def use_fused(xp, v) -> bool:
    """Whether the blocked NumPy path applies (NumPy float64 input; other namespaces and
    dtypes take the generic whole-array path, which gives the same numbers)."""
    return xp is np and v.dtype == np.float64


def fused_elementwise(v, rng: np.random.Generator, kernel, dtypes, rows=()):
    """``out = kernel(block of v, block of u, ...)`` over column blocks, NumPy only.

    The generic path of an elementwise quantizer draws ``u = rng.random((M, d))`` and
    evaluates a chain of ufuncs on whole arrays (about ten full-size temporaries). Here
    the same uniforms are drawn block by block, in the same order (client-major, then
    columns: a Generator fills ``random(n1)`` then ``random(n2)`` with exactly the values
    of one ``random(n1 + n2)``), and the same ufuncs, in the same order, run in place on
    L2-sized buffers, so the output is bit-identical to the generic path's.

    ``kernel(vb, ub, rb, ob, bufs)`` gets the block ``vb`` (leading axes, c columns), the
    uniforms ``ub`` (c,), the tuple ``rb`` of this client's per-row values from ``rows``
    (each (..., M, 1) -> (..., 1)), the output block ``ob`` and one scratch array shaped
    like ``vb`` per entry of ``dtypes``.
    """
    M, d = v.shape[-2:]
    lead = v.shape[:-2]
    out = np.empty_like(v)
    c = min(CHUNK, d)
    ubuf = np.empty(c)
    scratch = [np.empty(lead + (c,), dtype=t) for t in dtypes]
    for m in range(M):
        rb = tuple(a[..., m, :] for a in rows)
        for s in range(0, d, c):
            e = min(s + c, d)
            ub = ubuf[: e - s]
            rng.random(out=ub)
            bufs = scratch if e - s == c else [b[..., : e - s] for b in scratch]
            kernel(v[..., m, s:e], ub, rb, out[..., m, s:e], bufs)
    return out
