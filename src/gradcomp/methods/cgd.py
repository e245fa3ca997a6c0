"""Compressed gradient descent with any compressor, biased or unbiased (paper oc's poster,
Proposition 1, after Beznosikov, Horváth, Richtárik and Safaryan 2020, arXiv 2002.12410):

.. math:: x^{t+1} = x^t - \\gamma \\frac1M \\sum_{m=1}^M C(\\nabla f_m(x^t))

It is DCGD without a shift, but it also takes the contractive (biased) compressors, for
which the theory holds on one node (M = 1): with C in B(alpha), i.e.
E||C(x) - x||^2 <= alpha ||x||^2, and gamma = 1/L,
f(x^+) <= f(x) - (1 - alpha)/(2L) ||grad f(x)||^2, so CGD needs 1/(1 - alpha) times the
iterations of GD; with Q in U(omega) and gamma = 1/((1 + omega) L), 1 + omega times.
With M > 1 and a biased compressor there is no such guarantee (Beznosikov et al. give a
divergent example).
"""

from __future__ import annotations

from .base import METHODS, stepsize_rule
from .dcgd import DCGD


@METHODS.register("cgd")
class CGD(DCGD):
    needs = "contractive"

    def bound(self, steps, dist0):
        """None: Proposition 1 bounds the decrease of f, not ||x^k - x*||^2."""
        return None


@stepsize_rule("cgd")
def gamma_cgd(c, q, m) -> float:
    """Proposition 1's stepsizes: ``1/L`` for C in B(alpha) (contractive), ``1/((1 + omega) L)``
    for Q in U(omega), i.e. ``1/L`` for the scaled Q/(1 + omega) in B(omega/(1 + omega))."""
    omega = q.client_omega
    return 1.0 / (c.L * (1.0 if omega is None else 1.0 + omega))
