"""Numba kernels: the NumPy float64 fast paths of the elementwise quantizers
(:func:`quantize`), of DRIVE's Walsh-Hadamard transform (:func:`fwht_rows`) and of
DRIVE itself (:func:`drive_hadamard`), and Rand-k's draw of small subsets
(:func:`floyd_subsets`).

The namespace-generic code of a quantizer draws ``u = rng.random((M, d))`` and evaluates
about ten whole-array ufuncs; its speed is bounded by the temporaries. :func:`quantize`
does the same arithmetic in two passes over the batch and no temporaries: one pass that
checks the input is finite and computes each row's norm, and one that draws the
uniforms inside the loop (``rng.random()`` on the caller's Generator, which Numba calls
through the bit generator's own ``next_double``, so the draws and the stream's state
afterwards are NumPy's) and writes the output.

Bit-identical to the generic path, by construction and checked by the tests:

* draws in the generic order, client-major then columns, shared by the leading replica
  axes (a block of a client's columns is drawn, then every replica row uses it);
* the l2 norm is ``sqrt`` of NumPy's pairwise sum of the squares (:func:`_pairwise_sum`
  is NumPy's ``pairwise_sum`` for float64: 8 accumulators in blocks of at most 128, split
  at a multiple of 8; DRIVE's l1 norm is the same sum of ``|x|``) and the l-inf norm is
  the maximum of ``|x|`` (exact in any order);
* per coordinate the same IEEE operations in the same order as the generic expression
  (written next to each line); no ``fastmath``, so no contraction into FMAs.

NumPy's summation order is an implementation detail of NumPy, not an API: the tests
compare :func:`_pairwise_sum` with ``np.sum`` directly, so a NumPy that sums otherwise
fails there first. Numba does not take the Generator's lock: do not share one Generator
between threads that compress concurrently (nothing here does).

Compiled on first use: several seconds per entry point on a cold cache (7-9 s for
:func:`quantize`, 6-8 s for :func:`fwht_rows` on the shared 2-core development machine).
``cache=True`` keeps the machine code next to this file (or, where that is not writable,
in Numba's per-user cache directory or ``NUMBA_CACHE_DIR``); loading it takes about half
a second, most of it importing Numba. Numba's cache cannot hold recursive functions
(they crash when loaded), hence the explicit stack in :func:`_pairwise_sum`.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

#: Which quantizer (the ``kind`` argument).
DITHERING, NATURAL, NATURAL_DITHERING, ONE_BIT = 0, 1, 2, 3
#: Which norm (the ``norm`` argument); NATURAL takes none.
NO_NORM, L2, LINF = 0, 1, 2
#: Columns of uniforms drawn before the replica rows of that client use them (the
#: ``block`` argument of :func:`quantize`).
BLOCK = 2048

_JIT = dict(cache=True, error_model="numpy", boundscheck=False)


#: What :func:`_pairwise_sum` adds up (the ``op`` argument): ``a_i ** 2`` or ``|a_i|``.
SQUARES, ABSOLUTES = 0, 1


@njit(**_JIT)
def _term(x, op):
    return x * x if op == SQUARES else abs(x)


@njit(**_JIT)
def _sum_leaf(a, lo, n, op):
    """A leaf (n <= 128) of NumPy's float64 ``pairwise_sum``, on ``a[lo:lo+n] ** 2`` or ``|a[lo:lo+n]|``."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += _term(a[i], op)
        return res
    r0, r1, r2, r3 = _term(a[lo], op), _term(a[lo + 1], op), _term(a[lo + 2], op), _term(a[lo + 3], op)
    r4, r5, r6, r7 = _term(a[lo + 4], op), _term(a[lo + 5], op), _term(a[lo + 6], op), _term(a[lo + 7], op)
    i = lo + 8
    end8 = lo + n - n % 8
    while i < end8:
        r0 += _term(a[i], op)
        r1 += _term(a[i + 1], op)
        r2 += _term(a[i + 2], op)
        r3 += _term(a[i + 3], op)
        r4 += _term(a[i + 4], op)
        r5 += _term(a[i + 5], op)
        r6 += _term(a[i + 6], op)
        r7 += _term(a[i + 7], op)
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < lo + n:
        res += _term(a[i], op)
        i += 1
    return res


