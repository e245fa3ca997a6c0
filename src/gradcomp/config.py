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
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from omegaconf import MISSING, DictConfig, OmegaConf

from .registry import ConfigError

SCHEMA_VERSION = 1

__all__ = ["ConfigError", "Config", "compose", "composer", "to_plain", "extension", "register_schemas"]


def extension(default: Any = None):
    """A schema field added after runs were hashed: the run id ignores it while it holds
    ``default`` (the behaviour before it existed), so adding it re-runs nothing.

    :func:`gradcomp.pipeline.identity.run_id` drops such fields at their default; every
    other field is hashed.
    """
    if isinstance(default, (list, dict)):
        raise TypeError("an extension field's default must be immutable (use None)")
    return field(default=default, metadata={"extension": True})


def choice(x) -> str:
    """A config choice as text: composed configs hold enums, plain (stored) ones strings."""
    return x.name if isinstance(x, enum.Enum) else str(x)


def extension_defaults(schema) -> Dict[str, Any]:
    """``{field: default}`` of the extension fields of a dataclass schema."""
    return {f.name: f.default for f in fields(schema) if f.metadata.get("extension")}


class Split(enum.Enum):
    """How rows are dealt to clients (gradcomp.problems.base.split_clients): ``hetero`` sorted
    by label, ``iid`` a seeded permutation (both: chunks of N // M, remainder on the last
    client), ``contiguous`` file order in near-equal segments (first N mod M get one more)."""

    hetero = "hetero"
    iid = "iid"
    contiguous = "contiguous"


class Reshuffle(enum.Enum):
    every_epoch = "every_epoch"
    once = "once"
    none = "none"


class Shifts(enum.Enum):
    none = "none"
    client = "client"
    slot = "slot"


class LocalGradientAt(enum.Enum):
    """Where a local step evaluates its gradient (rr spec 6.1).

    ``server``: at the server point x_t, as the authors' q-nastya.py / diana-nastya.py;
    ``local_iterate``: at the client's own iterate x_{t,m}^i, as the paper's Algorithms 3-4.
    """

    server = "server"
    local_iterate = "local_iterate"


class Backend(enum.Enum):
    numpy = "numpy"
    cupy = "cupy"


# The schemas below are the bases: every plug-in (a problem, a data source, a compressor, a
# method) declares its own schema, a subclass, next to its implementation, and names it in
# its yaml's defaults list; :func:`register_schemas` stores them all.


@dataclass
class DatasetConf:
    """Where a problem's data come from: ``source`` names a data source (gradcomp.data)."""

    name: str = MISSING
    source: str = extension("libsvm")
    n_samples: int = MISSING
    n_features: int = MISSING


@dataclass
class ProblemConf:
    """``name`` selects a problem (gradcomp.problems); M clients, split, minibatch fraction."""

    name: str = MISSING
    n_clients: int = MISSING
    split: Split = MISSING
    batch_fraction: float = MISSING


@dataclass
class CompressorConf:
    name: str = MISSING
    k: Optional[int] = None
    k_fraction: Optional[float] = None
    bits_per_float: int = MISSING
    count_indices: bool = MISSING


@dataclass
class MethodConf:
    """``algorithm`` selects the implementation (gradcomp.methods), ``stepsize_rule`` its
    theoretical stepsize and ``sampling`` its minibatches; ``name`` is the yaml's own name."""

    name: str = MISSING
    label: str = MISSING
    algorithm: str = MISSING
    sampling: str = MISSING
    reshuffle: Reshuffle = MISSING
    shifts: Shifts = MISSING
    alpha_scale: Optional[float] = None
    stepsize_rule: str = MISSING
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
    # Freeze a replica once ||x - x*||^2 <= this times ||x^0 - x*||^2 (null: no such rule).
    stop_rel_dist_sq: Optional[float] = extension(None)
    # What is recorded (gradcomp.methods.metrics); null: f_gap and dist_sq.
    metrics: Optional[List[str]] = extension(None)
    # x^0 = x0_std * N(0, I) from the stream "x0".
    x0_std: float = extension(1.0)
    # End the run once each client has sent this many uplink bits (null: no such limit;
    # epochs still caps the run). Paper cq compares methods at a per-client bit budget.
    max_bits: Optional[float] = extension(None)


@dataclass
class ScaleConf:
    name: str = MISSING
    epochs: int = MISSING
    # The epoch cap of the synthetic full-gradient studies (shift paper: one round per epoch),
    # whose runs stop earlier once they reach their tolerance.
    synthetic_epochs: int = MISSING
    grid_stride: int = MISSING
    # Stride along each axis of a local method's 2-D (client, server) grid.
    grid2d_stride: int = MISSING
    # Every this-th value of a figure's sweep (its shown values always kept).
    sweep_stride: int = MISSING
    # The fraction of a figure's bit budget (``select.budget``) its runs get: a preview stops
    # the runs early and selects within what they sent.
    budget_fraction: float = MISSING
    figures_root: str = MISSING


