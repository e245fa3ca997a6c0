"""The optimisation loop shared by every method: rounds, replicas, metrics, freezing.

One call runs R replicas (a stepsize grid) on common random numbers: the same minibatches
and the same compressor draws for every replica, so a 23-point grid costs one sparse
product with 23 right-hand sides per round instead of 23 runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from ..problems.logreg import LogisticRegression
from .local import LocalMethod

ACTIVE, STOPPED, DIVERGED = 0, 1, 2


@dataclass
class Trace:
    """Metrics recorded at every ``record_every`` data passes (and at the start).

    ``f_gap`` and ``dist_sq`` have shape (T, R); after a replica stops (reached
    ``stop_dist_sq``) or diverges, its later entries are NaN. ``status`` holds
    ACTIVE/STOPPED/DIVERGED and ``event`` the record index where that happened (-1).
    ``gamma`` and ``multipliers`` are the (client) stepsize of every replica; a local
    method also records its server stepsize in ``extra["eta"]`` and
    ``extra["eta_multipliers"]``, and in ``extra["trajectory"]`` which distinct trajectory
    each replica follows (pairs that differ only in a gamma that does not affect the
    iterates share one; see :func:`optimize`).
    """

    passes: np.ndarray
    rounds: np.ndarray
    bits: np.ndarray
    f_gap: np.ndarray
    dist_sq: np.ndarray
    status: np.ndarray
    event: np.ndarray
    gamma: np.ndarray
    multipliers: np.ndarray
    extra: dict = field(default_factory=dict)

    def arrays(self) -> dict:
        out = {k: getattr(self, k) for k in
               ("passes", "rounds", "bits", "f_gap", "dist_sq", "status", "event", "gamma", "multipliers")}
        out.update(self.extra)
        return out


def optimize(prob: LogisticRegression, method, sampler, compressor, rng: np.random.Generator, *,
             x0: np.ndarray, gamma: np.ndarray, multipliers: np.ndarray,
             x_star: np.ndarray, f_star: float, epochs: int, record_every: int,
             bits_per_round: int, stop_dist_sq: Optional[float], diverge_factor: float,
             progress: Optional[Callable[[float], None]] = None,
             coordinate_path: Optional[bool] = None,
             eta: Optional[np.ndarray] = None, eta_multipliers: Optional[np.ndarray] = None) -> Trace:
    """Run ``method`` until ``epochs`` data passes; see :class:`Trace` for the output.

    A :class:`~gradcomp.methods.local.LocalMethod` takes ``local_steps`` minibatches per
    round and needs the server stepsizes ``eta`` (R,) next to the client ``gamma`` (R,).
    When its iterates do not depend on gamma (``gamma_free``: gradients at the server
    point, spec 6.1), one replica runs per distinct eta and every (gamma, eta) pair gets
    the trajectory of its eta; ``extra["trajectory"]`` (R,) says which replica of the
    distinct ones each pair follows (``arange(R)`` when none are shared).

    A compressor with ``sample`` (a sparsifier such as Rand-k) takes the coordinate path:
    gradients are computed only at the k coordinates each client sends. It draws the same
    random numbers as ``compress``, so both paths give the same iterates (to rounding);
    ``coordinate_path=False`` forces the dense one.

    Replicas that stop or diverge are dropped from the computation (their rows of the
    iterate and of the method state are compacted away), so a grid whose large
    multipliers blow up early costs little more than its surviving part.
    """
    R = len(gamma)
    if isinstance(method, LocalMethod) and method.gamma_free and eta is not None:
        shared = _shared_by_eta(prob, method, sampler, compressor, rng, R, eta, x0=x0, gamma=gamma,
                                multipliers=multipliers, x_star=x_star, f_star=f_star, epochs=epochs,
                                record_every=record_every, bits_per_round=bits_per_round,
                                stop_dist_sq=stop_dist_sq, diverge_factor=diverge_factor,
                                progress=progress, coordinate_path=coordinate_path,
                                eta_multipliers=eta_multipliers)
        if shared is not None:
            return shared
    x0 = np.asarray(x0, dtype=np.float64)
    live = np.arange(R)  # indices (into the full grid) of replicas still running
    X = np.tile(x0, (R, 1))
    gam = np.asarray(gamma, dtype=np.float64).copy()
    local = isinstance(method, LocalMethod)
    if local != (eta is not None):
        raise ValueError("a local method needs eta (server stepsizes); other methods take none")
    et = np.asarray(eta, dtype=np.float64).copy() if local else None
    status = np.full(R, ACTIVE, dtype=np.int8)
    event = np.full(R, -1, dtype=np.int64)
    dist0 = float(np.sum((x0 - x_star) ** 2))

    passes, rounds_log, f_log, d_log = [], [], [], []
    N = prob.N
    rows_seen = 0
    rounds = 0

    def record() -> None:
        nonlocal X, gam, et, live
        f = prob.loss(X) - f_star
        dsq = np.sum((X - x_star) ** 2, axis=1)
        bad = ~np.isfinite(f) | ~np.isfinite(dsq) | (dsq > diverge_factor * dist0)
        done = ~bad & (dsq < stop_dist_sq) if stop_dist_sq is not None else np.zeros_like(bad)
        f_row = np.full(R, np.nan)
        d_row = np.full(R, np.nan)
        ok = ~bad
        f_row[live[ok]] = f[ok]
        d_row[live[ok]] = dsq[ok]
        t = len(passes)
        for mask, code in ((bad, DIVERGED), (done, STOPPED)):
            status[live[mask]] = code
            event[live[mask]] = t
        keep = ~(bad | done)
        if not keep.all():
            X, gam, live = X[keep], gam[keep], live[keep]
            if local:
                et = et[keep]
            method.keep(keep)
        passes.append(rows_seen / N)
        rounds_log.append(rounds)
        f_log.append(f_row)
        d_log.append(d_row)

    if coordinate_path is None:
        coordinate_path = hasattr(compressor, "sample")
    M = prob.M

    def compress(v):
        return compressor.compress(v, rng)

    with np.errstate(over="ignore", invalid="ignore"):
        record()
        target = epochs * N
        next_record = record_every * N
        while rows_seen < target and len(live):
            if local:
                batches = [sampler.next_round()[0] for _ in range(method.local_steps)]
                method.round(X, batches, prob, compressor, rng, gam, et, coordinate_path)
                rows_seen += sum(b.n_rows for b in batches)
            else:
                batch, slot = sampler.next_round()
                if coordinate_path and not getattr(method, "needs_dense_step", False):
                    S = compressor.sample(rng, M)
                    method.step_coords(X, prob.batch_grads_at(batch, X, S), S, compressor.scale, gam, slot)
                else:
                    method.step(X, prob.batch_grads(batch, X), compress, gam, slot)
                rows_seen += batch.n_rows
            rounds += 1
            if rows_seen >= next_record:
                record()
                next_record += record_every * N
                if progress is not None:
                    progress(rows_seen / N)

    rounds_arr = np.asarray(rounds_log, dtype=np.int64)
    extra = {}
    if local:
        extra = {"eta": np.asarray(eta, dtype=np.float64),
                 "eta_multipliers": np.asarray(eta_multipliers, dtype=np.float64),
                 "trajectory": np.arange(R, dtype=np.int64)}
    return Trace(
        passes=np.asarray(passes), rounds=rounds_arr, bits=rounds_arr * int(bits_per_round),
        f_gap=np.asarray(f_log), dist_sq=np.asarray(d_log), status=status, event=event,
        gamma=np.asarray(gamma, dtype=np.float64), multipliers=np.asarray(multipliers, dtype=np.float64),
        extra=extra,
    )


def _shared_by_eta(prob, method, sampler, compressor, rng, R, eta, *, gamma, multipliers, eta_multipliers,
                   **kw) -> Optional[Trace]:
    """Run a gamma-free local method once per distinct eta and give each pair its eta's trajectory.

    Returns None when every eta is distinct (nothing to share).
    """
    eta = np.asarray(eta, dtype=np.float64)
    _, first, pos = np.unique(eta, return_index=True, return_inverse=True)
    if len(first) == R:
        return None
    order = np.argsort(first)              # distinct etas in the order they first appear
    reps = first[order]
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    traj = rank[pos.ravel()]               # (R,) index into reps of each pair's trajectory
    mask = np.zeros(R, dtype=bool)
    mask[reps] = True
    method.keep(mask)
    em = np.asarray(eta_multipliers, dtype=np.float64)
    sub = optimize(prob, method, sampler, compressor, rng, gamma=np.asarray(gamma, dtype=np.float64)[reps],
                   multipliers=np.asarray(multipliers, dtype=np.float64)[reps], eta=eta[reps],
                   eta_multipliers=em[reps], **kw)
    extra = dict(sub.extra, eta=eta, eta_multipliers=em, trajectory=traj.astype(np.int64))
    return Trace(passes=sub.passes, rounds=sub.rounds, bits=sub.bits, f_gap=sub.f_gap[:, traj],
                 dist_sq=sub.dist_sq[:, traj], status=sub.status[traj], event=sub.event[traj],
                 gamma=np.asarray(gamma, dtype=np.float64), multipliers=np.asarray(multipliers, dtype=np.float64),
                 extra=extra)
