"""Execute one run config: a method on a problem over a grid of stepsize multipliers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from .. import compressors, methods
from ..backend import get_namespace
from ..config import choice
from ..seeding import stream
from . import io, problem
from .provenance import provenance


def multipliers_of(cfg: dict) -> dict[str, np.ndarray]:
    """The stepsize multipliers of every replica, per axis of the run's method: the Cartesian
    product of the axes' grids, first axis major (:func:`gradcomp.methods.replica_steps`)."""
    return methods.replica_steps(methods.METHODS[cfg["method"]["algorithm"]], cfg["stepsize"])


def execute(cfg: dict, data_cfg: dict, results_root: str | Path,
            progress: Optional[Callable[[float], None]] = None,
            phase: Optional[Callable[[str], None]] = None):
    """Run ``cfg`` (a run config, see :func:`gradcomp.pipeline.identity.run_config`).

    Returns ``(trace, info)`` where ``info`` holds the derived quantities a figure needs
    (the compressor's class and constants, the theoretical stepsizes, the method's own
    parameters). ``progress`` hears the data passes done, ``phase`` what is happening
    before the first pass (loading the data, setting up the problem, compiling).
    """
    phase = phase or (lambda _: None)
    phase("loading the data and the problem")
    prob, const, x_star = problem.load(cfg, data_cfg, results_root)
    phase("building the compressor and the method")
    comp = compressors.build(cfg["compressor"], prob.d, prob.M, weights=const.L_m)
    mult = multipliers_of(cfg)
    R = len(next(iter(mult.values())))
    seed, rcfg = cfg["seed"], cfg["run"]
    x0 = prob.x0(float(rcfg["x0_std"]), stream(seed, "x0"))
    method, theory = methods.build(
        cfg["method"], prob, const, comp, R, rng_sampling=stream(seed, "sampling"),
        rng=stream(seed, "compressor"), x0=x0, x_star=x_star, seed=seed,
        bits_per_float=int(cfg["compressor"]["bits_per_float"]), xp=get_namespace(choice(cfg["backend"])),
    )
    phase("running (the first rounds compile kernels on a cold cache)")
    trace = methods.optimize(
        method, x0=x0, steps={a: theory[a] * m for a, m in mult.items()}, multipliers=mult,
        x_star=x_star, f_star=const.f_star, epochs=int(rcfg["epochs"]), record_every=int(rcfg["record_every"]),
        stop_dist_sq=rcfg.get("stop_dist_sq"), stop_rel_dist_sq=rcfg.get("stop_rel_dist_sq"),
        diverge_factor=float(rcfg["diverge_factor"]), metrics=methods.recorded(rcfg), progress=progress,
        max_bits=rcfg.get("max_bits"),
    )
    omega = comp.client_omega
    info = {"compressor": comp.name, "compressor_class": comp.describe(),
            "omega": None if omega is None else float(omega), "bits_per_message": method.bits(),
            "d": int(prob.d), "M": int(prob.M), **{f"{a}_theory": v for a, v in theory.items()}}
    if comp.kind == "contractive":
        info["delta"] = float(comp.delta)
    info.update(method.info())
    return trace, info


def run_to_dir(cfg: dict, data_cfg: dict, results_root: str | Path, out_dir: str | Path,
               progress: Optional[Callable[[float], None]] = None,
               phase: Optional[Callable[[str], None]] = None) -> None:
    """Execute and write ``config.json``, ``info.json``, ``provenance.json`` and ``trace.npz``
    (last) atomically: a killed run leaves nothing."""
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    trace, info = execute(cfg, data_cfg, results_root, progress, phase)
    wall = time.perf_counter() - t0
    io.write_json(out_dir / "config.json", cfg, indent=1)
    io.write_json(out_dir / "info.json", info)
    io.write_json(out_dir / "provenance.json", provenance(cfg["backend"], wall_time_s=wall))
    io.savez(out_dir / "trace.npz", **trace.arrays())  # last: its presence means done