@njit(**_JIT)
def _pairwise_sum(a, op):
    """``np.sum(a * a)`` (op SQUARES) or ``np.sum(np.abs(a))`` (op ABSOLUTES) of a 1-D
    float64 ``a``, bit for bit: NumPy's ``pairwise_sum`` (leaves of at most 128 entries; a
    longer range splits at ``n2 = n // 2 - (n // 2) % 8`` into left + right), with the
    recursion unrolled onto a stack (Numba's on-disk cache cannot hold recursive functions)."""
    n = a.shape[0]
    if n <= 128:
        return _sum_leaf(a, 0, n, op)
    lo_ = np.empty(64, np.int64)  # a frame per level; the depth is log2(n / 128) + 1
    n_ = np.empty(64, np.int64)
    left = np.empty(64)
    has_left = np.zeros(64, np.bool_)
    top = 0
    lo_[0], n_[0] = 0, n
    while True:
        if n_[top] > 128:  # descend into the left half
            h = n_[top] // 2
            h -= h % 8
            lo_[top + 1], n_[top + 1], has_left[top + 1] = lo_[top], h, False
            top += 1
            continue
        val = _sum_leaf(a, lo_[top], n_[top], op)
        top -= 1
        while top >= 0 and has_left[top]:  # a right half is done: left + right, upwards
            val = left[top] + val
            top -= 1
        if top < 0:
            return val
        left[top], has_left[top] = val, True  # a left half is done: now its right half
        h = n_[top] // 2
        h -= h % 8
        lo_[top + 1], n_[top + 1], has_left[top + 1] = lo_[top] + h, n_[top] - h, False
        top += 1


@njit(**_JIT)
def _all_finite(x):
    """Whether every entry of the 1-D ``x`` is finite (``x - x`` is 0 for it, else NaN)."""
    z0 = z1 = z2 = z3 = 0.0
    n = x.shape[0]
    n4 = n - n % 4
    for j in range(0, n4, 4):
        z0 += x[j] - x[j]
        z1 += x[j + 1] - x[j + 1]
        z2 += x[j + 2] - x[j + 2]
        z3 += x[j + 3] - x[j + 3]
    for j in range(n4, n):
        z0 += x[j] - x[j]
    return (z0 + z1) + (z2 + z3) == 0.0


@njit(**_JIT)
def _max_abs(x):
    """``max |x_j|`` (0 for an empty row), or NaN if an entry is not finite."""
    m0 = m1 = m2 = m3 = 0.0
    z0 = z1 = z2 = z3 = 0.0
    n = x.shape[0]
    n4 = n - n % 4
    for j in range(0, n4, 4):
        m0 = max(m0, abs(x[j]))
        m1 = max(m1, abs(x[j + 1]))
        m2 = max(m2, abs(x[j + 2]))
        m3 = max(m3, abs(x[j + 3]))
        z0 += x[j] - x[j]
        z1 += x[j + 1] - x[j + 1]
        z2 += x[j + 2] - x[j + 2]
        z3 += x[j + 3] - x[j + 3]
    for j in range(n4, n):
        m0 = max(m0, abs(x[j]))
        z0 += x[j] - x[j]
    return max(max(m0, m1), max(m2, m3)) + ((z0 + z1) + (z2 + z3))


@intrinsic
def _bits(typingctx, x):
    """The IEEE bits of a float64 as an int64 (a bit cast, no conversion)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _float(typingctx, b):
    """The float64 whose IEEE bits are the int64 ``b``."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


# The per-coordinate functions below are branch-free (selects, bit casts, no libm calls),
# so that LLVM vectorizes the loops over a block; each computes exactly what the generic
# NumPy expression computes, IEEE operation for IEEE operation.


@njit(**_JIT)
def _block(x, o, s0, n):
    """``x[s0:s0+n]`` and ``o[s0:s0+n]``. The loops index these views from 0: an index
    ``s0 + j`` could be negative as far as Numba knows, and its wraparound check on every
    access kept LLVM from vectorizing the loop (about 4x slower)."""
    return x[s0:s0 + n], o[s0:s0 + n]


