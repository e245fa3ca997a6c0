"""Where a problem's rows come from (``dataset.source``): LIBSVM files, or a generator.

Each source is declared once with ``@DATA_SOURCES.register(name)``, with the config schema
its ``conf/dataset/*.yaml`` files name, and ``load(dcfg, data_cfg) -> (A, y)``: the rows
(CSR or dense) and the raw targets (labels as in the file, or real values). A ``generated``
source's rows are stored with the problem (``results/problems/<id>/data.npz``) by the job
that solves it, so that run jobs read them instead of generating them again.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional

import numpy as np
from omegaconf import MISSING

from ..config import DatasetConf
from ..registry import Registry
from .errors import DataError

#: Every data source, by ``dataset.source``.
DATA_SOURCES = Registry("data source", "gradcomp.data")


@dataclass
class LibsvmConf(DatasetConf):
    filename: str = MISSING
    url: str = MISSING
    sha256: str = MISSING


@DATA_SOURCES.register("libsvm")
class Libsvm:
    """A LIBSVM text file, found in the mirror or cache or downloaded, checked by sha256."""

    schema, schema_name = LibsvmConf, "base_dataset"
    generated = False

    @staticmethod
    def load(dcfg: dict, data_cfg: dict):
        from .fetch import resolve_dataset
        from .libsvm import load_libsvm

        path = resolve_dataset(
            dcfg["name"], filename=dcfg["filename"], url=dcfg["url"], sha256=dcfg["sha256"],
            mirror=data_cfg.get("mirror"), cache_dir=data_cfg["cache_dir"],
            download=bool(data_cfg["download"]),
        )
        A, y = load_libsvm(path, n_features=int(dcfg["n_features"]))
        if A.shape[0] != int(dcfg["n_samples"]):
            raise DataError(f"{path}: expected {dcfg['n_samples']} samples, found {A.shape[0]}")
        return A, y


@dataclass
class MakeRegressionConf(DatasetConf):
    random_state: int = MISSING
    n_informative: int = MISSING
    noise: float = MISSING
    bias: float = MISSING
    effective_rank: Optional[int] = None


@DATA_SOURCES.register("make_regression")
class MakeRegression:
    """scikit-learn's ``make_regression`` (the shift paper's data), seeded by ``random_state``."""

    schema, schema_name = MakeRegressionConf, "base_make_regression"
    generated = True   # and importing scikit-learn takes a second: runs read the stored rows

    @staticmethod
    def load(dcfg: dict, data_cfg: dict):
        from sklearn.datasets import make_regression

        A, y = make_regression(n_samples=int(dcfg["n_samples"]), n_features=int(dcfg["n_features"]),
                               n_informative=int(dcfg["n_informative"]), noise=float(dcfg["noise"]),
                               bias=float(dcfg["bias"]), effective_rank=dcfg.get("effective_rank"),
                               random_state=int(dcfg["random_state"]))
        return np.asarray(A, dtype=np.float64), np.asarray(y, dtype=np.float64)


class QuadraticGenerator(enum.Enum):
    worst_case = "worst_case"
    lipt_different = "lipt_different"


@dataclass
class TridiagonalConf(DatasetConf):
    generator: QuadraticGenerator = MISSING
    noise: float = MISSING
    lam: float = MISSING
    random_state: int = MISSING


@DATA_SOURCES.register("tridiagonal")
class Tridiagonal:
    """The tridiagonal quadratics of paper cq (Appendix D.3, Algorithms 5 and 6; Tyurin et
    al. 2022's ``create_worst_case`` and ``create_convex_different_liptschitz``).

    Client i holds ``f_i(x) = 1/2 x^T A_i x - b_i^T x`` with ``A_i = a_i T + c_i I``,
    ``T = tridiag(-1, 2, -1)`` (d x d) and ``b_i = beta_i e_1``, so a client is three numbers,
    one row ``(a_i, c_i, beta_i)`` of the returned array (``n_samples`` clients; ``y`` is
    unused). ``noise`` is s.

    * ``worst_case`` (Algorithm 5, controls L_pm): ``nu_s = 1 + s xi_s``, ``nu_b = s xi_b``
      with xi ~ N(0, 1); ``a_i = nu_s/4``, ``beta_i = (nu_s/4)(-1 + nu_b)``; then every
      ``c_i = lam - lambda_min(Abar)`` so that f is lam-strongly convex.
    * ``lipt_different`` (Algorithm 6, spreads the L_i): ``nu_s = 1 + s xi_s`` with
      xi_s ~ Exp(1), ``a_i = nu_s/4``, ``c_i = 0``, ``beta_i = -1/4 + s xi_b`` (the code's
      form; spec A.3 notes the paper may print a factor 1/4 on the noise).

    The draws: one Generator seeded with ``random_state`` for all clients, client after
    client (xi_s, then xi_b), as Tyurin et al.'s code passes one generator to every client.
    """

    schema, schema_name = TridiagonalConf, "base_tridiagonal"
    generated = False   # three numbers per client: cheaper to draw again than to store

    @staticmethod
    def load(dcfg: dict, data_cfg: dict):
        from ..config import choice
        from ..problems.quadratic import tridiagonal_eigenvalues

        n, d, s = int(dcfg["n_samples"]), int(dcfg["n_features"]), float(dcfg["noise"])
        rng = np.random.default_rng(int(dcfg["random_state"]))
        worst = choice(dcfg["generator"]) == "worst_case"
        xi = np.empty((n, 2))
        for i in range(n):
            xi[i, 0] = rng.standard_normal() if worst else rng.exponential()
            xi[i, 1] = rng.standard_normal()
        nu_s = 1.0 + s * xi[:, 0]
        a = nu_s / 4.0
        if worst:
            beta = a * (-1.0 + s * xi[:, 1])
            t = tridiagonal_eigenvalues(d)
            lam_min = float(np.min(a.mean() * t))   # Abar = mean(a) T
            c = np.full(n, float(dcfg["lam"]) - lam_min)
        else:
            beta = -0.25 + s * xi[:, 1]
            c = np.zeros(n)
        return np.stack([a, c, beta], axis=1), np.zeros(n)


def load_data(dcfg: dict, data_cfg: dict):
    """``(A, y)`` of the dataset node ``dcfg``."""
    return DATA_SOURCES[str(dcfg.get("source", "libsvm"))].load(dcfg, data_cfg)
