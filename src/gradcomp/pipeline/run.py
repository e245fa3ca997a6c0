"""Execute one run config: a method on a problem over a grid of stepsize multipliers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from .. import compressors, methods
from ..backend import get_namespace
from ..seeding import stream
from . import io, problem
from .provenance import provenance


def multipliers_of(cfg: dict) -> np.ndarray:
    grid = cfg["stepsize"].get("grid")
    return np.asarray(grid if grid else [cfg["stepsize"]["multiplier"]], dtype=np.float64)


def execute(cfg: dict, data_cfg: dict, results_root: str | Path,
            progress: Optional[Callable[[float], None]] = None):
    """Run ``cfg`` (a run config, see :func:`gradcomp.pipeline.identity.run_config`).

    Returns ``(trace, info)`` where ``info`` holds the derived quantities a figure needs
    (k, omega, the theoretical stepsize, alpha).
    """
    if cfg["backend"] != "numpy":
        get_namespace(cfg["backend"])  # a clear error if CuPy is missing
        raise NotImplementedError(
            "the rr methods run on NumPy/SciPy sparse data; backend=cupy is for compressors"
        )
    prob, const, x_star = problem.load(cfg, data_cfg, results_root)
    comp = compressors.build(cfg["compressor"], prob.d)
    mult = multipliers_of(cfg)
    R = len(mult)
    method, sampler, gamma0 = methods.build(
        cfg["method"], prob, const, comp.omega, R, stream(cfg["seed"], "sampling")
    )
    rng_q = stream(cfg["seed"], "compressor")
    x0 = stream(cfg["seed"], "x0").standard_normal(prob.d)
    rcfg = cfg["run"]
    trace = methods.optimize(
        prob, method, sampler, comp, rng_q,
        x0=x0, gamma=gamma0 * mult, multipliers=mult, x_star=x_star, f_star=const.f_star,
        epochs=int(rcfg["epochs"]), record_every=int(rcfg["record_every"]),
        bits_per_round=comp.bits_per_client(), stop_dist_sq=rcfg.get("stop_dist_sq"),
        diverge_factor=float(rcfg["diverge_factor"]), progress=progress,
    )
    info = {"k": int(comp.k), "omega": float(comp.omega), "compressor": comp.name,
            "gamma_theory": float(gamma0), "alpha": getattr(method, "alpha", None),
            "d": int(prob.d), "M": int(prob.M)}
    return trace, info


def run_to_dir(cfg: dict, data_cfg: dict, results_root: str | Path, out_dir: str | Path,
               progress: Optional[Callable[[float], None]] = None) -> None:
    """Execute and write ``trace.npz``, ``info.json``, ``provenance.json`` atomically."""
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    trace, info = execute(cfg, data_cfg, results_root, progress)
    wall = time.perf_counter() - t0
    io.write_json(out_dir / "info.json", info)
    io.write_json(out_dir / "provenance.json", provenance(cfg["backend"], wall_time_s=wall))
    io.savez(out_dir / "trace.npz", **trace.arrays())  # last: its presence means done
