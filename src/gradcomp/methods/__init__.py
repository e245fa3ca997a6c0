"""Methods of the rr paper, built from a ``method`` config node.

Every method is (sampler, update rule, theoretical stepsize); :func:`build` wires them.
"""

from __future__ import annotations

from ..config import is_local
from ..theory.stepsizes import LOCAL_RULES, RULES, diana_alpha
from .dcgd import DCGD
from .diana import Diana
from .ef21 import EF21
from .local import LocalMethod
from .loop import ACTIVE, DIVERGED, STOPPED, Trace, optimize
from .samplers import Reshuffling, WithReplacement

__all__ = ["ACTIVE", "DIVERGED", "STOPPED", "LocalMethod", "Trace", "build", "optimize"]


def build(mcfg, prob, constants, omega: float, R: int, rng_sampling):
    """Returns ``(method, sampler, gamma_theory, eta_theory)`` for config node ``mcfg``.

    ``eta_theory`` is the server stepsize of a local method, None for the others.
    """
    n = constants.n_steps
    alpha = None
    local = is_local(mcfg)
    if local and mcfg["shifts"] not in ("none", "client"):
        raise ValueError("local methods take shifts=none or shifts=client (one DIANA shift per client)")
    if not local and mcfg.get("local_gradient_at") is not None:
        raise ValueError("local_gradient_at applies to local methods only")
    if mcfg["algorithm"] == "dcgd":
        method = DCGD(R, prob.M, prob.d)
    elif mcfg["algorithm"] == "diana":
        alpha = diana_alpha(float(mcfg["alpha_scale"]), omega)
        n_shifts = n if mcfg["shifts"] == "slot" else 1
        method = Diana(R, prob.M, prob.d, alpha=alpha, n_shifts=n_shifts)
    elif mcfg["algorithm"] == "ef21":
        method = EF21(R, prob.M, prob.d, omega)
    elif local:
        if mcfg["shifts"] == "client":
            alpha = diana_alpha(float(mcfg["alpha_scale"]), omega)
        if mcfg.get("local_gradient_at") not in ("server", "local_iterate"):
            raise ValueError("local methods need local_gradient_at=server or local_iterate")
        method = LocalMethod(R, prob.M, prob.d, local_steps=n, message=mcfg["algorithm"],
                             at_local_iterate=mcfg["local_gradient_at"] == "local_iterate", alpha=alpha)
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
    rule = mcfg["stepsize_rule"]
    if local:
        if rule not in LOCAL_RULES:
            raise ValueError(f"stepsize_rule={rule!r} is not a local-method rule; valid: {', '.join(LOCAL_RULES)}")
        gamma, eta = LOCAL_RULES[rule](constants, omega, alpha)
        return method, sampler, gamma, eta
    if rule not in RULES:
        raise ValueError(f"stepsize_rule={rule!r} is not a one-stepsize rule; valid: {', '.join(RULES)}")
    return method, sampler, RULES[rule](constants, omega, alpha), None
