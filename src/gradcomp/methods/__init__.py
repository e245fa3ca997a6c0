"""Methods of the rr paper, built from a ``method`` config node.

Every method is (sampler, update rule, theoretical stepsize); :func:`build` wires them.
"""

from __future__ import annotations

from ..theory.stepsizes import RULES, diana_alpha
from .dcgd import DCGD
from .diana import Diana
from .loop import ACTIVE, DIVERGED, STOPPED, Trace, optimize
from .samplers import Reshuffling, WithReplacement

__all__ = ["ACTIVE", "DIVERGED", "STOPPED", "Trace", "build", "optimize"]


def build(mcfg, prob, constants, omega: float, R: int, rng_sampling):
    """Returns ``(method, sampler, gamma_theory)`` for config node ``mcfg``."""
    n = constants.n_steps
    alpha = None
    if mcfg["algorithm"] == "dcgd":
        method = DCGD(R, prob.M, prob.d)
    elif mcfg["algorithm"] == "diana":
        alpha = diana_alpha(float(mcfg["alpha_scale"]), omega)
        n_shifts = n if mcfg["shifts"] == "slot" else 1
        method = Diana(R, prob.M, prob.d, alpha=alpha, n_shifts=n_shifts)
    else:
        raise ValueError(f"unknown algorithm {mcfg['algorithm']!r}")

    if mcfg["sampling"] == "with_replacement":
        if mcfg["shifts"] == "slot":
            raise ValueError("per-slot shifts need sampling=rr")
        sampler = WithReplacement(prob, constants.b_m, rng_sampling)
    else:
        if mcfg["reshuffle"] not in ("once", "every_epoch"):
            raise ValueError("sampling=rr needs reshuffle=once or every_epoch")
        sampler = Reshuffling(prob, constants.b_m, n, rng_sampling,
                              every_epoch=mcfg["reshuffle"] == "every_epoch")
    gamma = RULES[mcfg["stepsize_rule"]](constants, omega, alpha)
    return method, sampler, gamma
