"""One run's replica axis cut into several jobs (shards), and the shards merged back.

A run's replicas are the product of its method's stepsize axes, first axis major:
replica ``i * E + j`` is ``(grid[i], j-th combination of the other axes)`` with ``E`` the
number of those combinations (``E = 1`` for a method with one stepsize;
:func:`gradcomp.pipeline.run.multipliers_of`). No computation crosses the
replica axis, and the sampler's and compressor's draws are shared by every replica and do
not depend on how many there are, so a run over a sub-grid computes exactly the replicas
of the full run that it holds. Shard ``s`` of ``S`` is the run over every ``S``-th client
multiplier from the ``s``-th on, with all server multipliers; interleaving, rather than
cutting the grid into blocks, gives every shard its share of the large multipliers, whose
replicas diverge early and cost little. :func:`merge` puts the shards' replicas back in
their places. The iterates are the unsplit run's bit for bit (``dist_sq``, statuses and
events are equal); f(x_t) - f* agrees to rounding, about 1e-15 of f: the BLAS sums in
:meth:`LogisticRegression.loss` take an order that depends on how many replicas are still
live, in the unsplit run as in a shard.

Not split: a method with a free axis (Q-NASTYA and DIANA-NASTYA with their gradients at the
server point: the client multiplier cancels and the run computes one trajectory per server
multiplier for every gamma, ``trajectory`` in the trace); shards would repeat those
trajectories.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np

from ..config import ConfigError
from . import io
from .provenance import provenance
from .run import multipliers_of

#: Trace arrays indexed by the records (time), shared by every replica.
TIME_KEYS = ("passes", "rounds", "bits")


def splittable(rc: dict) -> bool:
    """Whether shards of run config ``rc`` would each compute only their own replicas."""
    from ..methods import METHODS

    return not METHODS[rc["method"]["algorithm"]].free_axes_for(rc["method"])


def plan_shards(rc: dict, max_replicas: int | None) -> dict | None:
    """How to split run config ``rc`` into shards of at most ``max_replicas`` replicas.

    Returns None when the run stays one job, else ``{"configs": [shard run configs],
    "index": [[client-grid positions of each shard]], "per_gamma": E}``. A shard is never
    less than one client multiplier with all its server multipliers, so with
    ``max_replicas < E`` a shard has ``E`` replicas.
    """
    if max_replicas is None:
        return None
    if int(max_replicas) < 1:
        raise ConfigError(f"jobs.max_replicas must be a positive integer or null, got {max_replicas}")
    gamma_mult = next(iter(multipliers_of(rc).values()))
    grid = rc["stepsize"].get("grid")
    if not grid or len(gamma_mult) <= max_replicas or not splittable(rc):
        return None
    per_gamma = len(gamma_mult) // len(grid)
    n_shards = min(len(grid), math.ceil(len(gamma_mult) / max_replicas))
    index = [list(range(s, len(grid), n_shards)) for s in range(n_shards)]
    configs = []
    for idx in index:
        sub = copy.deepcopy(rc)
        sub["stepsize"]["grid"] = [grid[i] for i in idx]
        configs.append(sub)
    return {"configs": configs, "index": index, "per_gamma": per_gamma}


def merge(shards: list[dict], index: list[list[int]], per_gamma: int) -> dict:
    """The unsplit run's trace arrays from its shards' (to rounding in f; module docstring).

    A run stops recording once all its replicas have stopped or diverged, so shards can
    have fewer records than the full run; a replica's entries after its stop are NaN in
    the full run, and are filled so here. The record times of every shard are a prefix of
    the longest shard's (checked).
    """
    cols = [np.concatenate([np.arange(i * per_gamma, (i + 1) * per_gamma) for i in idx]) for idx in index]
    R = sum(len(c) for c in cols)
    longest = max(shards, key=lambda tr: len(tr["passes"]))
    T = len(longest["passes"])
    for tr in shards:
        t = len(tr["passes"])
        for key in TIME_KEYS:
            if not np.array_equal(tr[key], longest[key][:t]):
                raise ValueError(f"shards disagree on the record times ({key}): not shards of one run")
    if "trajectory" in longest and any(not np.array_equal(tr["trajectory"], np.arange(len(c)))
                                        for tr, c in zip(shards, cols)):
        raise ValueError("a shard shares trajectories between its replicas: such runs are not split")
    out = {}
    for key, first in shards[0].items():       # the unsplit trace's key order
        if key in TIME_KEYS:
            out[key] = longest[key]
        elif key == "trajectory":
            out[key] = np.arange(R, dtype=first.dtype)
        elif first.ndim == 2:                  # (T, R): NaN after a replica stops
            full = np.full((T, R), np.nan, dtype=first.dtype)
            for tr, c in zip(shards, cols):
                full[: len(tr[key]), c] = tr[key]
            out[key] = full
        else:                                  # (R,)
            full = np.empty(R, dtype=first.dtype)
            for tr, c in zip(shards, cols):
                full[c] = tr[key]
            out[key] = full
    return out


def merge_to_dir(spec_path: str | Path, out_dir: str | Path) -> None:
    """The merge job: read the split (``Plan.shards_path``), write the run's trace, info and
    provenance from its shards' (atomically, the trace last, as a run job does)."""
    out_dir = Path(out_dir)
    spec = io.read_json(spec_path)
    dirs = [out_dir.parent / rid for rid in spec["runs"]]
    infos = [io.read_json(d / "info.json") for d in dirs]
    if any(i != infos[0] for i in infos):
        raise ValueError(f"the shards of {out_dir.name} disagree on info.json")
    arrays = merge([io.loadz(d / "trace.npz") for d in dirs], spec["index"], int(spec["per_gamma"]))
    shard_prov = [dict(io.read_json(d / "provenance.json"), run=rid) for d, rid in zip(dirs, spec["runs"])]
    io.write_json(out_dir / "info.json", infos[0])
    io.write_json(out_dir / "provenance.json", provenance(
        shard_prov[0]["backend"], wall_time_s=sum(p["wall_time_s"] for p in shard_prov), shards=shard_prov))
    io.savez(out_dir / "trace.npz", **arrays)
