"""Build a federated problem from its config, and cache x*, f* and the constants.

``results/problems/<pid>/`` holds ``constants.json`` (L, mu, ..., f*), ``solution.npz``
(x*; empty where the problem has none) and ``clients.json`` (what the problem records of
the split). LIBSVM data are re-read and re-split by every job (fast, deterministic) rather
than copied; a generated dataset's rows are stored there once (``data.npz``), since
generating them costs more than reading.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data import DATA_SOURCES, load_data
from ..problems import PROBLEMS, Constants
from . import io
from .identity import problem_id


def build_problem(cfg: dict, data_cfg: dict, stored: Path | None = None):
    """``(problem, client index parts, raw targets)`` from a run/problem config; a generated
    dataset's rows are read from ``stored`` (a ``data.npz``) when it exists."""
    if stored is not None and stored.exists():
        z = io.loadz(stored)
        A, y = z["A"], z["y"]
    else:
        A, y = load_data(cfg["dataset"], data_cfg)
    return (*PROBLEMS[cfg["problem"]["name"]].from_config(cfg, A, y), y)


def problem_dir(cfg: dict, results_root: str | Path) -> Path:
    return Path(results_root) / "problems" / problem_id(cfg)


def prepare(cfg: dict, data_cfg: dict, out_dir: str | Path) -> None:
    """Solve for x* and write the cache files (atomically, constants last)."""
    out_dir = Path(out_dir)
    if DATA_SOURCES[cfg["dataset"]["source"]].generated:
        A, y = load_data(cfg["dataset"], data_cfg)
        io.savez(out_dir / "data.npz", A=np.asarray(A), y=np.asarray(y))
    prob, parts, y = build_problem(cfg, data_cfg, out_dir / "data.npz")
    pcfg = cfg["problem"]
    x_star = prob.solve(pcfg) if prob.has_solution else None
    const = prob.constants(x_star, pcfg)
    # an empty file where x* is unknown: the job's outputs are the same for every problem
    io.savez(out_dir / "solution.npz", **({} if x_star is None else {"x_star": x_star}))
    io.write_json(out_dir / "clients.json", prob.clients_summary(y, parts))
    io.write_json(out_dir / "constants.json", const.to_dict())


def load(cfg: dict, data_cfg: dict, results_root: str | Path):
    """``(problem, constants, x*)``, preparing the cache first if it is missing."""
    pdir = problem_dir(cfg, results_root)
    if not (pdir / "constants.json").exists():
        prepare(cfg, data_cfg, pdir)
    prob, _, _ = build_problem(cfg, data_cfg, pdir / "data.npz")
    const = Constants.from_dict(io.read_json(pdir / "constants.json"))
    sol = io.loadz(pdir / "solution.npz")
    x_star = np.asarray(sol["x_star"]) if "x_star" in sol else None
    return prob, const, x_star
