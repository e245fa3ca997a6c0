"""Typed schema of the Hydra config tree in ``conf/`` and the one way to compose it.

Every experiment number lives in ``conf/``; the dataclasses here only fix the *shape*
and the *types* (no experiment numbers as defaults), so that a misspelt key
(``compressor.kk=2``) or an unknown choice (``method.sampling=bogus``) fails at
composition time, before any job starts, naming the bad key and the valid values.
"""

from __future__ import annotations

import enum
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from omegaconf import MISSING, DictConfig, OmegaConf

SCHEMA_VERSION = 1


class ConfigError(Exception):
    """A configuration that cannot be composed or is inconsistent."""


class Split(enum.Enum):
    hetero = "hetero"
    iid = "iid"


class Sampling(enum.Enum):
    with_replacement = "with_replacement"
    rr = "rr"


class Reshuffle(enum.Enum):
    every_epoch = "every_epoch"
    once = "once"
    none = "none"


class Shifts(enum.Enum):
    none = "none"
    client = "client"
    slot = "slot"


class Algorithm(enum.Enum):
    dcgd = "dcgd"
    diana = "diana"
    ef21 = "ef21"
    # Local methods: n local steps per client, then one communication (two stepsizes).
    nastya = "nastya"
    fedcom = "fedcom"
    fedpaq = "fedpaq"


#: Algorithms with local steps, a client stepsize gamma and a server stepsize eta.
LOCAL_ALGORITHMS = frozenset({"nastya", "fedcom", "fedpaq"})


class LocalGradientAt(enum.Enum):
    """Where a local step evaluates its gradient (rr spec 6.1).

    ``server``: at the server point x_t, as the authors' q-nastya.py / diana-nastya.py;
    ``local_iterate``: at the client's own iterate x_{t,m}^i, as the paper's Algorithms 3-4.
    """

    server = "server"
    local_iterate = "local_iterate"


class StepsizeRule(enum.Enum):
    qsgd = "qsgd"
    q_rr = "q_rr"
    diana = "diana"
    diana_rr = "diana_rr"
    ef21 = "ef21"
    q_nastya = "q_nastya"
    diana_nastya = "diana_nastya"
    fedcom = "fedcom"
    fedpaq = "fedpaq"


class Backend(enum.Enum):
    numpy = "numpy"
    cupy = "cupy"


class Norm(enum.Enum):
    l2 = "l2"
    linf = "linf"


class Permutation(enum.Enum):
    uniform = "uniform"
    cyclic = "cyclic"


class Rotation(enum.Enum):
    hadamard = "hadamard"
    uniform = "uniform"


@dataclass
class DatasetConf:
    name: str = MISSING
    filename: str = MISSING
    url: str = MISSING
    sha256: str = MISSING
    n_samples: int = MISSING
    n_features: int = MISSING


@dataclass
class ProblemConf:
    name: str = MISSING
    n_clients: int = MISSING
    split: Split = MISSING
    condition_number: float = MISSING
    batch_fraction: float = MISSING
    solver_grad_tol: float = MISSING
    solver_max_iter: int = MISSING


@dataclass
class CompressorConf:
    name: str = MISSING
    k: Optional[int] = None
    k_fraction: Optional[float] = None
    bits_per_float: int = MISSING
    count_indices: bool = MISSING


# Compressors with settings beyond CompressorConf's get their own schema (a subclass), named
# in their yaml's defaults list; CompressorConf itself stays as it is, so the resolved
# config (and the run id) of randk and identity runs does not change.


@dataclass
class DitheringConf(CompressorConf):
    s: int = MISSING
    norm: Norm = MISSING


@dataclass
class NaturalConf(CompressorConf):
    exponent_bits: int = MISSING


@dataclass
class CQConf(CompressorConf):
    permutation: Permutation = MISSING


@dataclass
class PermKCQConf(CQConf):
    blocks: int = MISSING


@dataclass
class DriveConf(CompressorConf):
    rotation: Rotation = MISSING


@dataclass
class SparseDitheringConf(CompressorConf):
    s: int = MISSING


@dataclass
class SphericalConf(CompressorConf):
    index_bits: int = MISSING


class Weights(enum.Enum):
    uniform = "uniform"
    given = "given"


@dataclass
class ISCCConf(CompressorConf):
    inner: CompressorConf = MISSING
    weights: Weights = MISSING


@dataclass
class InducedConf(CompressorConf):
    contractive: CompressorConf = MISSING
    unbiased: CompressorConf = MISSING


