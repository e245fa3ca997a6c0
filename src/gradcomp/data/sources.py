"""Where a problem's rows come from (``dataset.source``): LIBSVM files, or a generator.

Each source is declared once with ``@DATA_SOURCES.register(name)``, with the config schema
its ``conf/dataset/*.yaml`` files name, and ``load(dcfg, data_cfg) -> (A, y)``: the rows
(CSR or dense) and the raw targets (labels as in the file, or real values). A ``generated``
source's rows are stored with the problem (``results/problems/<id>/data.npz``) by the job
that solves it, so that run jobs read them instead of generating them again.
"""

from __future__ import annotations

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


def load_data(dcfg: dict, data_cfg: dict):
    """``(A, y)`` of the dataset node ``dcfg``."""
    return DATA_SOURCES[str(dcfg.get("source", "libsvm"))].load(dcfg, data_cfg)