@njit(**_JIT)
def _sign(x):
    """``np.sign`` of a float: +-1, and +0 for +-0."""
    return (1.0 if x > 0.0 else 0.0) - (1.0 if x < 0.0 else 0.0)


@njit(**_JIT)
def _pow2(a, u):
    """``quantizers._round_to_powers_of_two`` for one ``a >= 0`` and its uniform ``u``:
    ``m, e = frexp(a)``; ``low = ldexp(1, e - 1)``; ``where(u < 2 m - 1, 2 low, low) * (a > 0)``.

    From the bits: for a normal ``a``, ``low`` is ``a`` with the mantissa cleared and ``m``
    is ``a`` with the exponent of 0.5. A subnormal ``a`` is first scaled by 2^54 (exactly;
    m does not change) and ``low`` scaled back. For ``a = 0`` this gives m = 0.5 and low = 0
    where frexp gives m = 0 and low = 0.5; both end in ``0 * (a > 0) = 0``.
    """
    sub = a < 2.2250738585072014e-308  # zero or subnormal
    b = _bits(a * 18014398509481984.0 if sub else a)  # * 2^54
    m = _float((b & 0x000FFFFFFFFFFFFF) | 0x3FE0000000000000)
    low = _float(b & 0x7FF0000000000000)
    low = low * 5.551115123125783e-17 if sub else low  # * 2^-54
    q = 2.0 * low if u < 2.0 * m - 1.0 else low
    return q * (1.0 if a > 0.0 else 0.0)


@njit(**_JIT)
def _dithering(x, o, u, s0, r, s):
    """``StandardDithering``: ``sign(v) * r * (level / s)``."""
    r1, nz = (r, 1.0) if r != 0.0 else (1.0, 0.0)
    x, o = _block(x, o, s0, u.shape[0])
    for j in range(u.shape[0]):
        xj = x[j]
        y = min((abs(xj) / r1) * nz, 1.0)  # minimum(safe_divide(|v|, r), 1): |v| / 1 * 0 is 0
        sy = s * y
        low = np.floor(sy)
        level = low + (1.0 if u[j] < sy - low else 0.0)  # two_point(low, low + 1, sy - low, u)
        o[j] = (_sign(xj) * r) * (level / s)


@njit(**_JIT)
def _natural(x, o, u, s0):
    """``NaturalCompression``: ``sign(v) * pow2(|v|)``."""
    x, o = _block(x, o, s0, u.shape[0])
    for j in range(u.shape[0]):
        xj = x[j]
        o[j] = _sign(xj) * _pow2(abs(xj), u[j])


@njit(**_JIT)
def _natural_dithering(x, o, u, s0, r, bottom):
    """``NaturalDithering``: ``sign(v) * r * where(y < bottom, two_point(0, bottom, y / bottom), pow2(y))``."""
    r1, nz = (r, 1.0) if r != 0.0 else (1.0, 0.0)
    x, o = _block(x, o, s0, u.shape[0])
    for j in range(u.shape[0]):
        xj = x[j]
        y = min((abs(xj) / r1) * nz, 1.0)
        small = bottom if u[j] < y / bottom else 0.0
        level = small if y < bottom else _pow2(y, u[j])
        o[j] = (_sign(xj) * r) * level


@njit(**_JIT)
def _one_bit(x, o, u, s0, r):
    """``correlated._one_bit`` (IQ): ``where(u < safe_divide(v + R, 2 R), R, -R)``.
    For R = 0 the quotient below is +-0 instead of 0; ``u < y`` is false for both."""
    two_r = 2.0 * r
    t1, nz = (two_r, 1.0) if two_r != 0.0 else (1.0, 0.0)
    x, o = _block(x, o, s0, u.shape[0])
    for j in range(u.shape[0]):
        y = ((x[j] + r) / t1) * nz
        o[j] = r if u[j] < y else -r


