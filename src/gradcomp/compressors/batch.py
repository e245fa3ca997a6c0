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
from .base import InputError, check_finite, non_finite_error


def check_shape(v, d: int, name: str) -> None:
    if v.ndim < 2 or v.shape[-1] != d:
        raise InputError(
            f"{name} expects a batch of shape (..., M, {d}) (clients second to last), got {tuple(v.shape)}"
        )


def prepare(v, d: int, name: str):
    """The namespace of ``v`` after checking its shape and that it is finite."""
    xp = namespace_of(v)
    check_shape(v, d, name)
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
    """``a / b`` where ``b != 0``, else 0 (a zero vector compresses to zero).

    The divisor is expanded to the full shape first: NumPy divides by a broadcast
    (stride-0) operand an order of magnitude slower than by a full array, and IEEE division
    gives the same quotients either way.
    """
    nonzero = b != 0
    den = xp.where(nonzero, b, 1)
    shape = np.broadcast_shapes(getattr(a, "shape", ()), den.shape)
    if den.shape != shape:
        den = xp.broadcast_to(den, shape).copy()
    q = a / den
    if xp is np and nonzero.all():
        return q
    return xp.where(nonzero, q, 0)


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


def use_fused(v) -> bool:
    """Whether the compiled NumPy path applies (a NumPy float64 array; other namespaces and
    dtypes take the generic whole-array path, which gives the same numbers)."""
    return isinstance(v, np.ndarray) and v.dtype == np.float64


def fused_elementwise(v, rng: np.random.Generator, d: int, name: str, kind: str, p=None, s: float = 0.0):
    """An elementwise quantizer of a NumPy float64 batch in one compiled call
    (:func:`.kernels.quantize`), bit-identical to its generic path, draws included.

    ``kind``: ``dithering`` (levels ``s``), ``natural``, ``natural_dithering`` (``s``
    levels) or ``one_bit`` (IQ); ``p``: the norm, 2 or inf (none for ``natural``).
    Checks the shape and finiteness as :func:`prepare` does, with the same errors, and
    draws nothing when it raises.
    """
    from . import kernels  # numba: imported on first use

    check_shape(v, d, name)
    lead, (M, _) = v.shape[:-2], v.shape[-2:]
    v3 = np.ascontiguousarray(v).reshape((int(np.prod(lead, dtype=np.int64)), M, d))
    out = np.empty(v3.shape)
    code = {"dithering": kernels.DITHERING, "natural": kernels.NATURAL,
            "natural_dithering": kernels.NATURAL_DITHERING, "one_bit": kernels.ONE_BIT}[kind]
    norm_code = {None: kernels.NO_NORM, 2: kernels.L2, float("inf"): kernels.LINF}[p]
    if not kernels.quantize(v3, rng, code, norm_code, float(s), out, kernels.BLOCK):
        raise non_finite_error(name)
    return out.reshape(v.shape)
