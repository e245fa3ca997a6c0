"""Build a federated problem from its config, and cache x*, f* and the constants.

``results/problems/<pid>/`` holds ``constants.json`` (L, mu, ..., f*), ``solution.npz``
(x*) and ``clients.json`` (per-client class counts). The data themselves are re-read
and re-split by every job (fast, deterministic) rather than copied.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import data as gdata
from ..problems.constants import Constants, compute_constants, newton
from ..problems.logreg import LogisticRegression, problem_from_clients
from ..seeding import stream
from . import io
from .identity import problem_id


def load_dataset(dcfg: dict, data_cfg: dict):
    path = gdata.resolve_dataset(
        dcfg["name"], filename=dcfg["filename"], url=dcfg["url"], sha256=dcfg["sha256"],
        mirror=data_cfg.get("mirror"), cache_dir=data_cfg["cache_dir"],
        download=bool(data_cfg["download"]),
    )
    A, y = gdata.load_libsvm(path, n_features=int(dcfg["n_features"]))
    if A.shape[0] != int(dcfg["n_samples"]):
        raise gdata.DataError(
            f"{path}: expected {dcfg['n_samples']} samples, found {A.shape[0]}"
        )
    return A, gdata.map_binary_labels(y)


def build_problem(cfg: dict, data_cfg: dict) -> tuple[LogisticRegression, list[np.ndarray], np.ndarray]:
    """``(problem, client index parts, mapped labels)`` from a run/problem config."""
    pcfg = cfg["problem"]
    if pcfg["name"] != "logreg":
        raise ValueError(f"unknown problem {pcfg['name']!r}; valid: logreg")
    A, y = load_dataset(cfg["dataset"], data_cfg)
    M = int(pcfg["n_clients"])
    if pcfg["split"] == "hetero":
        parts = gdata.hetero_split(y, M)
    else:
        parts = gdata.iid_split(len(y), M, stream(cfg["seed"], "split"))
    prob = problem_from_clients(A, y, parts, float(pcfg["condition_number"]))
    return prob, parts, y


def problem_dir(cfg: dict, results_root: str | Path) -> Path:
    return Path(results_root) / "problems" / problem_id(cfg)


def prepare(cfg: dict, data_cfg: dict, out_dir: str | Path) -> None:
    """Solve for x* and write the cache files (atomically, constants last)."""
    out_dir = Path(out_dir)
    prob, parts, y = build_problem(cfg, data_cfg)
    pcfg = cfg["problem"]
    x_star = newton(prob, float(pcfg["solver_grad_tol"]), int(pcfg["solver_max_iter"]))
    const = compute_constants(prob, x_star, float(pcfg["batch_fraction"]))
    counts = gdata.client_label_counts(y, parts)
    io.savez(out_dir / "solution.npz", x_star=x_star)
    io.write_json(out_dir / "clients.json", {"label_counts": np.asarray(counts).tolist()})
    io.write_json(out_dir / "constants.json", const.to_dict())


def load(cfg: dict, data_cfg: dict, results_root: str | Path):
    """``(problem, constants, x*)``, preparing the cache first if it is missing."""
    pdir = problem_dir(cfg, results_root)
    if not (pdir / "constants.json").exists():
        prepare(cfg, data_cfg, pdir)
    prob, _, _ = build_problem(cfg, data_cfg)
    const = Constants.from_dict(io.read_json(pdir / "constants.json"))
    x_star = io.loadz(pdir / "solution.npz")["x_star"]
    return prob, const, x_star