@dataclass
class JobsConf:
    # Split a run with more replicas than this into shards (see gradcomp.pipeline.shards);
    # null: one job per run. How the work is cut, never what is computed: not in run ids.
    max_replicas: Optional[int] = None


@dataclass
class ReportConf:
    # Draw the whole caption under a figure's plot (else one provenance line). Read by the
    # figure jobs alone: not in run ids, so switching it reruns no run.
    embed_caption: bool = MISSING


@dataclass
class DataConf:
    mirror: Optional[str] = None
    cache_dir: str = MISSING
    download: bool = MISSING


@dataclass
class SweepConf:
    """One curve per value of a config key (e.g. ``compressor.s``): ``show`` the values drawn
    (null: all), and the one that reaches the figure's ``reach.level`` first is drawn too."""

    param: str = MISSING
    values: List[Any] = MISSING
    show: Optional[List[Any]] = None
    # Draw (and name in the caption) the value that reaches the level first.
    best: bool = True


@dataclass
class CurveConf:
    """A curve of a panel: a method with overrides (``label`` may use ``{value}`` of a sweep)."""

    key: str = MISSING
    method: str = MISSING
    label: Optional[str] = None
    overrides: List[str] = field(default_factory=list)
    sweep: Optional[SweepConf] = None


@dataclass
class PanelConf:
    """A panel: a dataset (``dataset=`` override) and/or overrides, and its curves (the
    figure's ``methods`` when it lists none)."""

    dataset: Optional[str] = None
    title: Optional[str] = None
    overrides: List[str] = field(default_factory=list)
    curves: List[CurveConf] = field(default_factory=list)
    # This panel's bit budget, in place of the figure's select.budget.
    budget: Optional[float] = None


@dataclass
class ReachConf:
    """When the plotted metric first drops to ``level``: what a sweep's best value is chosen
    by, and what ``<id>_reach.csv`` reports for every curve."""

    level: float = MISSING


@dataclass
class SelectConf:
    metric: str = MISSING
    tie_factor: float = MISSING
    then: str = MISSING
    rule: str = MISSING
    # A per-client uplink bit budget (paper cq's selection): every run ends there and is
    # judged on what it reached within it (scaled by scale.budget_fraction); null: none.
    budget: Optional[float] = None


@dataclass
class MethodGridConf:
    """The 2-D grid of a local method: client multipliers ``grid`` x server ``server_grid``."""

    grid: List[float] = MISSING
    server_grid: List[float] = MISSING


@dataclass
class FigureBaseConf:
    """What every figure spec has. A figure kind with keys of its own declares a subclass as
    its ``schema`` (with ``schema_name``, which its yamls name in their defaults list); the
    figures drawn from runs use :class:`FigureConf` (``base_figure``)."""

    id: str = MISSING
    paper: str = MISSING
    kind: str = MISSING


@dataclass
class FigureConf(FigureBaseConf):
    panels: List[PanelConf] = MISSING
    # Panels per row (null: all in one row).
    ncols: Optional[int] = None
    # Where each panel's own legend goes (matplotlib's loc; null: "best"), when panels differ.
    legend_loc: Optional[str] = None
    # The curves of every panel that lists none of its own: ``curves``, else one per method.
    methods: List[str] = field(default_factory=list)
    curves: List[CurveConf] = field(default_factory=list)
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
    # The x axis and the plotted metric (gradcomp.report.axes); y null: select.metric.
    x: str = "passes"
    y: Optional[str] = None
    # Draw each curve's theorem bound (rate^k + floor, where its method states one).
    bounds: bool = False
    reach: Optional[ReachConf] = None
    panel_title: str = MISSING
    xlabel: str = MISSING
    ylabel: str = MISSING
    xlim: Optional[List[float]] = None
    ylim: Optional[List[float]] = None
    xscale: str = "linear"
    # x tick labels in scientific notation (a power-of-ten offset), for long bit counts
    xsci: bool = False
    # Draw (and write to the CSV) at most this many points per curve: every k-th record and
    # the last; null: every record.
    max_points: Optional[int] = None
    caption: str = MISSING
    deviations: List[str] = field(default_factory=list)


@dataclass
class TableConf:
    id: str = MISSING
    paper: str = MISSING
    kind: str = MISSING
    datasets: List[str] = field(default_factory=list)
    # kind: iteration_complexity: the overrides that give the problem and compressor evaluated
    overrides: List[str] = field(default_factory=list)
    title: str = MISSING
    caption: str = MISSING
    columns: List[str] = field(default_factory=list)
    # kind: complexity (rr Table 1 evaluated): target accuracy, which n, and the rows.
    epsilon: Optional[float] = None
    n: str = "min_n_m"
    rows: List[Dict[str, Any]] = field(default_factory=list)
    # The figure whose runs give "rounds needed in our runs" (rows name their method by `run`).
    runs_from: Optional[str] = None
    # kind: iteration_complexity: delta of the shift's biased part, and Rand-DIANA's p (null:
    # 1/(omega+1))
    delta: float = 0.0
    p: Optional[float] = None
    # kind: selections: the figures whose chosen multipliers are listed
    figures: List[str] = field(default_factory=list)
    # kind: communication_complexity: clients count as identical where L_pm <= rtol L_+ and
    # zeta_*^2 <= (rtol L_+)^2 max(||x*||^2, 1) (rounding leaves ~1e-16 where they are equal)
    identical_rtol: Optional[float] = None


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
    # The scales at which the claim binds (null: every scale with at least min_epochs); a claim
    # about runs that must reach a tolerance binds only where they can (the shift claims).
    binding_scales: Optional[List[str]] = None
    note: str = ""


