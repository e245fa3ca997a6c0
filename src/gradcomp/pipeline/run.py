"""Execute one run config: a method on a problem over a grid of stepsize multipliers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from .. import compressors, methods
from ..backend import get_namespace
from ..config import is_local
from ..seeding import stream
from . import io, problem
from .provenance import provenance


def multipliers_of(cfg: dict) -> tuple[np.ndarray, np.ndarray | None]:
    """The stepsize multipliers of every replica: ``(gamma_mult (R,), eta_mult (R,) or None)``.

    One stepsize: ``stepsize.grid`` (or the single ``multiplier``). A local method (client
    gamma, server eta): every pair of ``grid x server_grid``, gamma-major (replica
    ``i * len(server_grid) + j`` is ``(grid[i], server_grid[j])``).
    """
    s = cfg["stepsize"]
    g = np.asarray(s["grid"] if s.get("grid") else [s["multiplier"]], dtype=np.float64)
    if not is_local(cfg["method"]):
        return g, None
    e = np.asarray(s["server_grid"] if s.get("server_grid") else [s["server_multiplier"]], dtype=np.float64)
    return np.repeat(g, len(e)), np.tile(e, len(g))


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
    mult, eta_mult = multipliers_of(cfg)
    R = len(mult)
    method, sampler, gamma0, eta0 = methods.build(
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
        eta=None if eta0 is None else eta0 * eta_mult, eta_multipliers=eta_mult,
    )
    info = {"k": int(comp.k), "omega": float(comp.omega), "compressor": comp.name,
            "gamma_theory": float(gamma0), "alpha": getattr(method, "alpha", None),
            "d": int(prob.d), "M": int(prob.M)}
    if eta0 is not None:
        info["eta_theory"] = float(eta0)
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