@dataclass
class MethodConf:
    name: str = MISSING
    label: str = MISSING
    algorithm: Algorithm = MISSING
    sampling: Sampling = MISSING
    reshuffle: Reshuffle = MISSING
    shifts: Shifts = MISSING
    alpha_scale: Optional[float] = None
    stepsize_rule: StepsizeRule = MISSING
    # Local methods only (null elsewhere, and then left out of the run config).
    local_gradient_at: Optional[LocalGradientAt] = None
    # The only compressor the method is defined with (NASTYA: identity); null for any.
    compressor: Optional[str] = None
    source: str = MISSING
    our_choices: List[str] = field(default_factory=list)


@dataclass
class StepsizeConf:
    """Multipliers of the theoretical stepsizes: one per replica of a run.

    ``multiplier``/``grid`` scale gamma (the only stepsize of a non-local method, the client
    stepsize of a local one); ``server_multiplier``/``server_grid`` scale the server stepsize
    eta of a local method, whose replicas are the Cartesian product ``grid x server_grid``.
    """

    multiplier: float = MISSING
    grid: Optional[List[float]] = None
    server_multiplier: float = MISSING
    server_grid: Optional[List[float]] = None


@dataclass
class RunConf:
    epochs: int = MISSING
    record_every: int = MISSING
    stop_dist_sq: Optional[float] = None
    diverge_factor: float = MISSING


@dataclass
class ScaleConf:
    name: str = MISSING
    epochs: int = MISSING
    grid_stride: int = MISSING
    # Stride along each axis of a local method's 2-D (client, server) grid.
    grid2d_stride: int = MISSING
    figures_root: str = MISSING


@dataclass
class JobsConf:
    # Split a run with more replicas than this into shards (see gradcomp.pipeline.shards);
    # null: one job per run. How the work is cut, never what is computed: not in run ids.
    max_replicas: Optional[int] = None


@dataclass
class DataConf:
    mirror: Optional[str] = None
    cache_dir: str = MISSING
    download: bool = MISSING


@dataclass
class PanelConf:
    dataset: str = MISSING
    overrides: List[str] = field(default_factory=list)


@dataclass
class SelectConf:
    metric: str = MISSING
    tie_factor: float = MISSING
    then: str = MISSING
    rule: str = MISSING


@dataclass
class MethodGridConf:
    """The 2-D grid of a local method: client multipliers ``grid`` x server ``server_grid``."""

    grid: List[float] = MISSING
    server_grid: List[float] = MISSING


@dataclass
class FigureConf:
    id: str = MISSING
    paper: str = MISSING
    kind: str = MISSING
    panels: List[PanelConf] = MISSING
    methods: List[str] = MISSING
    # The multiplier grid of every method that ``grids`` does not name.
    grid: Optional[List[float]] = None
    # Per-method (client, server) grids of the local methods: their runs' replicas are
    # every pair, and selection picks one pair.
    grids: Dict[str, MethodGridConf] = field(default_factory=dict)
    # Extra overrides per method (a switch such as method.reshuffle=every_epoch).
    method_overrides: Dict[str, List[str]] = field(default_factory=dict)
    # Overrides for every run of the figure (e.g. run.record_every).
    run_overrides: List[str] = field(default_factory=list)
    select: SelectConf = MISSING
    panel_title: str = MISSING
    xlabel: str = MISSING
    ylabel: str = MISSING
    xlim: List[float] = MISSING
    ylim: Optional[List[float]] = None
    caption: str = MISSING
    deviations: List[str] = field(default_factory=list)


@dataclass
class TableConf:
    id: str = MISSING
    paper: str = MISSING
    kind: str = MISSING
    datasets: List[str] = MISSING
    title: str = MISSING
    caption: str = MISSING
    columns: List[str] = field(default_factory=list)
    # kind: complexity (rr Table 1 evaluated): target accuracy, which n, and the rows.
    epsilon: Optional[float] = None
    n: str = "min_n_m"
    rows: List[Dict[str, Any]] = field(default_factory=list)
    # The figure whose runs give "rounds needed in our runs" (rows name their method by `run`).
    runs_from: Optional[str] = None


@dataclass
class ClaimConf:
    id: str = MISSING
    source: str = MISSING
    statement: str = MISSING
    kind: str = MISSING
    artifact: str = MISSING
    params: Dict[str, Any] = field(default_factory=dict)
    tolerance: str = MISSING
    expect: str = MISSING
    # A claim about the end of a long run (a plateau after 5000 data passes) is binding only
    # at scales running at least this many; below, its outcome is reported as indicative.
    min_epochs: int = 0
    note: str = ""


@dataclass
class ClaimSetConf:
    paper: str = MISSING
    claims: List[ClaimConf] = MISSING