@njit(**_JIT)
def quantize(v, rng, kind, norm, s, out, block):
    """Quantize ``v`` (R, M, d), C-contiguous float64, into ``out`` (same shape).

    ``s``: the levels of DITHERING and NATURAL_DITHERING; ``block``: columns drawn at a
    time (any value gives the same numbers). Returns False, before drawing anything or
    writing ``out``, if ``v`` has a NaN or an inf.
    """
    R, M, d = v.shape
    r = np.zeros((R, M))
    for i in range(R):
        for m in range(M):
            row = v[i, m]
            if norm == L2:
                sq = _pairwise_sum(row, SQUARES)  # finite unless an entry is not (or it overflows)
                if not math.isfinite(sq) and not _all_finite(row):
                    return False
                r[i, m] = math.sqrt(sq)
            elif norm == LINF:
                r[i, m] = _max_abs(row)  # + 0, or NaN
                if not math.isfinite(r[i, m]):
                    return False
            elif not _all_finite(row):
                return False
    bottom = 2.0 ** (1 - s)
    B = max(1, min(block, d))
    ubuf = np.empty(B)
    for m in range(M):
        for s0 in range(0, d, B):
            u = ubuf[: min(B, d - s0)]
            for j in range(u.shape[0]):
                u[j] = rng.random()
            for i in range(R):
                x, o, ri = v[i, m], out[i, m], r[i, m]
                if kind == DITHERING:
                    _dithering(x, o, u, s0, ri, s)
                elif kind == NATURAL:
                    _natural(x, o, u, s0)
                elif kind == NATURAL_DITHERING:
                    _natural_dithering(x, o, u, s0, ri, bottom)
                else:
                    _one_bit(x, o, u, s0, ri)
    return True


# --- the Walsh-Hadamard transform of DRIVE ----------------------------------------------------

#: Entries of a row transformed together through the first levels (128 KiB: stays in L2;
#: the ``block`` argument of :func:`fwht_rows`).
FWHT_BLOCK = 1 << 14


@njit(**_JIT)
def _butterfly2(row, lo, hi, h):
    """Levels h and 2h of the transform on ``row[lo:hi]`` (a multiple of 4h long):
    ``(a, b, c, d) -> ((a+b)+(c+d), (a-b)+(c-d), (a+b)-(c+d), (a-b)-(c-d))``, the very
    operations of level h followed by level 2h. Quarter views, so that the inner index is
    a plain non-negative range (about 3x faster than ``row[j + h]``)."""
    for i in range(lo, hi, 4 * h):
        A, B, C, E = row[i:i + h], row[i + h:i + 2 * h], row[i + 2 * h:i + 3 * h], row[i + 3 * h:i + 4 * h]
        for j in range(h):
            p, q, r, s = A[j] + B[j], A[j] - B[j], C[j] + E[j], C[j] - E[j]
            A[j], B[j], C[j], E[j] = p + r, q + s, p - r, q - s


@njit(**_JIT)
def _butterfly1(row, lo, hi, h):
    """Level h alone on ``row[lo:hi]``: ``(a, b) -> (a + b, a - b)``."""
    for i in range(lo, hi, 2 * h):
        A, B = row[i:i + h], row[i + h:i + 2 * h]
        for j in range(h):
            a, b = A[j], B[j]
            A[j], B[j] = a + b, a - b


@njit(**_JIT)
def _first3(row, lo, hi):
    """Levels 1, 2 and 4 on ``row[lo:hi]`` (a multiple of 8 long), eight entries at a time
    (the same operations as :func:`_butterfly1` three times)."""
    for i in range(lo, hi, 8):
        x0, x1, x2, x3 = row[i], row[i + 1], row[i + 2], row[i + 3]
        x4, x5, x6, x7 = row[i + 4], row[i + 5], row[i + 6], row[i + 7]
        a0, a1, a2, a3, a4, a5, a6, a7 = x0 + x1, x0 - x1, x2 + x3, x2 - x3, x4 + x5, x4 - x5, x6 + x7, x6 - x7
        b0, b2, b1, b3, b4, b6, b5, b7 = a0 + a2, a0 - a2, a1 + a3, a1 - a3, a4 + a6, a4 - a6, a5 + a7, a5 - a7
        row[i], row[i + 4], row[i + 1], row[i + 5] = b0 + b4, b0 - b4, b1 + b5, b1 - b5
        row[i + 2], row[i + 6], row[i + 3], row[i + 7] = b2 + b6, b2 - b6, b3 + b7, b3 - b7


