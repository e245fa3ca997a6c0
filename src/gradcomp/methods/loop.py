"""The optimisation loop shared by every method: rounds, replicas, metrics, freezing.

One call runs R replicas (a stepsize grid) on common random numbers: the same minibatches
and the same compressor draws for every replica, so a 23-point grid costs one sparse
product with 23 right-hand sides per round instead of 23 runs. The loop knows nothing of
the method but its protocol (:class:`~gradcomp.methods.base.Method`): its stepsize axes,
the axes that do not move its iterates, and one round at a time.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from .metrics import DEFAULT_METRICS, METRICS

ACTIVE, STOPPED, DIVERGED = 0, 1, 2


class Trace(dict):
    """The recorded arrays, by name (also as attributes), in the order they are stored.

    ``passes``, ``rounds``, ``bits`` (T,): data passes, communication rounds and cumulative
    uplink bits per client (mean over clients) at each record (and at the start). Each
    metric (``f_gap``, ``dist_sq``, ...) has shape (T, R); after a replica stops (reached a
    stopping tolerance) or diverges, its later entries are NaN. ``status`` holds
    ACTIVE/STOPPED/DIVERGED and ``event`` the record index where that happened (-1).
    Stepsizes: the first axis as ``gamma`` and ``multipliers`` (R,), every other axis ``a``
    as ``a`` and ``a_multipliers``; a method with several axes also records which distinct
    trajectory each replica follows (``trajectory``; replicas that differ only in an axis
    that does not move the iterates share one). ``bound_rate`` and ``bound_floor`` (R,):
    the method's theorem bound ``rate^k + floor`` on the relative error, where it has one.
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def arrays(self) -> dict:
        return dict(self)