@dataclass
class ArtifactsConf:
    figures: List[str] = field(default_factory=list)
    tables: List[str] = field(default_factory=list)
    claims: List[str] = field(default_factory=list)
    # Monte Carlo studies of the compressors (conf/compressor_study/), no optimization runs.
    compressor_studies: List[str] = field(default_factory=list)


@dataclass
class Config:
    seed: int = MISSING
    backend: Backend = MISSING
    results_root: str = MISSING
    data: DataConf = MISSING
    dataset: DatasetConf = MISSING
    problem: ProblemConf = MISSING
    compressor: CompressorConf = MISSING
    method: MethodConf = MISSING
    stepsize: StepsizeConf = MISSING
    run: RunConf = MISSING
    scale: ScaleConf = MISSING
    jobs: JobsConf = field(default_factory=JobsConf)
    artifacts: ArtifactsConf = MISSING
    figure: Optional[FigureConf] = None
    table: Optional[TableConf] = None
    claim: Optional[ClaimSetConf] = None
    compressor_study: Optional[Any] = None  # checked by gradcomp.pipeline.studies


_SCHEMAS = {
    None: ("base_config", Config),
    "dataset": ("base_dataset", DatasetConf),
    "problem": ("base_problem", ProblemConf),
    "compressor": ("base_compressor", CompressorConf),
    "method": ("base_method", MethodConf),
    "scale": ("base_scale", ScaleConf),
    "figure": ("base_figure", FigureConf),
    "table": ("base_table", TableConf),
    "claim": ("base_claim", ClaimSetConf),
}


_COMPRESSOR_SCHEMAS = {
    "base_dithering": DitheringConf,
    "base_natural": NaturalConf,
    "base_cq": CQConf,
    "base_permk_cq": PermKCQConf,
    "base_drive": DriveConf,
    "base_induced": InducedConf,
    "base_sparse_dithering": SparseDitheringConf,
    "base_spherical": SphericalConf,
    "base_iscc": ISCCConf,
}


def _register_schemas() -> None:
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    for group, (name, node) in _SCHEMAS.items():
        cs.store(group=group, name=name, node=node)
    for name, node in _COMPRESSOR_SCHEMAS.items():
        cs.store(group="compressor", name=name, node=node)


def is_local(method: Any) -> bool:
    """Whether a (plain) method config has local steps and two stepsizes."""
    algorithm = method["algorithm"]
    return getattr(algorithm, "value", algorithm) in LOCAL_ALGORITHMS


def conf_dir() -> Path:
    """The ``conf/`` directory: ``$GRADCOMP_CONF`` or the one beside ``src/``."""
    env = os.environ.get("GRADCOMP_CONF")
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parents[2] / "conf"


@contextmanager
def composer(config_dir: Path | None = None) -> Iterator["Composer"]:
    """Context in which configs can be composed (Hydra's Compose API, once per process)."""
    from hydra import initialize_config_dir

    _register_schemas()
    with initialize_config_dir(config_dir=str(config_dir or conf_dir()), version_base="1.3"):
        yield Composer()


class Composer:
    """Composes ``conf/config.yaml`` with Hydra overrides, turning Hydra's errors into ConfigError."""

    def __call__(self, overrides: List[str]) -> DictConfig:
        from hydra import compose
        from hydra.errors import HydraException
        from omegaconf.errors import OmegaConfBaseException

        try:
            cfg = compose(config_name="config", overrides=list(overrides))
            OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
        except (HydraException, OmegaConfBaseException) as exc:
            raise ConfigError(_explain(exc, overrides)) from None
        return cfg


def _explain(exc: Exception, overrides: List[str]) -> str:
    parts = [str(exc).strip()]
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause).strip() not in parts[0]:
        parts.append(str(cause).strip())
    text = "\n".join(parts)
    # Hydra's search-path dump and our schema entries only distract from the fix.
    text = text.split("Config search path:")[0].rstrip()
    lines = [
        ln for ln in text.splitlines()
        if not ln.strip().startswith("base_") and "To append to your config" not in ln
    ]
    shown = " ".join(overrides) if overrides else "(none)"
    body = "\n  ".join(lines)
    return f"invalid configuration (overrides: {shown}):\n  {body}"


def compose(overrides: List[str], config_dir: Path | None = None) -> DictConfig:
    """Compose one config outside any other composer context."""
    with composer(config_dir) as c:
        return c(overrides)


def to_plain(cfg: DictConfig | Any) -> Any:
    """Resolved plain containers, enums as their names: what is hashed and stored."""
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(
            cfg, resolve=True, throw_on_missing=True, enum_to_str=True
        )
    return cfg
