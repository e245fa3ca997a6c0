"""What a figure can put on its axes, declared once: x axes and y metrics read off a trace.

x axes (``figure.x``): ``passes`` (data passes), ``rounds`` (communication rounds),
``bits`` (cumulative uplink bits per client, the mean over clients) and ``bits_total``
(the same summed over the M clients). y metrics (``figure.y``): every metric a run
records (:mod:`gradcomp.methods.metrics`: ``f_gap``, ``dist_sq``, ``grad_norm_sq``) and the
derived ``dist_sq_rel``, ``||x_t - x*||^2 / ||x_0 - x*||^2``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..registry import Registry

X_AXES = Registry("figure x axis")
DERIVED = Registry("derived metric")


@dataclass(frozen=True)
class XAxis:
    name: str
    column: str            # the CSV column
    fn: Callable           # (trace, info) -> (T,)


def x_axis(name: str, column: str):
    def deco(fn):
        X_AXES.register(name, XAxis(name, column, fn))
        return fn

    return deco


@x_axis("passes", "data_passes")
def _passes(tr, info):
    return tr["passes"]


@x_axis("rounds", "rounds")
def _rounds(tr, info):
    return tr["rounds"]


@x_axis("bits", "bits_per_client")
def _bits(tr, info):
    return tr["bits"]


@x_axis("bits_total", "bits_total")
def _bits_total(tr, info):
    return tr["bits"] * info["M"]


@x_axis("bytes_total", "bytes_total")
def _bytes_total(tr, info):
    return tr["bits"] * info["M"] / 8.0


def derived(name: str):
    def deco(fn):
        DERIVED.register(name, fn)
        return fn

    return deco


@derived("dist_sq_rel")
def _dist_sq_rel(tr):
    """||x_t - x*||^2 / ||x_0 - x*||^2: the first record is x_0 for every replica."""
    d = np.asarray(tr["dist_sq"], dtype=float)
    return d / d[:1]


def y_values(tr: dict, name: str) -> np.ndarray:
    """The (T, R) values of metric ``name``: recorded, or derived from what is."""
    if name in tr:
        return np.asarray(tr[name], dtype=float)
    return DERIVED[name](tr)


def x_values(tr: dict, info: dict, name: str) -> np.ndarray:
    return np.asarray(X_AXES[name].fn(tr, info), dtype=float)
