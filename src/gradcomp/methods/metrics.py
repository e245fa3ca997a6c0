"""What a run records at each record point (``run.metrics``), per live replica.

Each metric is declared once with ``@metric(name, label)``: a function of the problem, the
iterates ``X`` (R, d) and the problem's solution. The divergence and stopping tests of the
loop read ``f_gap`` and ``dist_sq``; figures derive the relative error ``dist_sq_rel`` and
the axes from the trace (:mod:`gradcomp.report.axes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..registry import Registry

#: Every metric a run can record, by name.
METRICS = Registry("metric")
#: What ``run.metrics: null`` records (the rr runs).
DEFAULT_METRICS = ("f_gap", "dist_sq")


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    fn: Callable
    #: reads x* or f*: only for a problem that knows them (``has_solution``)
    needs_solution: bool = True


def metric(name: str, label: str, needs_solution: bool = True):
    def deco(fn):
        METRICS.register(name, Metric(name, label, fn, needs_solution))
        return fn

    return deco


@metric("f_gap", "$f(x_t) - f(x_*)$")
def f_gap(prob, X, x_star, f_star):
    return prob.loss(X) - f_star


@metric("dist_sq", "$\\|x_t - x_*\\|^2$")
def dist_sq(prob, X, x_star, f_star):
    return np.sum((X - x_star) ** 2, axis=1)


@metric("grad_norm_sq", "$\\|\\nabla f(x_t)\\|^2$", needs_solution=False)
def grad_norm_sq(prob, X, x_star, f_star):
    G = prob.grads(X)
    return np.einsum("rd,rd->r", G, G)


def recorded(run_cfg: dict) -> tuple[str, ...]:
    """The metrics a run config records, in order."""
    names = run_cfg.get("metrics")
    return DEFAULT_METRICS if names is None else tuple(names)
