"""Compressed methods, one module per family; :mod:`.base` holds the protocol.

``METHODS[algorithm]`` is the class a ``method.algorithm`` selects, ``RULES[name]`` the
theoretical stepsize a ``method.stepsize_rule`` names and ``SAMPLERS[name]`` the
minibatches of ``method.sampling``; :func:`build` wires them for one run.
"""

from __future__ import annotations

import numpy as np

from .base import METHODS, NEEDS, RULES, STEP_AXES, Method, Setup, refusal, replica_steps, stepsize_rule
from .loop import ACTIVE, DIVERGED, STOPPED, Trace, optimize
from .metrics import DEFAULT_METRICS, METRICS, recorded
from .samplers import SAMPLERS, build_sampler

__all__ = ["ACTIVE", "DEFAULT_METRICS", "DIVERGED", "METHODS", "METRICS", "Method", "NEEDS", "RULES",
           "SAMPLERS", "STEP_AXES", "STOPPED", "Setup", "Trace", "build", "optimize", "recorded", "refusal",
           "replica_steps", "stepsize_rule"]


def build(mcfg: dict, prob, constants, compressor, R: int, *, rng_sampling: np.random.Generator,
          rng: np.random.Generator, x0: np.ndarray, x_star=None, seed: int = 0,
          bits_per_float: int = 32, xp=None) -> tuple[Method, dict[str, float]]:
    """``(method, theory)`` for the method config node ``mcfg``: the method over R replicas
    and its theoretical stepsize per axis (``method.stepsize_rule``); ``xp``: the array
    namespace its compressor runs in (None: NumPy; see :meth:`Method.send`)."""
    cls = METHODS[str(mcfg["algorithm"])]
    sampler = build_sampler(mcfg, prob, constants, rng_sampling)
    setup = Setup(cfg=mcfg, problem=prob, constants=constants, compressor=compressor, sampler=sampler,
                  rng=rng, R=R, x0=np.asarray(x0, dtype=np.float64), x_star=x_star, seed=seed,
                  bits_per_float=bits_per_float, xp=xp)
    method = cls(setup)
    theory = RULES[str(mcfg["stepsize_rule"])](constants, compressor, method)
    return method, theory
