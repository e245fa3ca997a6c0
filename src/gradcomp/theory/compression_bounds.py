"""Lower bounds on the error of b-bit compressors, for paper oc's bits-versus-error figure.

* The uncertainty principle (Safaryan, Shulgin and Richtárik 2020), the bound paper oc
  improves on: a compressor of b bits in R^d with E||C(x) - x||^2 <= eps ||x||^2 for all
  x has eps 4^(b/d) >= 1. For an unbiased one, the scaled C/(omega + 1) has
  eps = omega/(omega + 1).
* An average-case bound (our derivation, a reconstruction of paper oc's: spec part B):
  for x uniform on the sphere S^{d-1} and any encoder of b bits (shared randomness
  allowed: the bound holds for every value of it), the decoder has at most N = 2^b
  outputs y_j, and {x : ||x - y||^2 <= eps} is at most a spherical cap with
  cos(angle) = sqrt(1 - eps) (attained by y = sqrt(1 - eps) e). So
  P(error <= eps) <= N P_cap(eps) and E error >= int_0^1 max(0, 1 - N P_cap(eps)) deps,
  with P_cap(eps) = I_eps((d-1)/2, 1/2) / 2 (a regularised incomplete beta).
  Since x/||x|| of a Gaussian x is uniform on the sphere, this bounds the normalized
  error on Gaussian inputs too (knowing ||x|| for free only helps the encoder).
* Spherical Compression's exact error with N codewords and the best scale on the chosen
  line (double caps, as it picks the largest |<u_j, x>|):
  int_0^1 (1 - I_eps((d-1)/2, 1/2))^N deps.
"""

from __future__ import annotations

import math

import numpy as np


def uncertainty_bound(bits_per_coordinate):
    """``4^(-b/d)``: the smallest normalized error a b-bit compressor can have (worst case)."""
    return np.power(4.0, -np.asarray(bits_per_coordinate, dtype=float))


def _log_betainc(a: float, x: float) -> float:
    """log I_x(a, 1/2), accurate where I underflows (small x)."""
    from scipy import special

    if x <= 0:
        return -math.inf
    if x >= 0.5:
        return math.log(special.betainc(a, 0.5, x))
    # I_x(a, b) = x^a (1-x)^b / (a B(a, b)) 2F1(a + b, 1; a + 1; x)
    return (a * math.log(x) + 0.5 * math.log1p(-x) - math.log(a) - special.betaln(a, 0.5)
            + math.log(special.hyp2f1(a + 0.5, 1.0, a + 1.0, x)))


def average_case_bound(bits: float, d: int) -> float:
    """The average-case bound above for ``bits`` total bits in dimension ``d``."""
    from scipy import integrate, optimize

    if d == 1:
        return 0.0 if bits >= 1 else 0.5  # sign known with one bit; else one output for +-1
    a = (d - 1) / 2.0
    log_n = bits * math.log(2.0)

    def g(eps):  # log(N P_cap(eps))
        return log_n + math.log(0.5) + _log_betainc(a, eps)

    hi = 1.0
    if g(hi) > 0:
        hi = optimize.brentq(g, 1e-300, 1.0, xtol=1e-300, rtol=1e-13, maxiter=500)
    # the integrand 1 - exp(g) falls from 1 to 0 on [0, hi]; integrate in log eps near 0
    val, _ = integrate.quad(lambda e: 1.0 - math.exp(min(g(e), 0.0)), 0.0, hi, limit=200, points=[hi * 0.5])
    return float(val)


def spherical_error(bits_index: int, d: int) -> float:
    """Spherical Compression's exact normalized error with 2^bits_index codewords."""
    from ..compressors.optimal import spherical_delta

    return 1.0 - spherical_delta(d, 2**bits_index)