def step_keys(axes: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """``(axis, value key, multiplier key)`` of each stepsize axis in a trace."""
    return [(a, a, "multipliers" if i == 0 else f"{a}_multipliers") for i, a in enumerate(axes)]


def optimize(method, *, x0: np.ndarray, steps: dict[str, np.ndarray], multipliers: dict[str, np.ndarray],
             x_star: np.ndarray, f_star: float, epochs: int, record_every: int,
             stop_dist_sq: Optional[float] = None, stop_rel_dist_sq: Optional[float] = None,
             diverge_factor: float = 1e4, metrics: tuple[str, ...] = DEFAULT_METRICS,
             progress: Optional[Callable[[float], None]] = None, max_bits: Optional[float] = None) -> Trace:
    """Run ``method`` until ``epochs`` data passes (or until each client sent ``max_bits``
    uplink bits, recorded then); see :class:`Trace` for the output.

    ``steps`` and ``multipliers`` map each of the method's axes to the stepsizes (R,) of
    the replicas and the multipliers that made them. When the method's iterates do not
    depend on some axes (``method.free_axes``), one replica runs per distinct value of the
    other axes and every replica gets the trajectory of its value (``trajectory``).

    Replicas that stop or diverge are dropped from the computation (their rows of the
    iterate and of the method state are compacted away), so a grid whose large
    multipliers blow up early costs little more than its surviving part.
    """
    axes = tuple(method.axes)
    steps = {a: np.asarray(steps[a], dtype=np.float64) for a in axes}
    multipliers = {a: np.asarray(multipliers[a], dtype=np.float64) for a in axes}
    x0 = np.asarray(x0, dtype=np.float64)
    dist0 = None if x_star is None else float(np.sum((x0 - x_star) ** 2))
    kw = dict(x0=x0, x_star=x_star, f_star=f_star, epochs=epochs, record_every=record_every,
              stop_dist_sq=stop_dist_sq, stop_rel_dist_sq=stop_rel_dist_sq, diverge_factor=diverge_factor,
              metrics=tuple(metrics), progress=progress, max_bits=max_bits)
    bound = None if dist0 is None else method.bound(steps, dist0)
    trace = _shared(method, steps, **kw)
    if trace is None:
        trace = _run(method, steps, **kw)
        if len(axes) > 1:
            trace["trajectory"] = np.arange(len(steps[axes[0]]), dtype=np.int64)
    for a, key, mkey in step_keys(axes):
        trace[key] = steps[a]
        trace[mkey] = multipliers[a]
    if "trajectory" in trace:
        trace["trajectory"] = trace.pop("trajectory")
    if bound is not None:
        trace["bound_rate"], trace["bound_floor"] = (np.broadcast_to(np.asarray(b, dtype=np.float64),
                                                                     steps[axes[0]].shape).copy() for b in bound)
    return trace


def _shared(method, steps: dict, **kw) -> Optional[Trace]:
    """Run once per distinct value of the axes that move the iterates, and give each replica
    its value's trajectory; None when there is nothing to share."""
    free = set(method.free_axes)
    if not free:
        return None
    key_axes = [a for a in steps if a not in free]
    R = len(next(iter(steps.values())))
    keys = np.stack([steps[a] for a in key_axes], axis=1) if key_axes else np.zeros((R, 1))
    _, first, pos = np.unique(keys if keys.shape[1] > 1 else keys[:, 0], axis=0 if keys.shape[1] > 1 else None,
                              return_index=True, return_inverse=True)
    if len(first) == R:
        return None
    order = np.argsort(first)              # distinct values in the order they first appear
    reps = first[order]
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    traj = rank[pos.ravel()]               # (R,) index into reps of each replica's trajectory
    mask = np.zeros(R, dtype=bool)
    mask[reps] = True
    method.keep(mask)
    sub = _run(method, {a: v[reps] for a, v in steps.items()}, **kw)
    out = Trace()
    for k, v in sub.items():
        out[k] = v[:, traj] if v.ndim == 2 else (v[traj] if k in ("status", "event") else v)
    out["trajectory"] = traj.astype(np.int64)
    return out


def _run(method, steps: dict, *, x0, x_star, f_star, epochs, record_every, stop_dist_sq, stop_rel_dist_sq,
         diverge_factor, metrics, progress, max_bits) -> Trace:
    prob = method.problem
    R = len(next(iter(steps.values())))
    live = np.arange(R)  # indices (into the full grid) of replicas still running
    X = np.tile(x0, (R, 1))
    st = {a: v.copy() for a, v in steps.items()}
    status = np.full(R, ACTIVE, dtype=np.int8)
    event = np.full(R, -1, dtype=np.int64)
    fns = [(name, METRICS[name].fn) for name in metrics]
    # Divergence is measured by ||x - x*||^2 against its start; where x* is unknown (a
    # non-convex problem), by ||grad f(x)||^2 against its value at x^0.
    if x_star is not None:
        size_name, size0 = "dist_sq", float(np.sum((x0 - x_star) ** 2))
    else:
        size_name, size0 = "grad_norm_sq", None
    logs = {name: [] for name in metrics}
    passes, rounds_log, bits_log = [], [], []
    N = prob.N
    rows_seen = 0
    rounds = 0
    bits = 0.0

    def record() -> None:
        nonlocal X, st, live, size0
        vals = {name: fn(prob, X, x_star, f_star) for name, fn in fns}
        bad = np.zeros(len(live), dtype=bool)
        for v in vals.values():
            bad |= ~np.isfinite(v)
        size = vals.get(size_name)
        if size is None:
            size = METRICS[size_name].fn(prob, X, x_star, f_star)
        if size0 is None:
            size0 = float(size[0])      # the first record: x^0, the same for every replica
        bad |= size > diverge_factor * size0
        done = np.zeros_like(bad)
        if stop_dist_sq is not None:
            done |= size < stop_dist_sq
        if stop_rel_dist_sq is not None:
            done |= size <= stop_rel_dist_sq * size0
        done &= ~bad
        ok = ~bad
        for name, v in vals.items():
            row = np.full(R, np.nan)
            row[live[ok]] = v[ok]
            logs[name].append(row)
        t = len(passes)
        for mask, code in ((bad, DIVERGED), (done, STOPPED)):
            status[live[mask]] = code
            event[live[mask]] = t
        keep = ~(bad | done)
        if not keep.all():
            X, live = X[keep], live[keep]
            st = {a: v[keep] for a, v in st.items()}
            method.keep(keep)
        passes.append(rows_seen / N)
        rounds_log.append(rounds)
        bits_log.append(bits)

    with np.errstate(over="ignore", invalid="ignore"):
        record()
        target = epochs * N
        next_record = record_every * N
        bit_cap = np.inf if max_bits is None else float(max_bits)
        while rows_seen < target and len(live) and bits < bit_cap:
            rows, sent = method.round(X, st)
            rows_seen += rows
            bits += sent
            rounds += 1
            if rows_seen >= next_record or bits >= bit_cap:
                record()
                next_record += record_every * N
                if progress is not None:
                    progress(rows_seen / N)

    out = Trace(passes=np.asarray(passes), rounds=np.asarray(rounds_log, dtype=np.int64),
                bits=np.asarray(bits_log, dtype=np.float64))
    for name in metrics:
        out[name] = np.asarray(logs[name])
    out["status"], out["event"] = status, event
    return out