@njit(**_JIT)
def _levels(row, lo, hi, h, top):
    """Levels h, 2h, ... < top on ``row[lo:hi]``, two at a time."""
    while h < top:
        if 2 * h < top:
            _butterfly2(row, lo, hi, h)
            h *= 4
        else:
            _butterfly1(row, lo, hi, h)
            h *= 2


@njit(**_JIT)
def fwht_rows(z, scale, block):
    """In place, every row of ``z`` (n, D), D = 2^t: ``H z / scale``, H the Sylvester
    Hadamard matrix; with the operations (and so the bits) of the level-by-level
    butterflies of ``rotation.fwht``, then the division. Levels below ``block`` (a power of
    two) run block by block (in cache; the division too when D <= block), the others over
    the whole row, two levels per pass."""
    n, D = z.shape
    B = min(D, block)
    for k in range(n):
        row = z[k]
        for lo in range(0, D, B):
            if B >= 8:
                _first3(row, lo, lo + B)
                _levels(row, lo, lo + B, 8, B)
            else:
                _levels(row, lo, lo + B, 1, B)
            if B == D:
                for j in range(D):
                    row[j] = row[j] / scale
        if B < D:
            _levels(row, 0, D, B, D)
            for j in range(D):
                row[j] = row[j] / scale


@njit(**_JIT)
def drive_hadamard(v, s, out, block):
    """DRIVE with the randomized Hadamard rotation (``rotation.Drive.compress``), one row at
    a time in one buffer of length D, into ``out`` (R, M, d).

    ``v`` (R, M, d) C-contiguous float64; ``s`` (M, D) the Rademacher signs as +-1.0, D the
    power of two >= d. Per row x: ``z = H (s x) / sqrt(D)`` (x zero-padded; the padding is
    ``0 * s``, signed zeros included, as the generic ``a * s``), ``S = ||z||_2^2 / ||z||_1``
    (0 if ``z = 0``; both norms NumPy's pairwise sums), ``x_hat = s H (S sign(z)) / sqrt(D)``
    cut to d, with ``-S`` where ``z < 0``. The generic path's operations in its order, so
    its bits; none of its six (R, M, D) temporaries.
    """
    R, M, d = v.shape
    D = s.shape[1]
    scale = math.sqrt(D)
    buf = np.empty((1, D))
    z = buf[0]
    for i in range(R):
        for m in range(M):
            x, sm = v[i, m], s[m]
            for j in range(d):
                z[j] = x[j] * sm[j]
            for j in range(d, D):
                z[j] = 0.0 * sm[j]
            fwht_rows(buf, scale, block)
            l1 = _pairwise_sum(z, ABSOLUTES)
            l2sq = _pairwise_sum(z, SQUARES)
            S = l2sq / l1 if l1 > 0.0 else 0.0
            for j in range(D):
                z[j] = -S if z[j] < 0.0 else S
            fwht_rows(buf, scale, block)
            o = out[i, m]
            for j in range(d):
                o[j] = sm[j] * z[j]


@njit(**_JIT)
def floyd_subsets(rng, n_sets, d, k):  # pragma: no cover - compiled
    """``n_sets`` uniform k-subsets of ``range(d)``, shape (n_sets, k): Floyd's algorithm,
    step ``j`` drawing ``t = rng.integers(0, d - k + j + 1, size=n_sets)`` for every set
    at once and keeping ``d - k + j`` where ``t`` is already in the set.

    Rand-k's sampler for small k (:func:`~gradcomp.compressors.randk.sample_subsets`), as
    the NumPy loop it replaces drew it: Numba's ``Generator.integers`` takes NumPy's
    bounded draw on the same bit generator, so the subsets and the stream afterwards are
    NumPy's (tests/test_compressor_speed_paths.py). One call instead of three or four NumPy
    calls per coordinate (w8a, k = 6: 102 -> 20 us per round).
    """
    S = np.empty((n_sets, k), dtype=np.int64)
    for j in range(k):
        top = d - k + j
        t = rng.integers(0, top + 1, size=n_sets)
        for i in range(n_sets):
            v = t[i]
            for q in range(j):
                if S[i, q] == v:
                    v = top
                    break
            S[i, j] = v
    return S