@dataclass
class RetiredClaimConf:
    """A claim no longer checked, and why (listed in VERIFICATION.md)."""

    id: str = MISSING
    why: str = MISSING


@dataclass
class ClaimSetConf:
    paper: str = MISSING
    claims: List[ClaimConf] = MISSING
    retired: List[RetiredClaimConf] = field(default_factory=list)


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
    report: ReportConf = MISSING
    artifacts: ArtifactsConf = MISSING
    # a FigureConf, or the schema of the figure's kind (a FigureBaseConf subclass)
    figure: Optional[FigureBaseConf] = None
    table: Optional[TableConf] = None
    claim: Optional[ClaimSetConf] = None
    compressor_study: Optional[Any] = None  # checked by gradcomp.pipeline.studies


_SCHEMAS = {
    None: ("base_config", Config),
    "scale": ("base_scale", ScaleConf),
    "figure": ("base_figure", FigureConf),
    "table": ("base_table", TableConf),
    "claim": ("base_claim", ClaimSetConf),
}


def plugin_schemas() -> list[tuple[str, str, type]]:
    """``(group, name, schema)`` of every plug-in's config schema, from the registries."""
    from .compressors import COMPRESSORS
    from .data import DATA_SOURCES
    from .kinds import FIGURE_KINDS
    from .methods import METHODS
    from .problems import PROBLEMS

    out = []
    for group, reg in (("dataset", DATA_SOURCES), ("problem", PROBLEMS), ("compressor", COMPRESSORS),
                       ("method", METHODS)):
        for _, entry in reg.items():
            out.append((group, entry.schema_name, entry.schema))
    # figure kinds with keys of their own (the others use base_figure)
    for _, kind in FIGURE_KINDS.items():
        if getattr(kind, "schema", None) is not None:
            out.append(("figure", kind.schema_name, kind.schema))
    return out


def register_schemas() -> None:
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    for group, (name, node) in _SCHEMAS.items():
        cs.store(group=group, name=name, node=node)
    for group, name, node in plugin_schemas():
        cs.store(group=group, name=name, node=node)


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

    register_schemas()
    cdir = Path(config_dir or conf_dir())
    with initialize_config_dir(config_dir=str(cdir), version_base="1.3"):
        yield Composer(cdir)


def hydra_compose(overrides: List[str]) -> DictConfig:
    """Hydra's compose of ``conf/config.yaml`` (inside :func:`composer`)."""
    from hydra import compose as _compose

    return _compose(config_name="config", overrides=list(overrides))


class Composer:
    """Composes ``conf/config.yaml`` with Hydra overrides, turning Hydra's errors into ConfigError.

    The result is Hydra's; most of it is assembled from group nodes loaded once
    (:class:`gradcomp.assembly.Assembler`), which makes composing a plan's hundreds of
    configs fast.
    """

    def __init__(self, config_dir: Path):
        from .assembly import Assembler

        schemas = {(g or "", n): node for g, (n, node) in _SCHEMAS.items()}
        schemas.update({(g, n): node for g, n, node in plugin_schemas()})
        self.assemble = Assembler(config_dir, hydra_compose, schemas)

    def __call__(self, overrides: List[str]) -> DictConfig:
        from hydra.errors import HydraException
        from omegaconf.errors import OmegaConfBaseException

        try:
            cfg = self.assemble(list(overrides))
            OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
        except (HydraException, OmegaConfBaseException) as exc:
            raise ConfigError(_explain(exc, overrides)) from None
        return cfg

    def plain(self, overrides: List[str], keys: Optional[tuple] = None) -> dict:
        """``to_plain(self(overrides))`` (only its top-level ``keys`` if given), faster: what
        the plan composes hundreds of times."""
        from hydra.errors import HydraException
        from omegaconf.errors import OmegaConfBaseException

        def read(cfg):
            if keys is None:
                return to_plain(cfg)
            return {k: to_plain(cfg[k]) if isinstance(cfg[k], DictConfig) else
                    (choice(cfg[k]) if isinstance(cfg[k], enum.Enum) else cfg[k]) for k in keys}

        try:
            return self.assemble.apply(list(overrides), read)
        except (HydraException, OmegaConfBaseException) as exc:
            raise ConfigError(_explain(exc, overrides)) from None


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
