"""Numba kernels of Spherical Compression (:mod:`.spherical`): the candidate generator, the
first-hit search and the decoder.

**The candidate generator.** Candidate t = 1, 2, ... of a client with seed s is
``y_t = sqrt(1 - alpha) g_t / ||g_t||`` with ``g_t`` in R^d, coordinate j of which is one
standard normal from two outputs of the SplitMix64 sequence seeded with s (Steele, Lea and
Flood 2014; the state advances by the golden-ratio increment G = 0x9E3779B97F4A7C15 and
output i is ``mix(s + (i + 1) G)``): with ``i = 2 ((t - 1) d + j)``,

    a = mix(s + (i + 1) G),  b = mix(s + (i + 2) G)          (uint64, wrapping)
    u1 = ((a >> 11) + 1) 2^-53  in (0, 1],   u2 = (b >> 11) 2^-53  in [0, 1)
    g_tj = sqrt(-2 log u1) cos(2 pi u2)                        (Box-Muller)

Counter-based, so any coordinate of any candidate costs O(1) and the decoder rebuilds
``y_T`` from (s, T) alone in O(d), and the encoder may compute a candidate's coordinates
in any order. (u1 has 53 random bits, so |g| <= sqrt(2 * 53 ln 2) = 8.57: the normal's
tail beyond that, probability 1e-17, is cut.)

**The search** (:func:`search`). For the unit direction e of x, candidate t hits when
``||y_t - e||^2 <= alpha``, i.e. ``<g, e> >= c ||g||`` with c = sqrt(1 - alpha). Most
candidates are rejected after a few coordinates: they are computed in decreasing order of
|e_j|, and after m of them, with partial dot A_m, partial squared norm Q_m and remaining
mass r_m^2 = sum of the e_j^2 not yet visited, Cauchy-Schwarz on the rest (at most
sqrt(R) r_m of dot for R of squared norm) gives, when r_m^2 < c^2,

    max over completions of <g, e> - c ||g||  =  A_m - sqrt(Q_m (c^2 - r_m^2)),

so the candidate cannot hit if A_m < sqrt(Q_m (c^2 - r_m^2)). The test runs with c^2
lowered by a relative 2e-9 and r_m^2 raised by 1e-12, far above the rounding error of
these sums (about d 2^-53), so rounding never rejects a true hit. Where the test applies
and A_m <= 0, a coordinate whose sign (that of cos(2 pi u2), known from u2 alone) is
surely opposite to e_j's keeps A negative, so it rejects before the log and the cosine
are computed. A surviving candidate is
confirmed by the decoder's own computation (:func:`_candidate`, then
``sum((y - e)^2) <= alpha``), so T is the first t whose decoded y_t passes that exact
float test, and encoder and decoder agree bit for bit.

No ``fastmath`` (no reassociation, no FMA contraction), and the decoder and the confirming
step call the same function. Compiled on first use (a few seconds), cached on disk like
:mod:`.kernels`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_JIT = dict(cache=True, error_model="numpy", boundscheck=False)

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_ONE, _TWO = np.uint64(1), np.uint64(2)
_INV53 = 1.0 / 9007199254740992.0  # 2^-53
_TWO_PI = 2.0 * math.pi
# cos(2 pi u2) < 0 surely for u2 in (_NEG_LO, _NEG_HI), > 0 for u2 outside [_POS_LO, _POS_HI]
# (margins far above the rounding of 2 pi u2 and of cos near its zeros)
_NEG_LO, _NEG_HI = 0.25 + 1e-9, 0.75 - 1e-9
_POS_LO, _POS_HI = 0.25 - 1e-9, 0.75 + 1e-9

#: c^2 is lowered by this relative amount in the pruning test (see the module docstring)
PRUNE_REL_MARGIN = 2e-9
#: and the remaining mass r_m^2 raised by this much
PRUNE_TAIL_MARGIN = 1e-12


@njit(**_JIT)
def _mix(z):
    """SplitMix64's output function (a bijection of uint64)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(**_JIT)
def _counter(t, j, d):
    """i = 2((t - 1) d + j): the SplitMix64 outputs i and i + 1 make coordinate j of g_t."""
    return _TWO * (np.uint64(t - 1) * np.uint64(d) + np.uint64(j))


@njit(**_JIT)
def _angle(s, i):
    """u2, the Box-Muller angle's uniform in [0, 1)."""
    return float(_mix(s + (i + _TWO) * GOLDEN) >> _S11) * _INV53


@njit(**_JIT)
def _normal_at(s, i, u2):
    u1 = float((_mix(s + (i + _ONE) * GOLDEN) >> _S11) + _ONE) * _INV53
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(_TWO_PI * u2)


@njit(**_JIT)
def _normal(s, t, j, d):
    """Coordinate j of g_t for seed s (see the module docstring)."""
    i = _counter(t, j, d)
    return _normal_at(s, i, _angle(s, i))


@njit(**_JIT)
def _candidate(s, t, d, c, y):
    """y_t = c g_t / ||g_t|| into ``y``, as the decoder builds it."""
    q = 0.0
    for j in range(d):
        g = _normal(s, t, j, d)
        y[j] = g
        q += g * g
    scale = c / math.sqrt(q)
    for j in range(d):
        y[j] = y[j] * scale


@njit(**_JIT)
def _hits(s, t, e, d, c, alpha, y):
    """The exact test on the decoded candidate: ``sum((y_t - e)^2) <= alpha``."""
    _candidate(s, t, d, c, y)
    err = 0.0
    for j in range(d):
        diff = y[j] - e[j]
        err += diff * diff
    return err <= alpha


@njit(**_JIT)
def generate(seeds, T, d, c, out):
    """``out[r] = y_{T[r]}`` of seed ``seeds[r]`` (unit-less: times ||x|| outside)."""
    for r in range(seeds.shape[0]):
        _candidate(seeds[r], T[r], d, c, out[r])


@njit(**_JIT)
def search(E, seeds, alpha, prune, t_max, T, draws):
    """First hit per row: ``T[r]`` = the first t with ``||y_t - E[r]||^2 <= alpha`` for the
    seed ``seeds[r]`` (rows of E unit vectors; a zero row gets T = 1, decoded times 0).

    ``prune``: the Cauchy-Schwarz early rejection (off: every coordinate of every
    candidate, for timing). ``draws[r]``: the coordinates computed for row r. Returns
    False if a row passed ``t_max`` candidates without a hit (its T is then 0).
    """
    R, d = E.shape
    c = math.sqrt(1.0 - alpha)
    c2_low = (1.0 - alpha) * (1.0 - PRUNE_REL_MARGIN)
    es = np.empty(d)
    kappa = np.empty(d)
    y = np.empty(d)
    ok = True
    for r in range(R):
        e = E[r]
        zero = True
        for j in range(d):
            if e[j] != 0.0:
                zero = False
        if zero:
            T[r] = 1
            draws[r] = 0
            continue
        order = np.argsort(-np.abs(e))
        for i in range(d):
            es[i] = e[order[i]]
        # kappa[i] = c^2 - (mass after coordinate i): pruning after i + 1 coordinates needs kappa[i] > 0
        rest = 0.0
        for i in range(d - 1, -1, -1):
            kappa[i] = c2_low - (rest + PRUNE_TAIL_MARGIN)
            rest += es[i] * es[i]
        s = seeds[r]
        n = 0
        T[r] = 0
        for t in range(1, t_max + 1):
            A = 0.0
            Q = 0.0
            alive = True
            if prune:
                for i in range(d):
                    ic = _counter(t, order[i], d)
                    u2 = _angle(s, ic)
                    n += 1
                    k = kappa[i]
                    if k > 0.0 and A <= 0.0:
                        # the sign of g = R cos(2 pi u2) needs u2 only (R >= 0): when it is
                        # surely opposite to e's here, A stays negative, which the test
                        # below rejects; skip the log and the cosine
                        if es[i] > 0.0:
                            if _NEG_LO < u2 < _NEG_HI:
                                alive = False
                                break
                        elif u2 < _POS_LO or u2 > _POS_HI:
                            alive = False
                            break
                    g = _normal_at(s, ic, u2)
                    A += g * es[i]
                    Q += g * g
                    if k > 0.0 and (A < 0.0 or A * A < Q * k):
                        alive = False
                        break
            else:
                for i in range(d):
                    g = _normal(s, t, order[i], d)
                    A += g * es[i]
                    Q += g * g
                n += d
                alive = A >= 0.0 and A * A >= Q * c2_low
            if alive and _hits(s, t, e, d, c, alpha, y):
                T[r] = t
                break
        draws[r] = n
        if T[r] == 0:
            ok = False
    return ok
